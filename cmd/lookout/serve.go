package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/lookout/lookout/internal/probe"
	"github.com/lookout/lookout/internal/scheduler"
	"github.com/lookout/lookout/internal/store"
	"github.com/lookout/lookout/internal/ui"
	"github.com/lookout/lookout/internal/uptime"
	"github.com/lookout/lookout/internal/web"
)

func runServe(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) int {
	cfg, rest, err := loadConfig("serve", args, getenv, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		fmt.Fprintf(stderr, "lookout: %v\n", err)
		return exitUnknown
	}
	if len(rest) > 0 {
		fmt.Fprintf(stderr, "lookout serve: unexpected arguments %q\n", rest)
		return exitUnknown
	}
	log := newLogger(stderr, cfg)
	if err := serve(ctx, cfg, log); err != nil {
		log.Error("lookout stopped", "err", err)
		return exitWarn
	}
	return exitOK
}

func runMigrate(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) int {
	cfg, _, err := loadConfig("migrate", args, getenv, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		fmt.Fprintf(stderr, "lookout: %v\n", err)
		return exitUnknown
	}
	log := newLogger(stderr, cfg)
	db, err := store.Open(ctx, cfg.DB, store.Options{Logger: log})
	if err != nil {
		log.Error("open database", "db", uptime.RedactURL(cfg.DB), "err", err)
		return exitWarn
	}
	defer db.Close()
	if err := db.Migrate(ctx); err != nil {
		log.Error("migrate", "err", err)
		return exitWarn
	}
	cur, _, _ := db.MigrationStatus(ctx)
	log.Info("database schema is current", "db", uptime.RedactURL(cfg.DB), "version", cur)
	return exitOK
}

// isLoopback reports whether addr only listens on the loopback interface.
func isLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// instrumented feeds every check's result to the metrics.
type instrumented struct {
	p *probe.Prober
	m *web.Metrics
}

func (i instrumented) Check(ctx context.Context, t uptime.Target) uptime.Result {
	r := i.p.Check(ctx, t)
	i.m.ObserveResult(t.Kind, r)
	return r
}

// validator is the whole validation of a target: the shared fields, the
// schedule's cron syntax, and the kind's own fields.
func validator(p *probe.Prober) func(*uptime.Target) error {
	return func(t *uptime.Target) error {
		var v uptime.ValidationError
		v.Merge(t.Validate())
		if t.Schedule != "" {
			if err := scheduler.ValidateSchedule(t.Schedule); err != nil {
				v.Add("schedule", err.Error())
			}
		}
		if err := p.Validate(t); !v.Merge(err) {
			return err
		}
		return v.Err()
	}
}

// storeAPI adapts the store to the web layer's interface.
type storeAPI struct{ *store.DB }

func (s storeAPI) Results(ctx context.Context, q web.ResultQuery) ([]uptime.Result, string, error) {
	return s.DB.Results(ctx, store.ResultQuery(q))
}

func (s storeAPI) Tally(ctx context.Context, target, component string, from, to time.Time) (uptime.Tally, error) {
	return s.DB.Tally(ctx, store.Series{Target: target, Component: component}, from, to)
}

func (s storeAPI) Trend(ctx context.Context, target, component string, from, to time.Time, step time.Duration) ([]uptime.Rollup, error) {
	return s.DB.Trend(ctx, store.Series{Target: target, Component: component}, from, to, step)
}

func (s storeAPI) EachTrendBucket(ctx context.Context, target, component string, from, to time.Time, step time.Duration, fn func(b *uptime.Rollup)) error {
	return s.DB.EachTrendBucket(ctx, store.Series{Target: target, Component: component}, from, to, step, fn)
}

// uiStore adapts the store to the dashboard's interface: the API's
// adapter, with the dashboard's own result query.
type uiStore struct{ storeAPI }

func (s uiStore) Results(ctx context.Context, q ui.ResultQuery) ([]uptime.Result, string, error) {
	return s.DB.Results(ctx, store.ResultQuery(q))
}

// outboxDrain is how long a shutdown waits for the dispatcher to send the
// alerts of the last checks.
const outboxDrain = 2 * time.Second

// apiRequestTimeout bounds each API request's handler; "check now" gets its
// target's timeout on top.
const apiRequestTimeout = 60 * time.Second

// httpTimeouts bound how long one client may hold a connection of the API
// server.
type httpTimeouts struct {
	// ReadHeader bounds reading a request's headers.
	ReadHeader time.Duration
	// Read bounds reading a whole request, body included: a client that
	// trickles its body is cut off when it runs out. It ends with the
	// body, so it never cuts a handler short.
	Read time.Duration
	// Write bounds a response, from the end of the request's headers to
	// its last byte: the body, the handler and the write. It must outlast
	// Read and apiRequestTimeout together; "check now" moves its own
	// deadline by its target's timeout, which has no upper bound.
	Write time.Duration
	// Idle bounds a kept-alive connection waiting for its next request.
	Idle time.Duration
}

// defaultHTTPTimeouts cut a client that sends too slowly off within 30 s.
// Idle stays above the 60 s that load balancers commonly keep idle
// connections to their backends, so that they, not Lookout, close them:
// a backend closing first races the balancer's next request (a 502).
var defaultHTTPTimeouts = httpTimeouts{
	ReadHeader: 10 * time.Second,
	Read:       30 * time.Second,
	Write:      30*time.Second + apiRequestTimeout + 30*time.Second,
	Idle:       2 * time.Minute,
}

