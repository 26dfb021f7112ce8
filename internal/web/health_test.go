package web

import (
	"context"
	"errors"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/lookout/lookout/internal/uptime"
)

type healthBody struct {
	Status string `json:"status"`
	Output string `json:"output"`
	Checks map[string][]struct {
		Status        string `json:"status"`
		ObservedValue any    `json:"observedValue"`
		ObservedUnit  string `json:"observedUnit"`
		Time          string `json:"time"`
		Output        string `json:"output"`
	} `json:"checks"`
}

func getHealth(t *testing.T, e *env, path string, status int) healthBody {
	t.Helper()
	r := e.do("GET", path, "")
	if r.status != status {
		t.Fatalf("GET %s: %d, want %d: %s", path, r.status, status, r.body)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/health+json" {
		t.Errorf("Content-Type %q", ct)
	}
	if cc := r.header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control %q", cc)
	}
	var h healthBody
	decodeInto(t, r.body, &h)
	return h
}

func TestHealthReady(t *testing.T) {
	var (
		calls     atomic.Int32
		storeDown atomic.Bool
	)
	e := newEnv(t, func(c *Config) {
		c.Ready = []ReadyCheck{
			{Name: "store:write", Check: func(ctx context.Context) (any, string, uptime.Status, error) {
				calls.Add(1)
				if storeDown.Load() {
					return 2003, "ms", uptime.StatusDown, errors.New("write timed out")
				}
				return 3, "ms", uptime.StatusUp, nil
			}},
			{Name: "disk:free", Check: func(ctx context.Context) (any, string, uptime.Status, error) {
				return 8.5, "percent", uptime.StatusDegraded, nil
			}},
		}
	})

	h := getHealth(t, e, "/health/ready", http.StatusOK)
	if h.Status != "warn" {
		t.Errorf("status %q, want warn (disk is degraded)", h.Status)
	}
	w := h.Checks["store:write"]
	if len(w) != 1 || w[0].Status != "pass" || w[0].ObservedValue != 3.0 || w[0].ObservedUnit != "ms" || w[0].Time != "2025-03-04T05:06:07Z" {
		t.Errorf("store:write %+v", w)
	}
	if d := h.Checks["disk:free"]; len(d) != 1 || d[0].Status != "warn" {
		t.Errorf("disk:free %+v", d)
	}

	// Within a second the verdict is reused: the store is not asked again.
	storeDown.Store(true)
	e.clock.Advance(500 * time.Millisecond)
	getHealth(t, e, "/readyz", http.StatusOK)
	if n := calls.Load(); n != 1 {
		t.Errorf("store checked %d times within a second, want 1", n)
	}

	e.clock.Advance(600 * time.Millisecond)
	h = getHealth(t, e, "/health/ready", http.StatusServiceUnavailable)
	if h.Status != "fail" || h.Checks["store:write"][0].Output != "write timed out" {
		t.Errorf("after the store failed: %+v", h)
	}
	if n := calls.Load(); n != 2 {
		t.Errorf("store checked %d times, want 2", n)
	}

	// Draining fails readiness at once, without checking the store.
	storeDown.Store(false)
	e.clock.Advance(2 * time.Second)
	e.s.Drain()
	h = getHealth(t, e, "/health/ready", http.StatusServiceUnavailable)
	if h.Status != "fail" || h.Output != "shutting down" {
		t.Errorf("draining: %+v", h)
	}
	if n := calls.Load(); n != 2 {
		t.Errorf("store checked while draining")
	}
	getHealth(t, e, "/health/live", http.StatusOK)
}

func TestHealthReadyConcurrentProbesShareOneRun(t *testing.T) {
	var calls atomic.Int32
	release := make(chan struct{})
	e := newEnv(t, func(c *Config) {
		c.Ready = []ReadyCheck{{Name: "store:write", Check: func(ctx context.Context) (any, string, uptime.Status, error) {
			calls.Add(1)
			<-release
			return 1, "ms", uptime.StatusUp, nil
		}}}
	})
	done := make(chan struct{})
	for range 5 {
		go func() {
			defer func() { done <- struct{}{} }()
			getHealth(t, e, "/health/ready", http.StatusOK)
		}()
	}
	close(release)
	for range 5 {
		<-done
	}
	if n := calls.Load(); n != 1 {
		t.Errorf("5 simultaneous probes ran the check %d times, want 1", n)
	}
}

func TestHealthReadyPanickingCheck(t *testing.T) {
	e := newEnv(t, func(c *Config) {
		c.Ready = []ReadyCheck{{Name: "outbox:age", Check: func(ctx context.Context) (any, string, uptime.Status, error) {
			panic("boom")
		}}}
	})
	h := getHealth(t, e, "/health/ready", http.StatusServiceUnavailable)
	if h.Checks["outbox:age"][0].Status != "fail" {
		t.Errorf("%+v", h)
	}
}

func TestHealthLive(t *testing.T) {
	var stuck atomic.Bool
	e := newEnv(t, func(c *Config) {
		c.Live = func() error {
			if stuck.Load() {
				return errors.New("scheduler loop last turned 2m ago")
			}
			return nil
		}
	})
	h := getHealth(t, e, "/health/live", http.StatusOK)
	if h.Status != "pass" || h.Checks["scheduler:loop"][0].Status != "pass" {
		t.Errorf("%+v", h)
	}
	stuck.Store(true)
	h = getHealth(t, e, "/livez", http.StatusServiceUnavailable)
	want := healthBody{Status: "fail", Output: "the scheduler loop is not turning"}
	if diff := cmp.Diff(want, h, cmp.FilterPath(func(p cmp.Path) bool { return p.Last().String() == ".Checks" }, cmp.Ignore())); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if c := h.Checks["scheduler:loop"][0]; c.Status != "fail" || c.Output != "scheduler loop last turned 2m ago" {
		t.Errorf("%+v", c)
	}
}

func TestHealthWithNoChecksPasses(t *testing.T) {
	e := newEnv(t)
	if h := getHealth(t, e, "/health/ready", http.StatusOK); h.Status != "pass" {
		t.Errorf("%+v", h)
	}
	if h := getHealth(t, e, "/health/live", http.StatusOK); h.Status != "pass" {
		t.Errorf("%+v", h)
	}
}
