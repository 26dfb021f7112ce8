package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/lookout/lookout/internal/cluster"
	"github.com/lookout/lookout/internal/notify"
	"github.com/lookout/lookout/internal/probe"
	"github.com/lookout/lookout/internal/scheduler"
	"github.com/lookout/lookout/internal/store"
	"github.com/lookout/lookout/internal/ui"
	"github.com/lookout/lookout/internal/uptime"
	"github.com/lookout/lookout/internal/web"
)

// app is Lookout assembled: the one place where the packages meet.
type app struct {
	db      *store.DB
	prober  *probe.Prober
	sched   *scheduler.Scheduler
	metrics *web.Metrics
	notify  *notify.Dispatcher
	web     *web.Server
	// member is the instance's part in the cluster of instances sharing
	// a PostgreSQL database: the shards it leases, whose targets are the
	// ones it checks. nil on SQLite, where one instance checks them all.
	member *cluster.Member
	// instance is this instance's id (--instance-id).
	instance string
}

// newApp opens and migrates the store, loads every target into a scheduler
// and builds the alert dispatcher and the HTTP handler. onStart, when set,
// also sees each scheduled check's start lateness. The caller runs
// app.sched and app.notify and closes app.db.
func newApp(ctx context.Context, cfg config, log *slog.Logger, onStart func(time.Duration)) (*app, error) {
	if cfg.InstanceID == "" {
		cfg.InstanceID = defaultInstanceID()
	}
	opts := storeOptions(log.With("component", "store"))
	opts.Instance = cfg.InstanceID
	db, err := store.Open(ctx, cfg.DB, opts)
	if err != nil {
		return nil, fmt.Errorf("open database %s: %w", uptime.RedactURL(cfg.DB), err)
	}
	a := &app{db: db, instance: cfg.InstanceID}
	if err := a.init(ctx, cfg, log, onStart); err != nil {
		db.Close()
		return nil, err
	}
	return a, nil
}

// storeOptions are the store's options in a serving Lookout: ending a
// recurring maintenance window early needs the dispatcher's reading of its
// schedule, to bring forward the reminders it held back.
func storeOptions(log *slog.Logger) store.Options {
	return store.Options{
		Logger:             log,
		MaintenanceWindows: notify.MaintenanceWindows,
		// A check vouches for its target's status for two periods.
		MaxGap: func(t *uptime.Target) time.Duration { return 2 * scheduler.Period(*t, time.Now()) },
	}
}

