package web

import (
	"errors"
	"net/http"
	"runtime"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/lookout/lookout/internal/uptime"
)

// Metrics are Lookout's Prometheus metrics. Every name starts with
// lookout_ and no label takes unbounded values: never a target's name,
// unless the per-target series are turned on (MetricFuncs.Targets).
// The methods are safe for concurrent use; a nil *Metrics ignores them.
type Metrics struct {
	reg      prometheus.Registerer
	gatherer prometheus.Gatherer
	handler  http.Handler

	checkDuration *prometheus.HistogramVec
	checks        *prometheus.CounterVec
	lateness      prometheus.Histogram
}

// NewMetrics registers Lookout's metrics, the Go runtime's and the
// process's with reg and returns them. /metrics serves reg when it is also
// a prometheus.Gatherer (a *prometheus.Registry is both), else the default
// gatherer. A nil reg means a new private registry. It panics when one of
// Lookout's own metrics is already registered with reg, a programming error.
func NewMetrics(reg prometheus.Registerer, version string) *Metrics {
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	m := &Metrics{reg: reg, gatherer: prometheus.DefaultGatherer}
	if g, ok := reg.(prometheus.Gatherer); ok {
		m.gatherer = g
	}
	m.checkDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "lookout_check_duration_seconds",
		Help:    "How long checks took, by target kind.",
		Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
	}, []string{"kind"})
	m.checks = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "lookout_checks_total",
		Help: "Checks run, by target kind and result (up, degraded, down, unknown).",
	}, []string{"kind", "result"})
	m.lateness = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "lookout_scheduler_lateness_seconds",
		Help:    "How long after its planned time each check started.",
		Buckets: []float64{.001, .005, .01, .05, .1, .5, 1, 5, 10, 30, 60},
	})
	build := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "lookout_build_info",
		Help: "Always 1; labelled with Lookout's version and the Go version that built it.",
	}, []string{"version", "goversion"})
	build.WithLabelValues(version, runtime.Version()).Set(1)
	reg.MustRegister(m.checkDuration, m.checks, m.lateness, build)
	for _, c := range []prometheus.Collector{
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	} {
		// The default registry already has these; reuse them there.
		if err := reg.Register(c); err != nil && !errors.As(err, new(prometheus.AlreadyRegisteredError)) {
			panic(err)
		}
	}
	// OpenMetrics when the scraper asks for it (Prometheus does); the
	// text format otherwise.
	m.handler = promhttp.HandlerFor(m.gatherer, promhttp.HandlerOpts{EnableOpenMetrics: true})
	return m
}

// ObserveResult counts one check result of a target of the given kind.
func (m *Metrics) ObserveResult(kind string, r uptime.Result) {
	if m == nil {
		return
	}
	result := r.Status.String()
	if r.Status > uptime.StatusDown {
		result = uptime.StatusUnknown.String()
	}
	m.checkDuration.WithLabelValues(kind).Observe(r.Duration.Seconds())
	m.checks.WithLabelValues(kind, result).Inc()
}

// ObserveLateness records how late the scheduler started a check.
func (m *Metrics) ObserveLateness(d time.Duration) {
	if m == nil {
		return
	}
	m.lateness.Observe(max(d, 0).Seconds())
}

// ServeHTTP serves the Prometheus exposition of the registry.
func (m *Metrics) ServeHTTP(w http.ResponseWriter, r *http.Request) { m.handler.ServeHTTP(w, r) }

