package main

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/lookout/lookout/internal/testkit"
)

// cutProxy is a TCP proxy between Lookout and PostgreSQL that a test cuts
// and restores: cut resets every connection through it and refuses new
// ones until restore. It stands in for a restart of PostgreSQL, which
// would disturb every other test using the machine's PostgreSQL: to
// Lookout both look the same, every connection lost and none to be had
// for a while.
type cutProxy struct {
	addr, upstream string
	ln             net.Listener

	mu    sync.Mutex
	cut   bool
	conns map[net.Conn]bool
}

func newCutProxy(t *testing.T, upstream string) *cutProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cutProxy{addr: ln.Addr().String(), upstream: upstream, ln: ln, conns: map[net.Conn]bool{}}
	t.Cleanup(func() { ln.Close(); p.setCut(true) })
	go p.serve()
	return p
}

func (p *cutProxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		go p.pipe(c)
	}
}

func (p *cutProxy) pipe(c net.Conn) {
	if !p.track(c) {
		reset(c)
		return
	}
	up, err := net.Dial("tcp", p.upstream)
	if err != nil || !p.track(up) {
		reset(c)
		if up != nil {
			reset(up)
		}
		return
	}
	done := make(chan struct{}, 2)
	go func() { _, _ = io.Copy(up, c); done <- struct{}{} }()
	go func() { _, _ = io.Copy(c, up); done <- struct{}{} }()
	<-done
	reset(c)
	reset(up)
	p.mu.Lock()
	delete(p.conns, c)
	delete(p.conns, up)
	p.mu.Unlock()
}

// track adds c to the connections a cut resets; false while cut.
func (p *cutProxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cut {
		return false
	}
	p.conns[c] = true
	return true
}

// setCut cuts (every connection reset, new ones refused) or restores.
func (p *cutProxy) setCut(cut bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = cut
	if cut {
		for c := range p.conns {
			reset(c)
		}
		clear(p.conns)
	}
}

// reset closes c with a TCP reset rather than an orderly close, as a
// database that went away does.
func reset(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = c.Close()
}

