package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/lookout/lookout/internal/store"
	"github.com/lookout/lookout/internal/uptime"
	"github.com/lookout/lookout/internal/web"
)

// queryFigure is one request's timings over the runs.
type queryFigure struct {
	Name     string `json:"name"`
	Example  string `json:"example"`
	Requests int    `json:"requests"`
	// Per run, in milliseconds: the median and 99th percentile of the
	// requests' times, and the process's CPU time per request.
	P50 []float64 `json:"p50_ms"`
	P99 []float64 `json:"p99_ms"`
	CPU []float64 `json:"cpu_ms"`
	// The first ask, before any run, with nothing kept yet: of each
	// target asked (the median and 99th percentile), or of the fleet.
	ColdP50 float64 `json:"cold_p50_ms"`
	ColdP99 float64 `json:"cold_p99_ms"`
	// Bytes is the size of the first response's body.
	Bytes int `json:"bytes"`
}

type queriesReport struct {
	DB      string `json:"db"`
	Targets int    `json:"targets"`
	// Asked is how many targets the per-target requests ask about: the
	// first by name.
	Asked   int           `json:"targets_asked"`
	Now     string        `json:"now"`
	Runs    int           `json:"runs"`
	Load    []string      `json:"load_average"` // at the start and the end
	Figures []queryFigure `json:"figures"`
}

// benchQuery is a request to measure: path gives its path and query,
// for a target's name, or "" for the fleet-wide ones (fleet set).
type benchQuery struct {
	name     string
	requests int
	fleet    bool
	path     func(target string) string
}

func runBenchQueries(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("bench queries", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		dbPath  = fs.String("db", "", "the SQLite file `lookout bench history` wrote")
		perTgt  = fs.Int("requests", 1000, "requests per run for each per-target figure, of random targets among those asked")
		asked   = fs.Int("asked", 1000, "how many targets the per-target requests ask about (the first by name), each once before the runs")
		fleetN  = fs.Int("fleet-requests", 200, "requests per run for the fleet-wide figures (summary, trends)")
		windowN = fs.Int("window-requests", 300, "requests per run for each window of the window-length table")
		runs    = fs.Int("runs", 3, "runs of every figure")
		only    = fs.String("only", "", "measure only the figures whose name contains this")
		asJSON  = fs.Bool("json", false, "print the report as JSON")
		cpuProf = fs.String("cpuprofile", "", "write a CPU profile of the runs to this file")
	)
	fs.Usage = func() {
		fmt.Fprint(stderr, "Usage: lookout bench queries --db FILE [flags]\n\nMeasures the history API (uptime, trend, summary, trends) through the HTTP\nhandler against a file of `lookout bench history`, at the time its history ends.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUnknown
	}
	if *dbPath == "" || *perTgt < 1 || *asked < 1 || *fleetN < 1 || *windowN < 1 || *runs < 1 {
		fmt.Fprintln(stderr, "lookout bench queries: --db FILE, and --requests, --asked, --fleet-requests, --window-requests and --runs ≥ 1, please")
		return exitUnknown
	}
	if _, err := os.Stat(*dbPath); err != nil {
		fmt.Fprintf(stderr, "lookout bench queries: %v: write one with lookout bench history first\n", err)
		return exitUnknown
	}
	rep, err := benchQueries(ctx, queriesOpts{db: *dbPath, perTarget: *perTgt, asked: *asked, fleet: *fleetN, window: *windowN,
		runs: *runs, only: *only, cpuProfile: *cpuProf}, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "lookout bench queries: %v\n", err)
		return exitWarn
	}
	report(stdout, *asJSON, rep, printQueriesReport)
	return exitOK
}

type queriesOpts struct {
	db                              string
	perTarget, asked, fleet, window int
	runs                            int
	only, cpuProfile                string
}

