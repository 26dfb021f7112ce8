package web

import (
	"net/http"
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