func (a *app) init(ctx context.Context, cfg config, log *slog.Logger, onStart func(time.Duration)) error {
	if err := a.db.Migrate(ctx); err != nil {
		return fmt.Errorf("migrate database: %w", err)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	a.metrics = web.NewMetrics(reg, buildVersion())

	a.prober = probe.New(probe.Options{UserAgent: "Lookout/" + buildVersion(), Logger: log.With("component", "probe")})
	observe := a.metrics.ObserveLateness
	if onStart != nil {
		observe = func(d time.Duration) { a.metrics.ObserveLateness(d); onStart(d) }
	}
	// Targets are registered in the store alone; the scheduler follows
	// its change feed: all of it on SQLite, and on PostgreSQL the
	// targets of the shards this instance leases.
	var src scheduler.Source = a.db
	if a.db.Driver() == store.DriverPostgres {
		a.member = cluster.New(a.db, cluster.Config{
			TTL:       cfg.LeaseTTL,
			Heartbeat: cfg.LeaseHeartbeat,
			Address:   cfg.PublicURL,
			Version:   buildVersion(),
			Logger:    log.With("component", "cluster", "instance", cfg.InstanceID),
		})
		// Join before loading: the first turn claims this instance's
		// share of what nobody holds.
		if err := a.join(ctx, cfg, log); err != nil {
			return fmt.Errorf("join the instances sharing the database as %q: %w", cfg.InstanceID, err)
		}
		src = a.member
	}
	a.sched = scheduler.New(instrumented{a.prober, a.metrics}, a.db, scheduler.Config{
		Workers:        cfg.Workers,
		Logger:         log.With("component", "scheduler"),
		OnStart:        observe,
		WorkersSetting: workersSetting,
		Source:         src,
	})
	// Every target, with its state, from the change feed the scheduler
	// then follows.
	if err := a.sched.Sync(ctx); err != nil {
		return fmt.Errorf("load targets: %w", err)
	}

	a.notify = notify.New(a.db, notify.Config{
		Logger:       log.With("component", "notify"),
		DashboardURL: cfg.PublicURL,
	})

	// Read from the store at scrape time, at most once per scrapeTTL.
	targetCounts := &scrapeCache[map[string]int]{ttl: scrapeTTL, read: a.db.StateCounts}
	outbox := &scrapeCache[[2]int]{ttl: scrapeTTL, read: func(ctx context.Context) ([2]int, error) {
		due, later, err := a.db.OutboxPending(ctx, time.Now())
		return [2]int{due, later}, err
	}}
	if err := a.metrics.RegisterFuncs(web.MetricFuncs{
		SchedulerLag:   func() time.Duration { return a.sched.Stats().Lag },
		ResultsWritten: func() uint64 { return a.db.WriterStats().Written },
		ResultsPending: func() int { return a.db.WriterStats().Pending },
		Targets: func() map[string]int {
			counts, ok := targetCounts.get()
			if !ok {
				return nil
			}
			return counts
		},
		Outbox: func() (int, int, bool) {
			n, ok := outbox.get()
			return n[0], n[1], ok
		},
		Notifications: func() map[string]uint64 { return a.notify.Stats().ByOutcome() },
		ChecksMissed: func() map[string]uint64 {
			st := a.sched.Stats()
			return map[string]uint64{"overloaded": st.MissedOverloaded, "overrun": st.MissedOverrun}
		},
	}); err != nil {
		return fmt.Errorf("register metrics: %w", err)
	}
	if cfg.MetricsTargets {
		// The targets this instance checks: with several instances, each
		// reports its own shards' and a target's series move with them.
		err := a.metrics.RegisterFuncs(web.MetricFuncs{PerTarget: func() []web.TargetSample {
			ts := a.sched.Targets()
			out := make([]web.TargetSample, 0, len(ts))
			for _, t := range ts {
				if !t.Paused {
					out = append(out, web.TargetSample{Name: t.Name, Kind: t.Kind, Status: t.Status,
						LastCheck: t.LastCheck, Duration: t.LastDuration})
				}
			}
			return out
		}})
		if err != nil {
			return fmt.Errorf("register metrics: %w", err)
		}
	}
	if a.member != nil {
		if err := a.metrics.RegisterFuncs(web.MetricFuncs{
			ClusterInstances: func() int { return a.member.Status().Live },
			LeasesHeld:       func() int { return a.member.Status().Held },
			LeaseChanges:     func() uint64 { return a.member.Status().Changes },
			FencedWrites:     func() uint64 { return a.db.WriterStats().Fenced },
		}); err != nil {
			return fmt.Errorf("register metrics: %w", err)
		}
	}
	// One Sessions for the API and the dashboard: one check of tokens.
	sessions := web.NewSessions(cfg.APIToken, cfg.ReadTokens)
	statusLabel, _ := ui.ParseLabel(cfg.StatusPageLabel) // validated with the config
	dashboard := ui.New(ui.Config{
		Auth:        sessions,
		StatusLabel: statusLabel,
		StatusTitle: cfg.StatusPageTitle,
		PublicURL:   cfg.PublicURL,
		Logger:      log.With("component", "ui"),
	}, uiStore{storeAPI{a.db}})
	a.web = web.New(web.Config{
		Token:      cfg.APIToken,
		ReadTokens: cfg.ReadTokens,
		Sessions:   sessions,
		UI:         dashboard,
		Validate:   validator(a.prober),
		Logger:     log.With("component", "web"),
		Version:    buildVersion(),
		Ready:      a.readyChecks(),
		Live:       a.live,
		Metrics:    a.metrics,
		// The API server's write timeout is sized for it.
		RequestTimeout: apiRequestTimeout,
		// Maintenance schedules are notify's to validate, as to evaluate.
		ValidateMaintenance: notify.ValidateMaintenance,
		Cluster:             a.cluster,
	}, storeAPI{a.db}, checker{a}, a.notify)
	return a.syncConfig(ctx, cfg, log)
}

// syncConfig makes the targets and channels of owner "config" those the
// config file lists, through the API's own sync, before anything is
// served: the scheduler picks them up from the change feed.
func (a *app) syncConfig(ctx context.Context, cfg config, log *slog.Logger) error {
	body, ok, err := cfg.declared()
	if err != nil || !ok {
		return err
	}
	rep, err := a.web.Sync(ctx, body)
	if err != nil {
		return fmt.Errorf("sync the targets and channels of the config file (owner %q): %w", configOwner, err)
	}
	for kind, d := range map[string]*uptime.SyncDiff{"targets": rep.Targets, "channels": rep.Channels} {
		if d != nil {
			log.Info("config file synced", "kind", kind, "owner", configOwner, "created", len(d.Created),
				"changed", len(d.Changed), "deleted", len(d.Deleted), "unchanged", len(d.Unchanged))
		}
	}
	return nil
}

// join runs the lease loop's first turn. A process restarted at once
// under the id of one that just died finds the id still held: it waits for
// that holder's heartbeat to run out (a lease's time), then takes the id
// over; an id still held after that belongs to a live process.
func (a *app) join(ctx context.Context, cfg config, log *slog.Logger) error {
	deadline := time.Now().Add(2*cfg.LeaseTTL + cfg.LeaseHeartbeat)
	for waited := false; ; waited = true {
		err := a.member.Turn(ctx, nil)
		if !errors.Is(err, store.ErrInstanceInUse) || time.Now().After(deadline) {
			return err
		}
		if !waited {
			log.Info("the instance id is still held, maybe by this instance's previous process: waiting for its lease to run out",
				"instance", cfg.InstanceID, "ttl", cfg.LeaseTTL)
		}
		if !sleepCtx(ctx, cfg.LeaseHeartbeat) {
			return ctx.Err()
		}
	}
}

// defaultInstanceID names an instance when --instance-id is not given:
// its host, its process id and a random suffix, so that two processes
// never take the same id, even in containers that all run as pid 1.
func defaultInstanceID() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "lookout"
	}
	var b [3]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(b[:]))
}

