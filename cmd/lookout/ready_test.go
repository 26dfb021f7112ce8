package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/lookout/lookout/internal/scheduler"
	"github.com/lookout/lookout/internal/testkit"
	"github.com/lookout/lookout/internal/uptime"
	"github.com/lookout/lookout/internal/web"
)

type upProber struct{}

func (upProber) Check(context.Context, uptime.Target) uptime.Result {
	return uptime.Result{Status: uptime.StatusUp}
}

type nopRecorder struct{}

func (nopRecorder) Record(uptime.Observation) {}

// readiness answers GET /health/ready of a server with only the given
// components: its status code and its checks.
func readiness(t *testing.T, checks ...web.ReadyCheck) (int, map[string][]struct {
	Status        string `json:"status"`
	ObservedValue any    `json:"observedValue"`
	ObservedUnit  string `json:"observedUnit"`
	Output        string `json:"output"`
}) {
	t.Helper()
	// The health routes touch neither the store, the scheduler nor the notifier.
	srv := httptest.NewServer(web.New(web.Config{Ready: checks}, nil, nil, nil))
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/health/ready")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var doc struct {
		Checks map[string][]struct {
			Status        string `json:"status"`
			ObservedValue any    `json:"observedValue"`
			ObservedUnit  string `json:"observedUnit"`
			Output        string `json:"output"`
		} `json:"checks"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
	return resp.StatusCode, doc.Checks
}

// A scheduler that stalls past its targets' slots skips them, and
// readiness fails saying so, with the share it saw.
func TestReadinessFailsWhenTheSchedulerSkipsChecks(t *testing.T) {
	t0 := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	clk := testkit.NewClock(t0)
	s := scheduler.New(upProber{}, nopRecorder{}, scheduler.Config{Now: clk.Now, Workers: 2})
	for i := range 10 {
		tg := uptime.Target{ID: int64(i + 1), Name: fmt.Sprint("t", i), URL: "http://x", Interval: uptime.Duration(time.Second)}
		tg.Normalize()
		s.Upsert(tg)
	}
	check := missedCheck(s.Stats)
	if code, checks := readiness(t, check); code != http.StatusOK || checks["scheduler:missed"][0].Status != "pass" {
		t.Fatalf("before: %d %+v, want 200 and pass", code, checks)
	}

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	defer func() { cancel(); <-done }()
	// The process stalls for ten minutes: every slot in them is skipped
	// once the scheduler turns again.
	clk.Set(t0.Add(10 * time.Minute))
	testkit.WaitFor(t, func() bool { return s.Stats().Recent.Overloaded >= 10*59 },
		func() string { return fmt.Sprintf("slots not skipped: %+v", s.Stats()) })

	code, checks := readiness(t, check)
	c := checks["scheduler:missed"]
	if code != http.StatusServiceUnavailable || len(c) != 1 || c[0].Status != "fail" {
		t.Fatalf("readiness %d %+v, want 503 failing scheduler:missed", code, checks)
	}
	if c[0].ObservedValue != 100.0 || c[0].ObservedUnit != "%" || !strings.Contains(c[0].Output, "100.0% of the") ||
		!strings.Contains(c[0].Output, "skipped: the scheduler is overloaded") {
		t.Errorf("scheduler:missed = %+v, want 100%% skipped and why", c[0])
	}
}

func TestMissedCheckThresholds(t *testing.T) {
	for _, tc := range []struct {
		slots, overloaded uint64
		status            string
		code              int
		output            string
	}{
		{1000, 0, "pass", 200, ""},
		{1000, 10, "pass", 200, ""}, // 1 % exactly
		{1000, 11, "warn", 200, "1.1% of the 1000 checks due in the last 1m0s were skipped: the scheduler is overloaded; 17 checks/s × 1s each need about 17 workers, 4 are set: raise --workers (LOOKOUT_WORKERS)"},
		{1000, 100, "warn", 200, "10.0% of the"},
		{1000, 101, "fail", 503, "10.1% of the"},
	} {
		st := scheduler.Stats{Workers: 4, Recent: scheduler.Recent{
			Span: time.Minute, Slots: tc.slots, Overloaded: tc.overloaded, Checks: 50, Busy: 50 * time.Second,
		}}
		code, checks := readiness(t, missedCheck(func() scheduler.Stats { return st }))
		c := checks["scheduler:missed"][0]
		if code != tc.code || c.Status != tc.status || !strings.HasPrefix(c.Output, tc.output) {
			t.Errorf("%d of %d skipped: %d %s %q, want %d %s %q", tc.overloaded, tc.slots, code, c.Status, c.Output, tc.code, tc.status, tc.output)
		}
	}
	// Workers enough by Little's law: the advice is not to add more.
	st := scheduler.Stats{Workers: 256, Recent: scheduler.Recent{Span: time.Minute, Slots: 600, Overloaded: 300, Checks: 300, Busy: 30 * time.Second}}
	_, checks := readiness(t, missedCheck(func() scheduler.Stats { return st }))
	if out := checks["scheduler:missed"][0].Output; !strings.Contains(out, "the 256 workers suffice") {
		t.Errorf("output %q, want the workers said to suffice", out)
	}
}
