package web

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/lookout/lookout/internal/uptime"
)

func TestMetricsExposition(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := NewMetrics(reg, "v1.2.3")
	e := newEnv(t, func(c *Config) { c.Metrics = m })

	m.ObserveResult("http", uptime.Result{Status: uptime.StatusUp, Duration: 20 * time.Millisecond})
	m.ObserveResult("http", uptime.Result{Status: uptime.StatusDown, Duration: time.Second})
	m.ObserveResult("tcp", uptime.Result{Status: uptime.Status(9)})
	m.ObserveLateness(150 * time.Millisecond)
	err := m.RegisterFuncs(MetricFuncs{
		SchedulerLag:   func() time.Duration { return 250 * time.Millisecond },
		Targets:        func() map[string]int { return map[string]int{"up": 7, "down": 1, "bogus": 3} },
		ResultsWritten: func() uint64 { return 1234 },
		ResultsPending: func() int { return 12 },
		Outbox:         func() (int, int, bool) { return 2, 5, true },
		Notifications:  func() map[string]uint64 { return map[string]uint64{"delivered": 5, "failed": 1} },
		ChecksMissed:   func() map[string]uint64 { return map[string]uint64{"overloaded": 7, "overrun": 0} },

		ClusterInstances: func() int { return 3 },
		LeasesHeld:       func() int { return 86 },
		LeaseChanges:     func() uint64 { return 170 },
		FencedWrites:     func() uint64 { return 4 },
	})
	if err != nil {
		t.Fatal(err)
	}

	r := e.do("GET", "/metrics", "")
	if r.status != http.StatusOK {
		t.Fatalf("status %d", r.status)
	}
	body := string(r.body)
	for _, want := range []string{
		`lookout_checks_total{kind="http",result="up"} 1`,
		`lookout_checks_total{kind="http",result="down"} 1`,
		`lookout_checks_total{kind="tcp",result="unknown"} 1`,
		`lookout_check_duration_seconds_count{kind="http"} 2`,
		`lookout_scheduler_lateness_seconds_count 1`,
		`lookout_scheduler_lag_seconds 0.25`,
		`lookout_targets{state="up"} 7`,
		`lookout_targets{state="paused"} 0`,
		`lookout_results_written_total 1234`,
		`lookout_results_pending 12`,
		`lookout_outbox_pending 2`,
		`lookout_outbox_scheduled 5`,
		`lookout_notifications_total{outcome="delivered"} 5`,
		`# TYPE lookout_checks_missed_total counter`,
		`lookout_checks_missed_total{reason="overloaded"} 7`,
		`lookout_checks_missed_total{reason="overrun"} 0`,
		`lookout_cluster_instances 3`,
		`lookout_leases_held 86`,
		`lookout_lease_changes_total 170`,
		`lookout_fenced_writes_refused_total 4`,
		`lookout_build_info{goversion="go`,
		`version="v1.2.3"} 1`,
		`go_goroutines`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if strings.Contains(body, "bogus") {
		t.Error("an unknown target state became a label value")
	}
	for line := range strings.SplitSeq(body, "\n") {
		if strings.HasPrefix(line, "lookout_") && strings.Contains(line, "target=") {
			t.Errorf("target name label: %s", line)
		}
	}

	if err := m.RegisterFuncs(MetricFuncs{SchedulerLag: func() time.Duration { return 0 }}); err == nil {
		t.Error("registering the funcs twice did not fail")
	}
}

func TestPerTargetMetricsAndOpenMetrics(t *testing.T) {
	m := NewMetrics(prometheus.NewRegistry(), "dev")
	e := newEnv(t, func(c *Config) { c.Metrics = m })
	last := time.Date(2026, 1, 2, 3, 4, 5, 250e6, time.UTC)
	err := m.RegisterFuncs(MetricFuncs{PerTarget: func() []TargetSample {
		return []TargetSample{
			{Name: "api", Kind: "http", Status: uptime.StatusDegraded, LastCheck: last, Duration: 1500 * time.Millisecond},
			{Name: "db", Kind: "tcp", Status: uptime.StatusDown, LastCheck: last, Duration: 3 * time.Second},
			{Name: "new", Kind: "dns"},
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	body := string(e.do("GET", "/metrics", "").body)
	for _, want := range []string{
		`lookout_target_up{kind="http",target="api"} 1`,
		`lookout_target_status{kind="http",target="api"} 2`,
		`lookout_target_last_check_timestamp_seconds{kind="http",target="api"} 1.76732304525e+09`,
		`lookout_target_duration_seconds{kind="http",target="api"} 1.5`,
		`lookout_target_up{kind="tcp",target="db"} 0`,
		`lookout_target_status{kind="tcp",target="db"} 3`,
		`lookout_target_up{kind="dns",target="new"} 0`,
		`lookout_target_status{kind="dns",target="new"} 0`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if strings.Contains(body, `duration_seconds{kind="dns"`) || strings.Contains(body, `timestamp_seconds{kind="dns"`) {
		t.Error("a target never checked has a last check")
	}

	// OpenMetrics for a scraper that asks for it, as Prometheus does.
	req, err := http.NewRequest("GET", e.srv.URL+"/metrics", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/openmetrics-text") {
		t.Errorf("Content-Type %q, want OpenMetrics", ct)
	}
	if !strings.HasSuffix(string(b), "# EOF\n") || !strings.Contains(string(b), `lookout_target_up{kind="http",target="api"} 1`) {
		t.Errorf("not an OpenMetrics exposition of the targets:\n%s", b)
	}
}

func TestNilMetricsIgnoreObservations(t *testing.T) {
	var m *Metrics
	m.ObserveResult("http", uptime.Result{})
	m.ObserveLateness(time.Second)
}

func TestMetricsOnTheDefaultRegistry(t *testing.T) {
	// The Go and process collectors exist there already; that is fine.
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector())
	NewMetrics(reg, "dev")
}

// BenchmarkScrapePerTarget is one /metrics scrape with the per-target
// series of 10,000 targets (--metrics-targets).
func BenchmarkScrapePerTarget(b *testing.B) {
	m := NewMetrics(prometheus.NewRegistry(), "dev")
	samples := make([]TargetSample, 10_000)
	for i := range samples {
		samples[i] = TargetSample{Name: fmt.Sprintf("svc-%05d", i), Kind: "http", Status: uptime.StatusUp,
			LastCheck: time.Now(), Duration: 40 * time.Millisecond}
	}
	if err := m.RegisterFuncs(MetricFuncs{PerTarget: func() []TargetSample { return samples }}); err != nil {
		b.Fatal(err)
	}
	req := httptest.NewRequest("GET", "/metrics", nil)
	b.ReportAllocs()
	for b.Loop() {
		w := httptest.NewRecorder()
		m.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			b.Fatal(w.Code)
		}
	}
}