// cluster is what GET /api/v1/cluster shows: the instances sharing the
// database, or this one alone on SQLite.
func (a *app) cluster(ctx context.Context) (uptime.Cluster, error) {
	c := uptime.Cluster{Self: a.instance}
	if a.member == nil {
		return c, nil
	}
	st := a.member.Status()
	ins, err := a.db.Cluster(ctx, st.TTL)
	if err != nil {
		return c, err
	}
	c.Shards, c.TTL, c.Instances = uptime.Shards, st.TTL, ins
	return c, nil
}

// checker runs "check now": through the scheduler for a target this
// instance checks; for one another instance holds, by probing it from
// here and storing the result alone, since the state and the alerts are
// the holder's to decide. Its next scheduled check takes the state on.
type checker struct{ a *app }

func (c checker) CheckNow(ctx context.Context, id int64) (uptime.Result, error) {
	res, err := c.a.sched.CheckNow(ctx, id)
	if c.a.member == nil || !errors.Is(err, uptime.ErrNotFound) {
		return res, err
	}
	sn, terr := c.a.db.TargetByID(ctx, id)
	if terr != nil {
		return uptime.Result{}, terr
	}
	res = c.a.sched.Probe(ctx, sn.Target)
	c.a.db.Record(uptime.Observation{Result: res, ResultOnly: true})
	return res, nil
}

// Readiness thresholds.
const (
	outboxWarn   = time.Minute
	outboxFail   = 5 * time.Minute
	lagWarn      = time.Second
	lagFail      = 30 * time.Second
	diskWarnFrac = 0.10
	diskFailFrac = 0.02
	liveStale    = 10 * time.Second
	// The share of the last minute's scheduled checks skipped because the
	// scheduler fell behind. One in a hundred can be a pause (a GC, a
	// stepped clock); one in ten means checks are not being done.
	missedWarnFrac = 0.01
	missedFailFrac = 0.10
)

// workersSetting is how an operator raises the worker pool, named where
// the scheduler runs short of workers.
const workersSetting = "--workers (LOOKOUT_WORKERS)"