func benchQueries(ctx context.Context, o queriesOpts, stderr io.Writer) (queriesReport, error) {
	rep := queriesReport{DB: o.db, Runs: o.runs, Load: []string{loadAverage()}}
	clock := newBenchClock(time.Time{})
	opts := storeOptions(slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	opts.Now = clock.Now
	db, err := store.Open(ctx, o.db, opts)
	if err != nil {
		return rep, err
	}
	defer db.Close()
	if cur, latest, err := db.MigrationStatus(ctx); err != nil || cur != latest {
		return rep, fmt.Errorf("the file's schema is at version %d, not %d (%v): write it again with this build", cur, latest, err)
	}
	// The history ends a moment after the last check.
	snaps, err := db.AllTargets(ctx)
	if err != nil {
		return rep, err
	}
	names := make([]string, len(snaps))
	for i, s := range snaps {
		names[i] = s.Target.Name
		if s.State.LastCheck.After(clock.Now()) {
			clock.Set(s.State.LastCheck)
		}
	}
	if clock.Now().IsZero() {
		return rep, errors.New("the file holds no checks: write it with lookout bench history")
	}
	clock.Set(clock.Now().Add(time.Second))
	slices.Sort(names)
	rep.Targets, rep.Now = len(names), clock.Now().Format(time.RFC3339)
	names = names[:min(len(names), o.asked)]
	rep.Asked = len(names)
	now := clock.Now()
	h := web.New(web.Config{Now: clock.Now, Logger: slog.New(slog.DiscardHandler), Sessions: web.NewSessions("", nil)},
		storeAPI{db}, nopScheduler{}, nopNotifier{})

	ago := func(d time.Duration) string { return url.QueryEscape(now.Add(-d).Format(time.RFC3339)) }
	to := url.QueryEscape(now.Format(time.RFC3339))
	year := 365 * 24 * time.Hour
	queries := []benchQuery{
		{"uptime 30d,1y", o.perTarget, false, func(t string) string {
			return "/api/v1/targets/" + t + "/uptime?windows=30d,1y"
		}},
		{"trend 1y step 1d", o.perTarget, false, func(t string) string {
			return "/api/v1/targets/" + t + "/trend?from=" + ago(year) + "&to=" + to + "&step=1d"
		}},
		{"summary", o.fleet, true, func(string) string { return "/api/v1/summary" }},
		{"trends 7d vs 7d", o.fleet, true, func(string) string { return "/api/v1/trends?window=7d&compare=7d" }},
	}
	for _, w := range []struct {
		name string
		d    time.Duration
	}{{"1d", 24 * time.Hour}, {"7d", 7 * 24 * time.Hour}, {"30d", 30 * 24 * time.Hour}, {"90d", 90 * 24 * time.Hour}, {"1y", year}} {
		queries = append(queries,
			benchQuery{"uptime " + w.name, o.window, false, func(t string) string {
				return "/api/v1/targets/" + t + "/uptime?windows=" + w.name
			}},
			benchQuery{"trend " + w.name + " step 1d", o.window, false, func(t string) string {
				return "/api/v1/targets/" + t + "/trend?from=" + ago(w.d) + "&to=" + to + "&step=1d"
			}})
	}
	queries = slices.DeleteFunc(queries, func(q benchQuery) bool { return !strings.Contains(q.name, o.only) })

	serve := func(path string) (time.Duration, int, error) {
		req := httptest.NewRequestWithContext(ctx, http.MethodGet, path, nil)
		rec := httptest.NewRecorder()
		start := time.Now()
		h.ServeHTTP(rec, req)
		d := time.Since(start)
		if rec.Code != http.StatusOK {
			return d, 0, fmt.Errorf("GET %s: %d %s", path, rec.Code, strings.TrimSpace(rec.Body.String()))
		}
		return d, rec.Body.Len(), nil
	}
	r := rand.New(rand.NewPCG(1, 2))
	path := func(q benchQuery) string {
		if q.fleet {
			return q.path("")
		}
		return q.path(url.PathEscape(names[r.IntN(len(names))]))
	}
	// The first ask: of the fleet, or of each target asked, in order.
	rep.Figures = make([]queryFigure, len(queries))
	for i, q := range queries {
		f := &rep.Figures[i]
		*f = queryFigure{Name: q.name, Example: path(q), Requests: q.requests}
		var times []time.Duration
		for k, t := range names {
			if q.fleet && k > 0 {
				break
			}
			d, n, err := serve(q.path(url.PathEscape(t)))
			if err != nil {
				return rep, err
			}
			times = append(times, d)
			f.Bytes = max(f.Bytes, n)
		}
		f.ColdP50, f.ColdP99 = quantiles(times)
		fmt.Fprintf(stderr, "bench: first ask  %-20s p50 %7.2f ms  p99 %7.2f ms\n", q.name, f.ColdP50, f.ColdP99)
	}
	stopProfile, err := startCPUProfile(o.cpuProfile)
	if err != nil {
		return rep, err
	}
	defer stopProfile()
	for run := range o.runs {
		for i, q := range queries {
			times := make([]time.Duration, q.requests)
			cpu0 := rusage()
			for k := range times {
				d, _, err := serve(path(q))
				if err != nil {
					return rep, err
				}
				times[k] = d
			}
			cpu := rusage() - cpu0
			f := &rep.Figures[i]
			p50, p99 := quantiles(times)
			f.P50, f.P99 = append(f.P50, p50), append(f.P99, p99)
			f.CPU = append(f.CPU, ms(cpu/time.Duration(q.requests)))
			fmt.Fprintf(stderr, "bench: run %d/%d  %-20s p50 %7.2f ms  p99 %7.2f ms  cpu %7.2f ms/request\n",
				run+1, o.runs, q.name, f.P50[run], f.P99[run], f.CPU[run])
			if err := ctx.Err(); err != nil {
				return rep, err
			}
		}
	}
	rep.Load = append(rep.Load, loadAverage())
	return rep, nil
}

// quantiles are the median and 99th percentile of times, in milliseconds.
func quantiles(times []time.Duration) (p50, p99 float64) {
	s := slices.Clone(times)
	slices.Sort(s)
	return ms(s[len(s)/2]), ms(s[min(len(s)-1, len(s)*99/100)])
}

// median of the runs' figures.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}

// loadAverage is the system's load average (Linux), as /proc/loadavg
// gives its first three fields.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

func printQueriesReport(w io.Writer, r queriesReport) {
	fmt.Fprintf(w, "%s: %d targets (%d asked), as of %s; %d runs; load average %s\n", r.DB, r.Targets, r.Asked, r.Now, r.Runs, strings.Join(r.Load, " → "))
	fmt.Fprintf(w, "  %-20s %9s %9s %9s %15s %9s  %s\n", "request", "p50 ms", "p99 ms", "cpu ms", "first p50/p99", "bytes", "runs (p50 / p99)")
	for _, f := range r.Figures {
		var runs []string
		for i := range f.P50 {
			runs = append(runs, fmt.Sprintf("%.2f/%.2f", f.P50[i], f.P99[i]))
		}
		fmt.Fprintf(w, "  %-20s %9.2f %9.2f %9.2f %7.2f/%7.2f %9d  %s\n", f.Name, median(f.P50), median(f.P99), median(f.CPU),
			f.ColdP50, f.ColdP99, f.Bytes, strings.Join(runs, ", "))
	}
}

// nopScheduler and nopNotifier stand in for the scheduler and the
// notifier where only reads are served.
type nopScheduler struct{}

func (nopScheduler) Upsert(uptime.Target) {}
func (nopScheduler) Remove(int64)         {}
func (nopScheduler) CheckNow(context.Context, int64) (uptime.Result, error) {
	return uptime.Result{}, uptime.ErrNotFound
}

type nopNotifier struct{}

func (nopNotifier) Validate(*uptime.Channel) error             { return nil }
func (nopNotifier) Test(context.Context, uptime.Channel) error { return nil }