// MetricFuncs are values read at scrape time from the components that own
// them. Leave a func nil when there is nothing to report. They are called
// concurrently with everything else and must be cheap and non-blocking.
type MetricFuncs struct {
	// SchedulerLag is how far behind its queue the scheduler runs now
	// (lookout_scheduler_lag_seconds).
	SchedulerLag func() time.Duration
	// Targets counts targets by shown state (lookout_targets{state}): the
	// keys unknown, up, degraded, down and paused; other keys are ignored,
	// and a missing key is 0. A nil map (the count failed) leaves the
	// series out of the scrape rather than report zeros.
	Targets func() map[string]int
	// ResultsWritten is the running total of results stored
	// (lookout_results_written_total).
	ResultsWritten func() uint64
	// ResultsPending is the number of results waiting in the write batch
	// (lookout_results_pending).
	ResultsPending func() int
	// Outbox is the number of alerts not yet delivered that are due now
	// (lookout_outbox_pending) and that are scheduled later: reminders,
	// retries backing off, openings held for group_wait
	// (lookout_outbox_scheduled). ok false (the count failed) leaves both
	// out of the scrape.
	Outbox func() (due, scheduled int, ok bool)
	// Notifications is the running total of delivery attempts by outcome
	// (lookout_notifications_total{outcome}); the keys must be a small fixed set.
	Notifications func() map[string]uint64
	// ChecksMissed is the running total of scheduled checks skipped, by
	// reason (lookout_checks_missed_total{reason}); the keys must be a small
	// fixed set, each present from the start so that rates begin at zero.
	ChecksMissed func() map[string]uint64
	// ClusterInstances is the number of instances alive sharing the
	// database, this one included (lookout_cluster_instances).
	ClusterInstances func() int
	// LeasesHeld is the number of shard leases this instance holds
	// (lookout_leases_held).
	LeasesHeld func() int
	// LeaseChanges is the running total of shard leases gained, lost and
	// released (lookout_lease_changes_total).
	LeaseChanges func() uint64
	// PerTarget, when set, lists the targets to report in the opt-in
	// per-target series lookout_target_up, _status,
	// _last_check_timestamp_seconds and _duration_seconds, labelled with
	// the target's name and kind: target names are unbounded, so only an
	// operator who asks for them gets them.
	PerTarget func() []TargetSample
	// FencedWrites is the running total of target states and events not
	// stored because their shard's lease had changed hands
	// (lookout_fenced_writes_refused_total).
	FencedWrites func() uint64
}

// TargetSample is one target's per-target series.
type TargetSample struct {
	Name, Kind string
	// Status is the judged status, LastCheck when the last check started
	// (zero before the first) and Duration how long it took.
	Status    uptime.Status
	LastCheck time.Time
	Duration  time.Duration
}

// targetStates are the values of lookout_targets' state label.
var targetStates = []string{"unknown", "up", "degraded", "down", "paused"}

var (
	descLag = prometheus.NewDesc("lookout_scheduler_lag_seconds",
		"How far behind its queue the scheduler is running.", nil, nil)
	descTargets = prometheus.NewDesc("lookout_targets",
		"Targets by shown state.", []string{"state"}, nil)
	descWritten = prometheus.NewDesc("lookout_results_written_total",
		"Check results written to the store.", nil, nil)
	descPending = prometheus.NewDesc("lookout_results_pending",
		"Check results waiting to be written.", nil, nil)
	descOutbox = prometheus.NewDesc("lookout_outbox_pending",
		"Alerts in the outbox due to be sent now and not delivered yet; above 0 for long, the dispatcher is behind or receivers fail.", nil, nil)
	descScheduled = prometheus.NewDesc("lookout_outbox_scheduled",
		"Alerts in the outbox due later: reminders of open incidents, retries backing off, openings held for group_wait.", nil, nil)
	descNotifications = prometheus.NewDesc("lookout_notifications_total",
		"Alert delivery attempts by outcome.", []string{"outcome"}, nil)
	descMissed = prometheus.NewDesc("lookout_checks_missed_total",
		"Scheduled checks skipped, by reason: overloaded (no worker started them in time) or overrun (the target's previous check was still running).",
		[]string{"reason"}, nil)
	descInstances = prometheus.NewDesc("lookout_cluster_instances",
		"Instances alive sharing the database, this one included.", nil, nil)
	descLeases = prometheus.NewDesc("lookout_leases_held",
		"Shard leases this instance holds: the targets of those shards are the ones it checks.", nil, nil)
	descLeaseChanges = prometheus.NewDesc("lookout_lease_changes_total",
		"Shard leases gained, lost and released by this instance.", nil, nil)
	targetLabels = []string{"target", "kind"}
	descTargetUp = prometheus.NewDesc("lookout_target_up",
		"1 while the target is judged up or degraded, 0 while down or unknown.", targetLabels, nil)
	descTargetStatus = prometheus.NewDesc("lookout_target_status",
		"The target's judged status: 0 unknown, 1 up, 2 degraded, 3 down.", targetLabels, nil)
	descTargetLast = prometheus.NewDesc("lookout_target_last_check_timestamp_seconds",
		"When the target's last check started, Unix seconds; absent before its first check.", targetLabels, nil)
	descTargetDuration = prometheus.NewDesc("lookout_target_duration_seconds",
		"How long the target's last check took; absent before its first check.", targetLabels, nil)
	descFenced = prometheus.NewDesc("lookout_fenced_writes_refused_total",
		"Target states and events not stored because the shard lease they were made under had changed hands (their results were stored).", nil, nil)
)

