package main

import (
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lookout/lookout/internal/testkit"
	"github.com/lookout/lookout/internal/uptime"
)

// farmRecorder is a loopback target farm that records when each target
// (its path, /t/NAME) was asked for, and answers 503 for the targets
// set down.
type farmRecorder struct {
	URL  string
	mu   sync.Mutex
	hits map[string][]time.Time
	down map[string]bool
}

func newFarmRecorder(t *testing.T) *farmRecorder {
	f := &farmRecorder{hits: map[string][]time.Time{}, down: map[string]bool{}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := strings.TrimPrefix(r.URL.Path, "/t/")
		f.mu.Lock()
		f.hits[name] = append(f.hits[name], time.Now())
		down := f.down[name]
		f.mu.Unlock()
		if down {
			http.Error(w, "forced down", http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("ok"))
	}))
	t.Cleanup(srv.Close)
	f.URL = srv.URL
	return f
}

func (f *farmRecorder) setDown(names ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, n := range names {
		f.down[n] = true
	}
}

// times returns when name was asked for.
func (f *farmRecorder) times(name string) []time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.hits[name])
}

// clusterView is GET /api/v1/cluster.
type clusterView struct {
	Self      string `json:"self"`
	Instances []struct {
		ID      string `json:"id"`
		Alive   bool   `json:"alive"`
		Shards  int    `json:"shards"`
		Targets int    `json:"targets"`
	} `json:"instances"`
}

func (in *instance) cluster(t *testing.T) clusterView {
	t.Helper()
	var v clusterView
	mustJSON(t, in.do(t, "GET", "/api/v1/cluster", "", http.StatusOK), &v)
	return v
}

// balanced reports whether the view shows exactly the ids alive, each
// holding about its share of the shards (within 5), every shard held.
func (v clusterView) balanced(ids ...string) bool {
	var alive []string
	total := 0
	for _, in := range v.Instances {
		if !in.Alive {
			continue
		}
		alive = append(alive, in.ID)
		share := (uptime.Shards + len(ids) - 1) / len(ids)
		if in.Shards < share-5 || in.Shards > share {
			return false
		}
		total += in.Shards
	}
	slices.Sort(alive)
	return slices.Equal(alive, ids) && total == uptime.Shards
}

// owners maps each target's name to the instance holding its shard,
// read from the database.
func owners(t *testing.T, dsn string) map[string]string {
	t.Helper()
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	byShard := map[int]string{}
	rows, err := db.QueryContext(ctx, `SELECT shard, COALESCE(owner, '') FROM shard_leases`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var s int
		var o string
		if err := rows.Scan(&s, &o); err != nil {
			t.Fatal(err)
		}
		byShard[s] = o
	}
	rows.Close()
	out := map[string]string{}
	rows, err = db.QueryContext(ctx, `SELECT id, name FROM targets`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var name string
		if err := rows.Scan(&id, &name); err != nil {
			t.Fatal(err)
		}
		out[name] = byShard[uptime.ShardOf(id)]
	}
	return out
}

// span is a stretch of time.
type span struct{ from, to time.Time }

func (s span) has(at time.Time) bool { return !at.Before(s.from) && !at.After(s.to) }

