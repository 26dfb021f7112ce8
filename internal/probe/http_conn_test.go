package probe

import (
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lookout/lookout/internal/uptime"
)

// TestHTTPConnectionsAreReusedAndAged checks the connection policy: checks
// of one host share a kept-alive connection, and once maxConnAge has passed
// the next check dials a fresh one.
func TestHTTPConnectionsAreReusedAndAged(t *testing.T) {
	var dials atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("ok"))
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			dials.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()

	clock := time.Now()
	p := New(Options{})
	p.now = func() time.Time { return clock }
	target := uptime.Target{Name: "t", Kind: "http", URL: srv.URL, Timeout: uptime.Duration(5 * time.Second)}
	target.Normalize()
	run := func() {
		t.Helper()
		if r := p.Check(t.Context(), target); r.Status != uptime.StatusUp {
			t.Fatalf("check: %s %s", r.Status, r.Error)
		}
	}

	run() // may close idle connections left by other tests, then dials
	before := dials.Load()
	for range 5 {
		clock = clock.Add(time.Second)
		run()
	}
	if got := dials.Load() - before; got != 0 {
		t.Errorf("five checks within maxConnAge dialed %d new connections, want 0 (reuse)", got)
	}
	clock = clock.Add(maxConnAge + time.Second)
	run()
	if got := dials.Load() - before; got != 1 {
		t.Errorf("a check after maxConnAge dialed %d new connections, want 1", got)
	}
}