// RegisterFuncs registers the scrape-time metrics of f. Call it once, after
// the components exist; it returns the registry's error when a metric is
// already registered.
func (m *Metrics) RegisterFuncs(f MetricFuncs) error {
	return m.reg.Register(funcCollector{f})
}

type funcCollector struct{ f MetricFuncs }

func (c funcCollector) Describe(ch chan<- *prometheus.Desc) {
	for d, set := range map[*prometheus.Desc]bool{
		descLag: c.f.SchedulerLag != nil, descTargets: c.f.Targets != nil,
		descWritten: c.f.ResultsWritten != nil, descPending: c.f.ResultsPending != nil,
		descOutbox: c.f.Outbox != nil, descScheduled: c.f.Outbox != nil, descNotifications: c.f.Notifications != nil,
		descMissed: c.f.ChecksMissed != nil, descInstances: c.f.ClusterInstances != nil,
		descLeases: c.f.LeasesHeld != nil, descLeaseChanges: c.f.LeaseChanges != nil,
		descFenced:   c.f.FencedWrites != nil,
		descTargetUp: c.f.PerTarget != nil, descTargetStatus: c.f.PerTarget != nil,
		descTargetLast: c.f.PerTarget != nil, descTargetDuration: c.f.PerTarget != nil,
	} {
		if set {
			ch <- d
		}
	}
}

func (c funcCollector) Collect(ch chan<- prometheus.Metric) {
	f := c.f
	if f.SchedulerLag != nil {
		ch <- prometheus.MustNewConstMetric(descLag, prometheus.GaugeValue, f.SchedulerLag().Seconds())
	}
	if f.Targets != nil {
		if counts := f.Targets(); counts != nil {
			for _, st := range targetStates {
				ch <- prometheus.MustNewConstMetric(descTargets, prometheus.GaugeValue, float64(counts[st]), st)
			}
		}
	}
	if f.ResultsWritten != nil {
		ch <- prometheus.MustNewConstMetric(descWritten, prometheus.CounterValue, float64(f.ResultsWritten()))
	}
	if f.ResultsPending != nil {
		ch <- prometheus.MustNewConstMetric(descPending, prometheus.GaugeValue, float64(f.ResultsPending()))
	}
	if f.Outbox != nil {
		if due, later, ok := f.Outbox(); ok {
			ch <- prometheus.MustNewConstMetric(descOutbox, prometheus.GaugeValue, float64(due))
			ch <- prometheus.MustNewConstMetric(descScheduled, prometheus.GaugeValue, float64(later))
		}
	}
	if f.Notifications != nil {
		for outcome, n := range f.Notifications() {
			ch <- prometheus.MustNewConstMetric(descNotifications, prometheus.CounterValue, float64(n), outcome)
		}
	}
	if f.ChecksMissed != nil {
		for reason, n := range f.ChecksMissed() {
			ch <- prometheus.MustNewConstMetric(descMissed, prometheus.CounterValue, float64(n), reason)
		}
	}
	if f.ClusterInstances != nil {
		ch <- prometheus.MustNewConstMetric(descInstances, prometheus.GaugeValue, float64(f.ClusterInstances()))
	}
	if f.LeasesHeld != nil {
		ch <- prometheus.MustNewConstMetric(descLeases, prometheus.GaugeValue, float64(f.LeasesHeld()))
	}
	if f.LeaseChanges != nil {
		ch <- prometheus.MustNewConstMetric(descLeaseChanges, prometheus.CounterValue, float64(f.LeaseChanges()))
	}
	if f.FencedWrites != nil {
		ch <- prometheus.MustNewConstMetric(descFenced, prometheus.CounterValue, float64(f.FencedWrites()))
	}
	if f.PerTarget != nil {
		for _, t := range f.PerTarget() {
			up := 0.0
			if t.Status.OK() {
				up = 1
			}
			ch <- prometheus.MustNewConstMetric(descTargetUp, prometheus.GaugeValue, up, t.Name, t.Kind)
			ch <- prometheus.MustNewConstMetric(descTargetStatus, prometheus.GaugeValue, float64(t.Status), t.Name, t.Kind)
			if !t.LastCheck.IsZero() {
				ch <- prometheus.MustNewConstMetric(descTargetLast, prometheus.GaugeValue,
					float64(t.LastCheck.UnixMilli())/1e3, t.Name, t.Kind)
				ch <- prometheus.MustNewConstMetric(descTargetDuration, prometheus.GaugeValue,
					t.Duration.Seconds(), t.Name, t.Kind)
			}
		}
	}
}