// TestInstancesShareTheChecks runs three Lookout processes on one
// PostgreSQL database with 300 targets every second, kills one (SIGKILL)
// and starts it again: the targets are shared, the dead one's are taken
// over within two intervals without being checked twice meanwhile, an
// outage that starts as it dies is alerted exactly once, and the shards
// are shared again once it is back.
func TestInstancesShareTheChecks(t *testing.T) {
	t.Parallel()
	bin := binary(t)
	dsn := testkit.PostgresDSN(t)
	farm := newFarmRecorder(t)
	hook, hookURL, secret := webhookSink(t)
	const (
		targets  = 300
		interval = time.Second
		// A short lease, so that a death is noticed fast; a heartbeat a
		// quarter of it.
		ttl, heartbeat = 600 * time.Millisecond, 150 * time.Millisecond
	)
	flags := func(id string) []string {
		return []string{"--instance-id", id, "--lease-ttl", ttl.String(), "--lease-heartbeat", heartbeat.String()}
	}
	in1 := start(t, bin, dsn, flags("i1")...)
	in1.do(t, "PUT", "/api/v1/channels/hook", fmt.Sprintf(`{"kind":"webhook","url":%q,"secret":%q,"default":true,"group_wait":"0s"}`,
		hookURL, secret), http.StatusCreated)
	for i := range targets {
		in1.do(t, "PUT", fmt.Sprintf("/api/v1/targets/t%03d", i),
			fmt.Sprintf(`{"url":"%s/t/t%03d","interval":"1s","timeout":"500ms","failure_threshold":1}`, farm.URL, i), http.StatusCreated)
	}
	in2 := start(t, bin, dsn, flags("i2")...)
	in3 := start(t, bin, dsn, flags("i3")...)
	logs := func() string { return in1.logs.String() + in2.logs.String() + in3.logs.String() }
	var view clusterView
	testkit.WaitFor(t, func() bool { view = in1.cluster(t); return view.balanced("i1", "i2", "i3") },
		func() string { return fmt.Sprintf("three instances to share the shards: %+v", view) })
	for _, in := range view.Instances {
		if in.Targets < targets/3-30 || in.Targets > targets/3+30 {
			t.Errorf("instance %s checks %d of the %d targets, want about a third", in.ID, in.Targets, targets)
		}
	}
	// Measured from here, once every target had a check under the
	// shared load.
	from := time.Now().Add(2 * interval)
	testkit.WaitFor(t, func() bool { return time.Now().After(from.Add(2 * interval)) }, testkit.Waiting("a steady load"))

	// Some of i2's targets fail from the moment it dies.
	var doomed []string
	for name, owner := range owners(t, dsn) {
		if owner == "i2" && len(doomed) < 10 {
			doomed = append(doomed, name)
		}
	}
	if len(doomed) < 10 {
		t.Fatalf("i2 holds %d targets, want 10 or more", len(doomed))
	}
	slices.Sort(doomed)
	farm.setDown(doomed...)
	killed := time.Now()
	if err := in2.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-in2.done
	testkit.WaitFor(t, func() bool { view = in1.cluster(t); return view.balanced("i1", "i3") },
		func() string { return fmt.Sprintf("i1 and i3 to take i2's shards over: %+v\n%s", view, logs()) })
	takenOver := time.Now()
	// Each failing target is alerted once, alone or in a message of
	// several: the messages' ids are the same on a retry (of a delivery
	// i2 was sending as it died), so a receiver drops those.
	opened := func() map[string]map[string]bool {
		out := map[string]map[string]bool{}
		add := func(name, id string) {
			if out[name] == nil {
				out[name] = map[string]bool{}
			}
			out[name][id] = true
		}
		for _, m := range hook.Messages(t) {
			if m.Type != "incident.opened" {
				continue
			}
			if name, ok := m.Data["target"].(string); ok {
				add(name, m.ID)
			}
			grouped, _ := m.Data["targets"].([]any)
			for _, g := range grouped {
				tg, _ := g.(map[string]any)
				name, _ := tg["target"].(string)
				add(name, m.ID)
			}
		}
		return out
	}
	testkit.WaitFor(t, func() bool { return len(opened()) >= len(doomed) },
		func() string {
			return fmt.Sprintf("an incident.opened for each of %v; got %v\n%s", doomed, opened(), logs())
		})

	// i2 comes back under its id: the shards are shared by three again.
	restarted := time.Now()
	in2 = start(t, bin, dsn, flags("i2")...)
	testkit.WaitFor(t, func() bool { view = in1.cluster(t); return view.balanced("i1", "i2", "i3") },
		func() string { return fmt.Sprintf("the shards shared by three again: %+v\n%s", view, logs()) })
	rebalanced := time.Now()
	testkit.WaitFor(t, func() bool { return time.Now().After(rebalanced.Add(3 * interval)) }, testkit.Waiting("a steady load again"))
	to := time.Now().Add(-interval)

	got := opened()
	for name, ids := range got {
		if !slices.Contains(doomed, name) {
			t.Errorf("%s, which never failed, was alerted", name)
		} else if len(ids) != 1 {
			t.Errorf("%s was alerted %d times (message ids %v), want once", name, len(ids), ids)
		}
	}
	for _, name := range doomed {
		var incs struct {
			Incidents []struct {
				Open bool `json:"open"`
			} `json:"incidents"`
		}
		mustJSON(t, in3.do(t, "GET", "/api/v1/incidents?target="+name, "", http.StatusOK), &incs)
		if len(incs.Incidents) != 1 || !incs.Incidents[0].Open {
			t.Errorf("%s has incidents %+v, want one, open", name, incs.Incidents)
		}
	}

	// Every target was checked at least every two intervals (with room
	// for a check starting late on a loaded machine), and no more than
	// once an interval but while its shard changed hands.
	const late = 300 * time.Millisecond
	handover := []span{{killed, takenOver.Add(2 * interval)}, {restarted, rebalanced.Add(2 * interval)}}
	var worst time.Duration
	doubles := 0
	for i := range targets {
		name := fmt.Sprintf("t%03d", i)
		var prev time.Time
		for _, at := range farm.times(name) {
			if at.Before(from) || at.After(to) {
				if !at.After(to) {
					prev = at
				}
				continue
			}
			if !prev.IsZero() {
				gap := at.Sub(prev)
				worst = max(worst, gap)
				if gap > 2*interval+late {
					t.Errorf("%s went unchecked for %s, from %s (the kill at %s, taken over by %s)", name, gap.Round(time.Millisecond),
						prev.Format("15:04:05.000"), killed.Format("15:04:05.000"), takenOver.Format("15:04:05.000"))
				}
				if gap < interval/2 && !slices.ContainsFunc(handover, func(s span) bool { return s.has(at) }) {
					doubles++
					t.Errorf("%s checked twice within %s at %s, outside a handover", name, gap.Round(time.Millisecond), at.Format("15:04:05.000"))
				}
			}
			prev = at
		}
	}
	t.Logf("longest gap between two checks of a target: %s; takeover %s after the kill", worst.Round(time.Millisecond),
		takenOver.Sub(killed).Round(time.Millisecond))
	for _, in := range view.Instances {
		if in.Targets < targets/3-30 || in.Targets > targets/3+30 {
			t.Errorf("after the restart instance %s checks %d of the %d targets, want about a third", in.ID, in.Targets, targets)
		}
	}
	in1.stop(t)
	in2.stop(t)
	in3.stop(t)
}
