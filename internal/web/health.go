package web

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/lookout/lookout/internal/uptime"
)

const (
	// readyCacheTTL is how long a readiness verdict is reused, so that
	// probes from many kubelets and balancers cannot load the store.
	readyCacheTTL = time.Second
	// readyCheckTimeout bounds each readiness component.
	readyCheckTimeout = 2 * time.Second
)

// healthDoc is an IETF health check response (draft-inadarei-api-health-check).
type healthDoc struct {
	Status      string                   `json:"status"`
	ReleaseID   string                   `json:"releaseId,omitempty"`
	ServiceID   string                   `json:"serviceId"`
	Description string                   `json:"description,omitempty"`
	Output      string                   `json:"output,omitempty"`
	Checks      map[string][]healthCheck `json:"checks,omitempty"`
}

type healthCheck struct {
	Status        string    `json:"status"`
	ObservedValue any       `json:"observedValue,omitempty"`
	ObservedUnit  string    `json:"observedUnit,omitempty"`
	Time          time.Time `json:"time"`
	Output        string    `json:"output,omitempty"`
}

// Health statuses of the draft, in order of badness.
const (
	healthPass = "pass"
	healthWarn = "warn"
	healthFail = "fail"
)

func worse(a, b string) string {
	rank := map[string]int{healthPass: 0, healthWarn: 1, healthFail: 2}
	if rank[b] > rank[a] {
		return b
	}
	return a
}

func (s *Server) newHealthDoc(desc string) healthDoc {
	return healthDoc{Status: healthPass, ReleaseID: s.cfg.Version, ServiceID: "lookout", Description: desc}
}

// handleHealthLive answers whether the process and its scheduler loop are
// turning. It touches no store, so a slow database never gets Lookout killed.
func (s *Server) handleHealthLive(w http.ResponseWriter, r *http.Request) {
	doc := s.newHealthDoc("lookout liveness")
	if s.cfg.Live != nil {
		c := healthCheck{Status: healthPass, Time: s.now().UTC()}
		if err := s.cfg.Live(); err != nil {
			c.Status, c.Output = healthFail, err.Error()
			doc.Status, doc.Output = healthFail, "the scheduler loop is not turning"
		}
		doc.Checks = map[string][]healthCheck{"scheduler:loop": {c}}
	}
	writeHealth(w, doc)
}

// handleHealthReady answers whether Lookout can do its work: each configured
// component is checked at most once a second. While draining it fails at once.
func (s *Server) handleHealthReady(w http.ResponseWriter, r *http.Request) {
	if s.draining.Load() {
		doc := s.newHealthDoc("lookout readiness")
		doc.Status, doc.Output = healthFail, "shutting down"
		writeHealth(w, doc)
		return
	}
	writeHealth(w, s.ready.get(s, r.Context()))
}

// readyCache holds the last readiness verdict. The mutex is held while the
// checks run, so concurrent probes wait for one run instead of starting their own.
type readyCache struct {
	mu  sync.Mutex
	at  time.Time
	doc healthDoc
	ok  bool
}

func (c *readyCache) get(s *Server, ctx context.Context) healthDoc {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := s.now()
	if c.ok && now.Sub(c.at) < readyCacheTTL && !now.Before(c.at) {
		return c.doc
	}
	c.doc, c.at, c.ok = s.runReady(ctx), now, true
	return c.doc
}

// runReady runs every component concurrently. The checks do not stop when
// the probing client hangs up: their verdict is shared with the next probes.
func (s *Server) runReady(ctx context.Context) healthDoc {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), readyCheckTimeout)
	defer cancel()
	doc := s.newHealthDoc("lookout readiness")
	results := make([]healthCheck, len(s.cfg.Ready))
	var wg sync.WaitGroup
	for i, rc := range s.cfg.Ready {
		wg.Go(func() { results[i] = s.runReadyCheck(ctx, rc) })
	}
	wg.Wait()
	if len(results) > 0 {
		doc.Checks = make(map[string][]healthCheck, len(results))
	}
	for i, rc := range s.cfg.Ready {
		doc.Checks[rc.Name] = append(doc.Checks[rc.Name], results[i])
		doc.Status = worse(doc.Status, results[i].Status)
		if results[i].Status == healthFail {
			doc.Output = "not ready: " + rc.Name
		}
	}
	return doc
}

func (s *Server) runReadyCheck(ctx context.Context, rc ReadyCheck) (c healthCheck) {
	defer func() {
		if rec := recover(); rec != nil {
			s.log.Error("readiness check panicked", "component", rc.Name, "err", fmt.Sprint(rec))
			c = healthCheck{Status: healthFail, Time: s.now().UTC(), Output: "the check panicked"}
		}
	}()
	observed, unit, status, err := rc.Check(ctx)
	c = healthCheck{ObservedValue: observed, ObservedUnit: unit, Time: s.now().UTC()}
	if _, err := json.Marshal(observed); err != nil {
		// observedValue is free-form; drop it rather than fail the probe.
		c.ObservedValue = nil
	}
	switch status {
	case uptime.StatusUp:
		c.Status = healthPass
	case uptime.StatusDegraded:
		c.Status = healthWarn
	case uptime.StatusDown:
		c.Status = healthFail
	default:
		c.Status = healthWarn
	}
	if err != nil {
		c.Output = uptime.Truncate(err.Error(), uptime.MaxErrorLen)
		if status != uptime.StatusDegraded {
			c.Status = healthFail
		}
		s.log.Warn("readiness check failed", "component", rc.Name, "err", err)
	}
	return c
}

func writeHealth(w http.ResponseWriter, doc healthDoc) {
	status := http.StatusOK
	if doc.Status == healthFail {
		status = http.StatusServiceUnavailable
	}
	b, _ := json.Marshal(doc) // cannot fail: runReadyCheck vets observedValue
	w.Header().Set("Content-Type", "application/health+json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}