// metric reads one unlabelled sample of the instance's /metrics.
func (in *instance) metric(t *testing.T, name string) float64 {
	t.Helper()
	m := regexp.MustCompile(`(?m)^` + name + ` (\S+)$`).FindSubmatch(in.do(t, "GET", "/metrics", "", http.StatusOK))
	if m == nil {
		t.Fatalf("/metrics has no %s", name)
	}
	v, err := strconv.ParseFloat(string(m[1]), 64)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// ready returns the status of GET /health/ready.
func (in *instance) ready(t *testing.T) int {
	t.Helper()
	resp, err := http.Get(in.base + "/health/ready")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestDatabaseCutUnderLoad cuts two instances off their PostgreSQL for
// several lease times while they check 60 targets every second: they go
// on checking, keep the results, say they are not ready, and once the
// database is back recover by themselves and store every result of the
// cut; the shards stay where they were.
func TestDatabaseCutUnderLoad(t *testing.T) {
	t.Parallel()
	bin := binary(t)
	dsn := testkit.PostgresDSN(t)
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	proxy := newCutProxy(t, u.Host)
	u.Host = proxy.addr
	farm := newFarmRecorder(t)
	const targets = 60
	flags := func(id string) []string {
		return []string{"--instance-id", id, "--lease-ttl", "1s", "--lease-heartbeat", "200ms"}
	}
	in1 := start(t, bin, u.String(), flags("c1")...)
	for i := range targets {
		in1.do(t, "PUT", fmt.Sprintf("/api/v1/targets/t%02d", i),
			fmt.Sprintf(`{"url":"%s/t/t%02d","interval":"1s","timeout":"500ms"}`, farm.URL, i), http.StatusCreated)
	}
	in2 := start(t, bin, u.String(), flags("c2")...)
	logs := func() string { return in1.logs.String() + in2.logs.String() }
	var view clusterView
	testkit.WaitFor(t, func() bool { view = in1.cluster(t); return view.balanced("c1", "c2") },
		func() string { return fmt.Sprintf("two instances to share the shards: %+v", view) })
	for _, in := range []*instance{in1, in2} {
		testkit.WaitFor(t, func() bool { return in.ready(t) == http.StatusOK }, testkit.Waiting("both instances ready"))
	}
	hits := func(from, to time.Time) int {
		n := 0
		for i := range targets {
			for _, at := range farm.times(fmt.Sprintf("t%02d", i)) {
				if !at.Before(from) && at.Before(to) {
					n++
				}
			}
		}
		return n
	}

	cutAt := time.Now()
	proxy.setCut(true)
	// Not ready: the store takes no write, the leases are not renewed.
	for _, in := range []*instance{in1, in2} {
		testkit.WaitFor(t, func() bool { return in.ready(t) == http.StatusServiceUnavailable },
			func() string { return "readiness to fail during the cut\n" + logs() })
	}
	// Checks go on, their results held: three seconds more, three lease
	// times.
	testkit.WaitFor(t, func() bool { return time.Since(cutAt) > 3*time.Second }, testkit.Waiting("the cut to last"))
	during := hits(cutAt.Add(time.Second), time.Now())
	if want := targets * 3 / 2; during < want {
		t.Errorf("%d checks in the cut's last %s, want %d or more: checking must go on", during, time.Since(cutAt.Add(time.Second)).Round(time.Second), want)
	}
	pending := in1.metric(t, "lookout_results_pending") + in2.metric(t, "lookout_results_pending")
	if pending < float64(during) {
		t.Errorf("%.0f results pending during the cut, want the %d checks made meanwhile at least", pending, during)
	}
	restoredAt := time.Now()
	proxy.setCut(false)

	// Back by themselves: ready, nothing pending, the shards where they
	// were and no state refused.
	for _, in := range []*instance{in1, in2} {
		testkit.WaitFor(t, func() bool {
			return in.ready(t) == http.StatusOK && in.metric(t, "lookout_results_pending") == 0
		}, func() string { return "ready again with nothing pending once the database is back\n" + logs() })
	}
	if view = in1.cluster(t); !view.balanced("c1", "c2") {
		t.Errorf("after the cut: %+v, want both instances holding their shards", view)
	}
	for _, in := range []*instance{in1, in2} {
		if n := in.metric(t, "lookout_fenced_writes_refused_total"); n != 0 {
			t.Errorf("%.0f states and events refused after the cut, want none: the shards stayed with their holders", n)
		}
	}
	in1.stop(t)
	in2.stop(t)

	// Every check the targets answered during the cut has its result
	// stored: one that started at most half an interval before the
	// target answered.
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	missing := 0
	for i := range targets {
		name := fmt.Sprintf("t%02d", i)
		var starts []time.Time
		rows, err := db.QueryContext(context.Background(), `SELECT r.ts FROM results r JOIN targets t ON t.id = r.target_id
			WHERE t.name = $1 ORDER BY r.ts`, name)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var ms int64
			if err := rows.Scan(&ms); err != nil {
				t.Fatal(err)
			}
			starts = append(starts, time.UnixMilli(ms))
		}
		rows.Close()
		for _, at := range farm.times(name) {
			if at.Before(cutAt) || !at.Before(restoredAt) {
				continue
			}
			found := false
			for _, s := range starts {
				if !s.After(at) && at.Sub(s) < 500*time.Millisecond {
					found = true
					break
				}
			}
			if !found {
				missing++
				t.Errorf("%s answered a check at %s, during the cut, and no result of it was stored", name, at.Format("15:04:05.000"))
			}
		}
	}
	t.Logf("%d checks answered during the %s cut, %d without a stored result", hits(cutAt, restoredAt),
		restoredAt.Sub(cutAt).Round(100*time.Millisecond), missing)
}
