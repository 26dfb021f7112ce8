package probe

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lookout/lookout/internal/uptime"
)

// Test helpers shared by the database and RPC kinds, and tests of dsn.go.

// dbHangTimeout is the timeout of checks against a listener that accepts
// and never speaks, and dbHangSlack what such a check may overrun it by
// (scheduling under -race on a loaded machine).
const (
	dbHangTimeout = 300 * time.Millisecond
	dbHangSlack   = 400 * time.Millisecond
)

// dbSecret is the password put in DSNs to prove it never comes out.
const dbSecret = "hunter2-secret"

// dbRun validates and runs one check of the given kind and url, with a
// 5s timeout unless tweak changes it.
func dbRun(t *testing.T, kind, url string, tweak ...func(*uptime.Target)) uptime.Result {
	t.Helper()
	return dbRunContext(t, context.Background(), kind, url, tweak...)
}

// dbRunContext is dbRun under ctx.
func dbRunContext(t *testing.T, ctx context.Context, kind, url string, tweak ...func(*uptime.Target)) uptime.Result {
	t.Helper()
	target := uptime.Target{Name: "t", Kind: kind, URL: url, Timeout: uptime.Duration(5 * time.Second)}
	for _, f := range tweak {
		f(&target)
	}
	target.Normalize()
	p := New(Options{UserAgent: "lookout-test"})
	if err := p.Validate(&target); err != nil {
		t.Fatalf("validate: %v", err)
	}
	return p.Check(ctx, target)
}

func dbTimeout(d time.Duration) func(*uptime.Target) {
	return func(t *uptime.Target) { t.Timeout = uptime.Duration(d) }
}

// dbWantUp fails the test unless r is up.
func dbWantUp(t *testing.T, r uptime.Result) {
	t.Helper()
	t.Logf("%s: %s", r.Status, r.Detail)
	if r.Status != uptime.StatusUp || r.ErrorClass != uptime.ClassNone {
		t.Fatalf("status %s class %q error %q detail %q, want up", r.Status, r.ErrorClass, r.Error, r.Detail)
	}
}

// dbWantDown fails the test unless r is down with class, and its error
// contains every one of texts.
func dbWantDown(t *testing.T, r uptime.Result, class uptime.ErrorClass, texts ...string) {
	t.Helper()
	t.Logf("%s %s: %s", r.Status, r.ErrorClass, r.Error)
	if r.Status != uptime.StatusDown || r.ErrorClass != class {
		t.Fatalf("status %s class %q error %q, want down with class %q", r.Status, r.ErrorClass, r.Error, class)
	}
	for _, s := range texts {
		if !strings.Contains(r.Error, s) {
			t.Errorf("error %q does not contain %q", r.Error, s)
		}
	}
}

// dbWantNoSecret fails the test if secret shows anywhere in r.
func dbWantNoSecret(t *testing.T, r uptime.Result, secret string) {
	t.Helper()
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{string(b), fmt.Sprintf("%+v", r)} {
		if strings.Contains(s, secret) {
			t.Errorf("the secret shows in the result: %s", s)
		}
	}
}

// dbWantHiddenInValidation fails the test if err is nil or its text
// holds secret.
func dbWantHiddenInValidation(t *testing.T, err error, secret string) {
	t.Helper()
	if err == nil {
		t.Fatal("validation passed, want an error")
	}
	if strings.Contains(err.Error(), secret) {
		t.Errorf("the validation message shows the secret: %v", err)
	}
}

// dbHangingAddr returns the address of a listener that accepts connections
// and never writes a byte; they are closed when the test ends.
func dbHangingAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu    sync.Mutex
		conns []net.Conn
		done  = make(chan struct{})
	)
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return ln.Addr().String()
}

// dbGarbageAddr returns the address of a listener that answers every
// connection with a line of HTTP and closes it: a server that does not
// speak the protocol asked of it.
func dbGarbageAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Write([]byte("HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n"))
			c.Close()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
	})
	return ln.Addr().String()
}

// dbClosedAddr returns a loopback address nothing listens on.
func dbClosedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// dbWantHangTimesOut runs a check against a hanging listener and wants a
// timeout within dbHangTimeout plus slack.
func dbWantHangTimesOut(t *testing.T, kind, url string, tweak ...func(*uptime.Target)) {
	t.Helper()
	start := time.Now()
	r := dbRun(t, kind, url, append(tweak, dbTimeout(dbHangTimeout))...)
	elapsed := time.Since(start)
	dbWantDown(t, r, uptime.ClassTimeout)
	if elapsed > dbHangTimeout+dbHangSlack {
		t.Errorf("check took %s, want at most %s", elapsed, dbHangTimeout+dbHangSlack)
	}
}