// readyChecks are the components of /health/ready: the store answers a
// write, its schema is current, the scheduler keeps up and does not skip
// checks, the disk has room.
func (a *app) readyChecks() []web.ReadyCheck {
	checks := []web.ReadyCheck{
		{Name: "store:write", Check: func(ctx context.Context) (any, string, uptime.Status, error) {
			start := time.Now()
			if err := a.db.Ping(ctx); err != nil {
				return nil, "ms", uptime.StatusDown, errors.New("the store did not answer a write")
			}
			return float64(time.Since(start).Microseconds()) / 1000, "ms", uptime.StatusUp, nil
		}},
		{Name: "store:migrations", Check: func(ctx context.Context) (any, string, uptime.Status, error) {
			cur, latest, err := a.db.MigrationStatus(ctx)
			if err != nil {
				return nil, "", uptime.StatusDown, errors.New("cannot read the schema version")
			}
			if cur != latest {
				return cur, "version", uptime.StatusDown, fmt.Errorf("schema at version %d, want %d: run lookout migrate", cur, latest)
			}
			return cur, "version", uptime.StatusUp, nil
		}},
		{Name: "scheduler:lag", Check: func(context.Context) (any, string, uptime.Status, error) {
			lag := a.sched.Stats().Lag
			switch {
			case lag >= lagFail:
				return lag.Seconds(), "s", uptime.StatusDown, fmt.Errorf("checks start %s late", lag.Round(time.Millisecond))
			case lag >= lagWarn:
				return lag.Seconds(), "s", uptime.StatusDegraded, fmt.Errorf("checks start %s late", lag.Round(time.Millisecond))
			}
			return lag.Seconds(), "s", uptime.StatusUp, nil
		}},
		missedCheck(a.sched.Stats),
	}
	if a.member != nil {
		checks = append(checks, leaseCheck(a.member.Status, time.Now))
	}
	checks = append(checks, web.ReadyCheck{Name: "outbox:due", Check: func(ctx context.Context) (any, string, uptime.Status, error) {
		// A due delivery is claimed within a second; one long overdue
		// means the dispatcher is stuck (a failing receiver only moves
		// its delivery's due time on).
		due, err := a.db.OldestPending(ctx)
		if err != nil {
			return nil, "s", uptime.StatusDown, errors.New("cannot read the outbox")
		}
		var late time.Duration
		if !due.IsZero() {
			late = max(0, time.Since(due))
		}
		switch {
		case late >= outboxFail:
			return late.Seconds(), "s", uptime.StatusDown, fmt.Errorf("an alert has waited %s past its due time", late.Round(time.Second))
		case late >= outboxWarn:
			return late.Seconds(), "s", uptime.StatusDegraded, fmt.Errorf("an alert has waited %s past its due time", late.Round(time.Second))
		}
		return late.Seconds(), "s", uptime.StatusUp, nil
	}})
	if a.db.Driver() == store.DriverSQLite {
		checks = append(checks, web.ReadyCheck{Name: "store:disk", Check: func(context.Context) (any, string, uptime.Status, error) {
			free, total, err := a.db.DiskFree()
			if err != nil || total == 0 {
				return nil, "%", uptime.StatusDegraded, errors.New("cannot read the disk's free space")
			}
			frac := float64(free) / float64(total)
			pct := float64(int(frac*1000)) / 10
			switch {
			case frac < diskFailFrac:
				return pct, "%", uptime.StatusDown, fmt.Errorf("only %.1f%% of the database's disk is free", pct)
			case frac < diskWarnFrac:
				return pct, "%", uptime.StatusDegraded, fmt.Errorf("only %.1f%% of the database's disk is free", pct)
			}
			return pct, "%", uptime.StatusUp, nil
		}})
	}
	return checks
}

// missedCheck is the readiness component "scheduler:missed": the percentage
// of the last minute's scheduled checks that were skipped because the
// scheduler fell behind. It warns above missedWarnFrac and fails above
// missedFailFrac. Slots a target skipped because its own previous check was
// still running do not count: more workers would not help them.
func missedCheck(stats func() scheduler.Stats) web.ReadyCheck {
	return web.ReadyCheck{Name: "scheduler:missed", Check: func(context.Context) (any, string, uptime.Status, error) {
		st := stats()
		r := st.Recent
		share := r.OverloadedShare()
		pct := math.Round(share*1000) / 10
		status := uptime.StatusUp
		switch {
		case share > missedFailFrac:
			status = uptime.StatusDown
		case share > missedWarnFrac:
			status = uptime.StatusDegraded
		default:
			return pct, "%", status, nil
		}
		why := fmt.Sprintf("%.1f%% of the %d checks due in the last %s were skipped: the scheduler is overloaded",
			pct, r.Slots, r.Span.Round(time.Second))
		switch need := r.WorkersNeeded(); {
		case need > st.Workers:
			why += fmt.Sprintf("; %.0f checks/s × %s each need about %d workers, %d are set: raise %s",
				r.PerSecond(), r.MeanCheck().Round(time.Millisecond), need, st.Workers, workersSetting)
		case need > 0:
			why += fmt.Sprintf("; the %d workers suffice for %.0f checks/s × %s each: the CPU or the store holds the checks up",
				st.Workers, r.PerSecond(), r.MeanCheck().Round(time.Millisecond))
		}
		return pct, "%", status, errors.New(why)
	}}
}