// newHTTPServer is the API server with its timeouts.
func newHTTPServer(h http.Handler, log *slog.Logger, t httpTimeouts) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: t.ReadHeader,
		ReadTimeout:       t.Read,
		WriteTimeout:      t.Write,
		IdleTimeout:       t.Idle,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}

// serve runs Lookout until ctx is cancelled, then shuts down in order:
// readiness 503, stop scheduling and let in-flight checks finish, stop the
// API, flush pending results, hand the shard leases over (PostgreSQL),
// drain the outbox briefly, stop the alert dispatcher, close the store
// (reporting results it could not write).
func serve(ctx context.Context, cfg config, log *slog.Logger) error {
	return serveWith(ctx, cfg, log, defaultHTTPTimeouts)
}

// serveWith is serve with the API server's timeouts given.
func serveWith(ctx context.Context, cfg config, log *slog.Logger, timeouts httpTimeouts) error {
	if cfg.APIToken == "" && !isLoopback(cfg.Addr) {
		return fmt.Errorf("refusing to listen on %s without an API token: set LOOKOUT_API_TOKEN (or --api-token), or listen on 127.0.0.1", cfg.Addr)
	}
	// Listen first, so that a busy port fails before any other work and
	// :0 works in tests.
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	defer ln.Close()

	if cfg.PublicURL == "" {
		cfg.PublicURL = "http://" + ln.Addr().String()
	}
	a, err := newApp(ctx, cfg, log, nil)
	if err != nil {
		return err
	}
	defer a.db.Close()

	httpSrv := newHTTPServer(a.web, log, timeouts)
	serveErr := make(chan error, 1)
	go func() { serveErr <- httpSrv.Serve(ln) }()

	// The scheduler's context is not ctx: the shutdown below stops it at
	// the right moment, after readiness has turned.
	schedCtx, stopSched := context.WithCancel(context.WithoutCancel(ctx))
	defer stopSched()
	schedDone := make(chan error, 1)
	go func() { schedDone <- a.sched.Run(schedCtx) }()
	notifyCtx, stopNotify := context.WithCancel(context.WithoutCancel(ctx))
	defer stopNotify()
	notifyDone := make(chan error, 1)
	go func() { notifyDone <- a.notify.Run(notifyCtx) }()
	jobsCtx, stopJobs := context.WithCancel(context.WithoutCancel(ctx))
	defer stopJobs()
	jobsDone := make(chan error, 1)
	go func() { jobsDone <- scheduler.RunJobs(jobsCtx, a.jobs(cfg, log), log.With("component", "jobs")) }()
	// The lease loop goes on until the results are flushed, so that the
	// last of them are written under leases still held.
	leaseCtx, stopLeases := context.WithCancel(context.WithoutCancel(ctx))
	defer stopLeases()
	leaseDone := make(chan struct{})
	go func() {
		defer close(leaseDone)
		if a.member != nil {
			a.member.Run(leaseCtx, a.sched.Sync)
		}
	}()

	attrs := []any{"addr", "http://" + ln.Addr().String(), "db", uptime.RedactURL(cfg.DB),
		"targets", a.sched.Stats().Targets, "version", buildVersion()}
	if a.member != nil {
		attrs = append(attrs, "instance", a.instance, "shards", a.member.Status().Held)
	}
	log.Info("lookout listening", attrs...)

	select {
	case <-ctx.Done():
	case err := <-serveErr:
		stopSched()
		stopNotify()
		stopJobs()
		stopLeases()
		<-schedDone
		<-notifyDone
		<-jobsDone
		<-leaseDone
		return fmt.Errorf("http server: %w", err)
	}

	log.Info("shutting down", "timeout", cfg.ShutdownTimeout)
	a.web.Drain()
	if cfg.DrainDelay > 0 {
		time.Sleep(cfg.DrainDelay)
	}
	deadline, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	stopSched()
	select {
	case <-schedDone:
	case <-deadline.Done():
		log.Warn("in-flight checks did not finish in time", "timeout", cfg.ShutdownTimeout)
	}
	if err := httpSrv.Shutdown(deadline); err != nil {
		log.Warn("http server did not stop cleanly", "err", err)
	}
	flushErr := a.db.Flush(deadline)
	stopLeases()
	<-leaseDone
	if a.member != nil && flushErr == nil {
		// Hand the shards over now rather than when their leases run out.
		if err := a.member.Leave(deadline); err != nil {
			log.Warn("could not leave the cluster: the other instances take the targets over once the leases run out", "err", err)
		}
	}
	if flushErr == nil {
		// The alerts the last checks raised are in the outbox now: give
		// the dispatcher a moment to send them. What it cannot send in
		// time stays in the outbox and goes out after the restart.
		a.notify.Kick()
		drain, cancelDrain := context.WithTimeout(deadline, outboxDrain)
		defer cancelDrain()
		for {
			due, err := a.db.OldestPending(drain)
			if err != nil || due.IsZero() || due.After(time.Now()) || !sleepCtx(drain, 50*time.Millisecond) {
				break
			}
		}
	}
	// The dispatcher and the housekeeping jobs stop before the store
	// closes, whatever happened above, so that they never query a closed
	// database.
	stopNotify()
	stopJobs()
	<-notifyDone
	<-jobsDone
	if err := errors.Join(flushErr, a.db.Shutdown(deadline)); err != nil {
		return fmt.Errorf("shut down the store: %w", err)
	}
	log.Info("stopped", "results_written", a.db.WriterStats().Written)
	return nil
}