// dbWantCancelEnds runs a check against a hanging listener, with a
// timeout of a minute, and cancels it: the check must end at once and be
// unknown, since Lookout stopping tells nothing about the target.
func dbWantCancelEnds(t *testing.T, kind, url string, tweak ...func(*uptime.Target)) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	time.AfterFunc(50*time.Millisecond, cancel)
	start := time.Now()
	r := dbRunContext(t, ctx, kind, url, append(tweak, dbTimeout(time.Minute))...)
	if elapsed := time.Since(start); elapsed > 50*time.Millisecond+dbHangSlack {
		t.Errorf("cancelled check took %s", elapsed)
	}
	if r.Status != uptime.StatusUnknown || r.ErrorClass != uptime.ClassInternal {
		t.Errorf("got %s/%s %q, want unknown/internal", r.Status, r.ErrorClass, r.Error)
	}
}

// dbServer returns the base url of a test server: env's value, or
// def. When nothing answers at the address addr picks from it, the test is
// skipped with a message saying how to provide one.
func dbServer(t *testing.T, name, env, def string, addr func(string) (string, error)) string {
	t.Helper()
	url := os.Getenv(env)
	if url == "" {
		url = def
	}
	a, err := addr(url)
	if err != nil {
		t.Fatalf("%s: cannot find the address in %s: %v", env, uptime.RedactURL(url), err)
	}
	c, err := net.DialTimeout("tcp", a, time.Second)
	if err != nil {
		t.Skipf("%s not reachable at %s; start it or set %s", name, a, env)
	}
	c.Close()
	return url
}

func TestCellText(t *testing.T) {
	long := strings.Repeat("é", 100)
	for _, tc := range []struct {
		in   any
		want string
	}{
		{nil, "NULL"},
		{int32(42), "42"},
		{[]byte("abc"), "abc"},
		{"two\nlines\ttab", "two lines tab"},
		{true, "true"},
		{long, strings.Repeat("é", (maxCellLen-len("…"))/2) + "…"},
	} {
		if got := cellText(tc.in); got != tc.want {
			t.Errorf("cellText(%v) = %q, want %q", tc.in, got, tc.want)
		}
		if got := cellText(tc.in); len(got) > maxCellLen {
			t.Errorf("cellText(%v) is %d bytes, want at most %d", tc.in, len(got), maxCellLen)
		}
	}
}

func TestServerVersion(t *testing.T) {
	for in, want := range map[string]string{
		"15.20 (Debian 15.20-0+deb12u1)": "15.20",
		"10.11.19-MariaDB-0+deb12u1":     "10.11.19",
		"8.0.36":                         "8.0.36",
		"17devel":                        "17",
		"":                               "",
		"weird":                          "weird",
	} {
		if got := serverVersion(in); got != want {
			t.Errorf("serverVersion(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestHostPortProblem(t *testing.T) {
	for in, want := range map[string]string{
		"127.0.0.1:50051": "",
		"[::1]:443":       "",
		"example.com:1":   "",
		"example.com":     "must be host:port",
		":50051":          "must name a host",
		"example.com:":    "must name a port",
		"example.com:0":   "has an invalid port",
		"example.com:x":   "has an invalid port",
		"example.com:1e9": "has an invalid port",
	} {
		if got := hostPortProblem(in); got != want {
			t.Errorf("hostPortProblem(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestURLScheme(t *testing.T) {
	for _, tc := range []struct {
		in     string
		scheme string
		ok     bool
	}{
		{"postgres://h/db", "postgres", true},
		{"rediss://h", "rediss", true},
		{"git+ssh://h", "git+ssh", true},
		{"user:pass@tcp(h:3306)/db", "", false},
		{"u:p://w@tcp(h:3306)/db", "", false},
		{"host=h password=a://b", "", false},
		{"://h", "", false},
		{"1a://h", "", false},
	} {
		scheme, ok := urlScheme(tc.in)
		if scheme != tc.scheme || ok != tc.ok {
			t.Errorf("urlScheme(%q) = %q, %v; want %q, %v", tc.in, scheme, ok, tc.scheme, tc.ok)
		}
	}
}

func TestHideSecret(t *testing.T) {
	r := uptime.Result{Error: "auth as u:" + dbSecret + " failed", Detail: dbSecret}
	hideSecret(&r, dbSecret)
	dbWantNoSecret(t, r, dbSecret)
	if r.Error != "auth as u:*** failed" || r.Detail != "***" {
		t.Errorf("got error %q detail %q", r.Error, r.Detail)
	}
	r = uptime.Result{Error: "unchanged"}
	hideSecret(&r, "")
	if r.Error != "unchanged" {
		t.Errorf("an empty secret changed the error to %q", r.Error)
	}
}