// leaseCheck is the readiness component "cluster:leases" of an instance
// sharing a PostgreSQL database: the number of shard leases it holds. It
// fails when the instance has not renewed them for a lease's time (the
// others may be taking its targets over), and when it holds none while
// others are alive, once it has been up for a few leases' time (it is
// not taking its share of the checks).
func leaseCheck(status func() cluster.Status, now func() time.Time) web.ReadyCheck {
	return web.ReadyCheck{Name: "cluster:leases", Check: func(context.Context) (any, string, uptime.Status, error) {
		st := status()
		since := now().Sub(st.Renewed)
		switch {
		case st.Renewed.IsZero() || since > st.TTL:
			why := fmt.Sprintf("the shard leases have not been renewed for %s", since.Round(time.Millisecond))
			if st.Renewed.IsZero() {
				why = "the shard leases were never renewed"
			}
			if st.Err != nil {
				why += ": " + st.Err.Error()
			}
			return st.Held, "shards", uptime.StatusDown, errors.New(why)
		case st.Held == 0 && st.Live > 1 && now().Sub(st.Started) > leaseGrace*st.TTL:
			return 0, "shards", uptime.StatusDown, fmt.Errorf("holds no shard while %d other instances are alive: it checks nothing", st.Live-1)
		}
		return st.Held, "shards", uptime.StatusUp, nil
	}}
}

// leaseGrace is how many lease TTLs a new instance has to get its share
// before holding none makes it not ready.
const leaseGrace = 5

// live reports whether the scheduler's loop is turning.
func (a *app) live() error {
	last := a.sched.Stats().LastTurn
	if last.IsZero() {
		return nil // not started yet
	}
	if age := time.Since(last); age > liveStale {
		return fmt.Errorf("the scheduler loop has not turned for %s", age.Round(time.Second))
	}
	return nil
}

// jobs are the housekeeping jobs: rolling history up, keeping it within
// its retention, and evaluating the burn-rate alerts. Instances sharing a
// PostgreSQL database each schedule them, and the first to come runs
// each time: a run is skipped while another instance's run of the same
// job holds its lock.
func (a *app) jobs(cfg config, log *slog.Logger) []scheduler.Job {
	jobs := a.housekeeping(cfg, log)
	for i := range jobs {
		name, run := jobs[i].Name, jobs[i].Run
		jobs[i].Run = func(ctx context.Context) error {
			ran, err := a.db.Exclusive(ctx, name, run)
			if !ran && err == nil {
				log.Debug("job skipped: another instance is running it", "job", name)
			}
			return err
		}
	}
	return jobs
}

// housekeeping are the jobs themselves.
func (a *app) housekeeping(cfg config, log *slog.Logger) []scheduler.Job {
	retention := store.Retention{
		Raw:        time.Duration(cfg.RawRetention),
		Minute:     time.Duration(cfg.MinuteRetention),
		Hour:       time.Duration(cfg.HourRetention),
		Deliveries: time.Duration(cfg.DeliveryRetention),
	}
	return []scheduler.Job{
		{Name: "rollup", Schedule: cfg.RollupSchedule, Run: func(ctx context.Context) error {
			_, err := a.db.RollUp(ctx, time.Now())
			return err
		}},
		{Name: "retention", Schedule: cfg.RetentionSchedule, Run: func(ctx context.Context) error {
			st, err := a.db.Prune(ctx, time.Now(), retention)
			if n := st.Results + st.ComponentResults + st.Rollups + st.Deliveries + st.Events + st.Instances; n > 0 {
				log.Info("history pruned", "results", st.Results, "component_results", st.ComponentResults,
					"rollups", st.Rollups, "deliveries", st.Deliveries, "events", st.Events, "dead_instances", st.Instances)
			}
			return err
		}},
		{Name: "slo", Schedule: cfg.SLOSchedule, Run: (&sloJob{db: a.db, rules: cfg.burnRules(), now: time.Now, log: log.With("component", "slo")}).run},
	}
}
