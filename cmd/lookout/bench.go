package main

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/lookout/lookout/internal/scheduler"
	"github.com/lookout/lookout/internal/uptime"
)

// benchReport is what `lookout bench` measures.
type benchReport struct {
	Targets          int     `json:"targets"`
	Interval         string  `json:"interval"`
	Duration         string  `json:"duration"`
	Readers          int     `json:"readers"`
	Scheduled        float64 `json:"checks_scheduled"`
	Achieved         uint64  `json:"checks_achieved"`
	AchievedPct      float64 `json:"achieved_pct"`
	ChecksPerSec     float64 `json:"checks_per_sec"`
	LatenessP50Ms    float64 `json:"lateness_p50_ms"`
	LatenessP99Ms    float64 `json:"lateness_p99_ms"`
	LatenessMaxMs    float64 `json:"lateness_max_ms"`
	CPUPerCheckUs    float64 `json:"cpu_us_per_check"`
	PersistedPerSec  float64 `json:"persisted_per_sec"`
	RSSMiB           float64 `json:"rss_mib"`
	PeakRSSMiB       float64 `json:"peak_rss_mib"`
	BytesPerResult   float64 `json:"db_bytes_per_result"`
	ReaderRequests   uint64  `json:"reader_requests"`
	ReaderReqsPerSec float64 `json:"reader_requests_per_sec"`
	ReaderErrors     uint64  `json:"reader_errors"`
	// With --outage-after: checks per second before and during the outage,
	// and what the alert receiver saw.
	ChecksPerSecBefore float64 `json:"checks_per_sec_before_outage,omitempty"`
	ChecksPerSecDuring float64 `json:"checks_per_sec_during_outage,omitempty"`
	OutageRateRatio    float64 `json:"outage_rate_ratio,omitempty"`
	WebhookRequests    int64   `json:"webhook_requests,omitempty"`
	IncidentsOpened    int     `json:"incidents_opened,omitempty"`
	// With --jobs: the housekeeping jobs' runs that ended in the
	// measured window, by job, and their time.
	Jobs       bool           `json:"jobs"`
	JobRuns    map[string]int `json:"job_runs,omitempty"`
	JobSeconds float64        `json:"job_seconds,omitempty"`
}

// runBench starts a farm of healthy HTTP targets on loopback and N targets
// at interval I against it, with the real store, scheduler and prober, runs
// for D and reports what was achieved. See docs/benchmarks.md.
func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		switch args[0] {
		case "history":
			return runBenchHistory(ctx, args[1:], stdout, stderr)
		case "queries":
			return runBenchQueries(ctx, args[1:], stdout, stderr)
		}
	}
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		n        = fs.Int("targets", 1000, "targets to check")
		interval = fs.Duration("interval", 10*time.Second, "each target's interval")
		duration = fs.Duration("duration", 60*time.Second, "how long to measure, after one interval of warm-up")
		readers  = fs.Int("readers", 0, "clients looping on the results API meanwhile")
		workers  = fs.Int("workers", defaultConfig().Workers, "checks in flight at most")
		listen   = fs.Int("farm", 4, "loopback listeners serving the targets")
		dbPath   = fs.String("db", "", "SQLite file to use (default: a new temporary one)")
		asJSON   = fs.Bool("json", false, "print the report as JSON")
		cpuProf  = fs.String("cpuprofile", "", "write a CPU profile of the measured window to this file")
		outage   = fs.Duration("outage-after", 0, "make every target fail this long into the measurement (0: never)")
		slowHook = fs.Duration("slow-webhook", 0, "add a default webhook channel whose receiver takes this long per request")
		jobs     = fs.Bool("jobs", false, "run the housekeeping jobs (rollup, retention, SLO) on their default schedules, as serve does")
	)
	fs.Usage = func() {
		fmt.Fprint(stderr, "Usage: lookout bench [flags]\n       lookout bench history --out FILE [flags]\n       lookout bench queries --db FILE [flags]\n\nMeasures checks/s, scheduling lateness, CPU per check, write rate, RSS and\nDB bytes per result against an in-process target farm on loopback. 'history'\nwrites a fleet's history into a SQLite file, 'queries' measures the history\nAPI against one ('lookout bench history --help').\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUnknown
	}
	if *n < 1 || *interval < time.Second || *duration <= 0 || *listen < 1 {
		fmt.Fprintln(stderr, "lookout bench: --targets ≥ 1, --interval ≥ 1s, --duration > 0 and --farm ≥ 1, please")
		return exitUnknown
	}
	rep, err := bench(ctx, benchOpts{targets: *n, interval: *interval, duration: *duration, readers: *readers,
		workers: *workers, listeners: *listen, db: *dbPath, cpuProfile: *cpuProf,
		outageAfter: *outage, slowWebhook: *slowHook, jobs: *jobs}, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "lookout bench: %v\n", err)
		return exitWarn
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(rep)
	} else {
		printReport(stdout, rep)
	}
	return exitOK
}

type benchOpts struct {
	targets, readers, workers, listeners int
	interval, duration                   time.Duration
	outageAfter, slowWebhook             time.Duration
	db, cpuProfile                       string
	jobs                                 bool
}

// latencies collects scheduling lateness while the measurement runs.
type latencies struct {
	mu  sync.Mutex
	on  bool
	all []time.Duration
}

func (l *latencies) observe(d time.Duration) {
	l.mu.Lock()
	if l.on {
		l.all = append(l.all, d)
	}
	l.mu.Unlock()
}

func (l *latencies) record(on bool) {
	l.mu.Lock()
	l.on = on
	l.mu.Unlock()
}

func (l *latencies) quantile(q float64) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.all) == 0 {
		return 0
	}
	s := slices.Clone(l.all)
	slices.Sort(s)
	return s[min(len(s)-1, int(q*float64(len(s))))]
}

func bench(ctx context.Context, o benchOpts, progress io.Writer) (benchReport, error) {
	rep := benchReport{Targets: o.targets, Interval: o.interval.String(), Duration: o.duration.String(), Readers: o.readers, Jobs: o.jobs}
	say := func(format string, args ...any) { fmt.Fprintf(progress, "bench: "+format+"\n", args...) }

	farm, err := startFarm(o.listeners)
	if err != nil {
		return rep, err
	}
	defer farm.close()

	dir, err := os.MkdirTemp("", "lookout-bench-")
	if err != nil {
		return rep, err
	}
	defer os.RemoveAll(dir)
	cfg := defaultConfig()
	cfg.DB = o.db
	if cfg.DB == "" {
		cfg.DB = filepath.Join(dir, "bench.db")
	}
	cfg.Workers = o.workers
	log := slog.New(slog.NewTextHandler(progress, &slog.HandlerOptions{Level: slog.LevelWarn}))
	lat := &latencies{}
	a, err := newApp(ctx, cfg, log, lat.observe)
	if err != nil {
		return rep, err
	}
	defer a.db.Close()

	var hookReqs atomic.Int64
	stopAlerts := func() {}
	defer func() { stopAlerts() }()
	if o.slowWebhook > 0 {
		hook, url, err := serveLoopback(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			hookReqs.Add(1)
			_, _ = io.Copy(io.Discard, r.Body)
			select {
			case <-time.After(o.slowWebhook):
			case <-r.Context().Done():
			}
		}))
		if err != nil {
			return rep, err
		}
		defer hook.Close()
		ch := &uptime.Channel{Name: "bench-hook", Kind: "webhook", URL: uptime.Secret(url), Default: true}
		ch.Normalize()
		if err := a.db.CreateChannel(ctx, ch); err != nil {
			return rep, fmt.Errorf("create webhook channel: %w", err)
		}
		notifyCtx, cancel := context.WithCancel(ctx)
		notifyDone := make(chan struct{})
		go func() { _ = a.notify.Run(notifyCtx); close(notifyDone) }()
		stopAlerts = func() { cancel(); <-notifyDone }
	}

	say("registering %d targets at %s against %d loopback listeners", o.targets, o.interval, o.listeners)
	for i := range o.targets {
		t := &uptime.Target{Name: fmt.Sprintf("bench-%06d", i), URL: farm.url(i), Interval: uptime.Duration(o.interval)}
		if o.outageAfter > 0 {
			t.FailureThreshold = 1 // every target opens an incident at its first failure
		}
		t.Normalize()
		if err := a.db.CreateTarget(ctx, t); err != nil {
			return rep, fmt.Errorf("register target: %w", err)
		}
		a.sched.Upsert(*t)
		if (i+1)%5000 == 0 {
			say("registered %d/%d", i+1, o.targets)
		}
	}
	if err := a.db.Flush(ctx); err != nil {
		return rep, err
	}

	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	done := make(chan error, 1)
	go func() { done <- a.sched.Run(runCtx) }()
	var jobs *jobTimes
	jobsDone := make(chan struct{})
	if o.jobs {
		jobs = &jobTimes{}
		go func() { _ = scheduler.RunJobs(runCtx, jobs.wrap(a.jobs(cfg, log)), log); close(jobsDone) }()
	} else {
		close(jobsDone)
	}

	// Warm up for one interval: the first interval spreads the targets'
	// first runs, after which the load is steady.
	say("warming up for %s", o.interval)
	if !sleepCtx(ctx, o.interval) {
		return rep, ctx.Err()
	}
	sizeBefore, rowsBefore, _ := resultsBytes(ctx, cfg.DB)

	var reqs, reqErrs atomic.Uint64
	var readersWG sync.WaitGroup
	readCtx, stopReaders := context.WithCancel(ctx)
	defer stopReaders()
	if o.readers > 0 {
		srv, base, err := serveLoopback(a.web)
		if err != nil {
			return rep, err
		}
		defer srv.Close()
		for range o.readers {
			readersWG.Go(func() { readLoop(readCtx, base, o.targets, &reqs, &reqErrs) })
		}
	}

	say("measuring for %s", o.duration)
	if o.cpuProfile != "" {
		f, err := os.Create(o.cpuProfile)
		if err != nil {
			return rep, err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return rep, err
		}
		defer pprof.StopCPUProfile()
	}
	lat.record(true)
	jobs.record(true)
	ru0 := rusage()
	st0 := a.sched.Stats()
	w0 := a.db.WriterStats().Written
	start := time.Now()
	tick := time.NewTicker(5 * time.Second)
	var outage <-chan time.Time
	var atOutage uint64
	if o.outageAfter > 0 {
		outage = time.After(o.outageAfter)
	}
	for end := start.Add(o.duration); time.Now().Before(end); {
		select {
		case <-ctx.Done():
			return rep, ctx.Err()
		case <-outage:
			atOutage = a.sched.Stats().Checks - st0.Checks
			farm.failing.Store(true)
			say("every target fails from now on")
		case <-tick.C:
			st := a.sched.Stats()
			say("%4.0fs  checks %d  written %d  in flight %d  lag %s  late p99 %s",
				time.Since(start).Seconds(), st.Checks-st0.Checks, a.db.WriterStats().Written-w0,
				st.InFlight, st.Lag.Round(time.Millisecond), lat.quantile(0.99).Round(100*time.Microsecond))
		case <-time.After(time.Until(end)):
		}
	}
	tick.Stop()
	elapsed := time.Since(start)
	lat.record(false)
	rep.JobRuns, rep.JobSeconds = jobs.record(false)
	st1 := a.sched.Stats()
	stopReaders()
	readersWG.Wait()
	// The writer's flush interval is part of the pipeline: results of the
	// window that are still queued count once they land.
	if err := a.db.Flush(ctx); err != nil {
		return rep, err
	}
	w1 := a.db.WriterStats().Written
	ru1 := rusage()
	stop()
	<-done
	<-jobsDone

	rep.Scheduled = float64(o.targets) * elapsed.Seconds() / o.interval.Seconds()
	rep.Achieved = st1.Checks - st0.Checks
	rep.AchievedPct = 100 * float64(rep.Achieved) / rep.Scheduled
	rep.ChecksPerSec = float64(rep.Achieved) / elapsed.Seconds()
	rep.LatenessP50Ms = ms(lat.quantile(0.50))
	rep.LatenessP99Ms = ms(lat.quantile(0.99))
	rep.LatenessMaxMs = ms(lat.quantile(1))
	if rep.Achieved > 0 {
		rep.CPUPerCheckUs = float64((ru1 - ru0).Microseconds()) / float64(rep.Achieved)
	}
	rep.PersistedPerSec = float64(w1-w0) / elapsed.Seconds()
	rep.RSSMiB, rep.PeakRSSMiB = rss()
	rep.ReaderRequests, rep.ReaderErrors = reqs.Load(), reqErrs.Load()
	rep.ReaderReqsPerSec = float64(rep.ReaderRequests) / elapsed.Seconds()
	if o.outageAfter > 0 && o.outageAfter < elapsed {
		rep.ChecksPerSecBefore = float64(atOutage) / o.outageAfter.Seconds()
		rep.ChecksPerSecDuring = float64(rep.Achieved-atOutage) / (elapsed - o.outageAfter).Seconds()
		rep.OutageRateRatio = rep.ChecksPerSecDuring / rep.ChecksPerSecBefore
		open, err := a.db.ListIncidents(ctx, uptime.IncidentFilter{OpenOnly: true, Limit: 1000})
		if err != nil {
			return rep, err
		}
		rep.IncidentsOpened = len(open)
		rep.WebhookRequests = hookReqs.Load()
	}
	stopAlerts()
	stopAlerts = func() {}
	if err := a.db.Close(); err != nil {
		return rep, err
	}
	if size, rows, err := resultsBytes(ctx, cfg.DB); err == nil && rows > rowsBefore {
		rep.BytesPerResult = float64(size-sizeBefore) / float64(rows-rowsBefore)
	} else if err != nil {
		say("cannot measure bytes per result: %v", err)
	}
	return rep, nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// jobTimes counts the housekeeping jobs' runs that end while recording,
// and their time. A nil *jobTimes records nothing.
type jobTimes struct {
	mu   sync.Mutex
	on   bool
	runs map[string]int
	took time.Duration
}

func (j *jobTimes) wrap(jobs []scheduler.Job) []scheduler.Job {
	for i := range jobs {
		name, run := jobs[i].Name, jobs[i].Run
		jobs[i].Run = func(ctx context.Context) error {
			start := time.Now()
			err := run(ctx)
			j.mu.Lock()
			if j.on {
				j.runs[name]++
				j.took += time.Since(start)
			}
			j.mu.Unlock()
			return err
		}
	}
	return jobs
}

// record starts or stops recording and returns what was recorded.
func (j *jobTimes) record(on bool) (map[string]int, float64) {
	if j == nil {
		return nil, 0
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if on {
		j.runs, j.took = map[string]int{}, 0
	}
	j.on = on
	return j.runs, j.took.Seconds()
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	select {
	case <-ctx.Done():
		return false
	case <-time.After(d):
		return true
	}
}

// farm is the targets: a few loopback listeners answering every request
// with a fixed 200. It is a minimal HTTP/1.1 responder rather than a
// net/http server, so that the CPU the bench measures is Lookout's, not the
// targets': a net/http server would add ~30 µs a check to the figure.
type farm struct {
	lns     []net.Listener
	addrs   []string
	wg      sync.WaitGroup
	failing atomic.Bool
}

const farmDown = "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nContent-Length: 17\r\n\r\n{\"status\":\"DOWN\"}"

const farmResponse = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 15\r\n\r\n{\"status\":\"UP\"}"

func startFarm(n int) (*farm, error) {
	f := &farm{}
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			f.close()
			return nil, fmt.Errorf("start target farm: %w", err)
		}
		f.lns = append(f.lns, ln)
		f.addrs = append(f.addrs, ln.Addr().String())
		f.wg.Go(func() { f.accept(ln) })
	}
	return f, nil
}

func (f *farm) accept(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go f.serveConn(c)
	}
}

// serveFarmConn answers each request on a kept-alive connection: it reads
// header lines up to the blank one (checks send no body) and writes the
// fixed response.
func (f *farm) serveConn(c net.Conn) {
	defer c.Close()
	r := bufio.NewReader(c)
	for {
		for {
			line, err := r.ReadSlice('\n')
			if err != nil {
				return
			}
			if len(line) <= 2 { // "\r\n": end of the header
				break
			}
		}
		resp := farmResponse
		if f.failing.Load() {
			resp = farmDown
		}
		if _, err := io.WriteString(c, resp); err != nil {
			return
		}
	}
}

func (f *farm) url(i int) string {
	return fmt.Sprintf("http://%s/health/%d", f.addrs[i%len(f.addrs)], i)
}

func (f *farm) close() {
	for _, ln := range f.lns {
		_ = ln.Close()
	}
	f.wg.Wait()
}

func serveLoopback(h http.Handler) (*http.Server, string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, "", err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return srv, "http://" + ln.Addr().String(), nil
}

// readLoop asks for one random target's latest 100 results, over and over.
func readLoop(ctx context.Context, base string, targets int, reqs, errs *atomic.Uint64) {
	client := &http.Client{Timeout: 10 * time.Second}
	for ctx.Err() == nil {
		url := fmt.Sprintf("%s/api/v1/targets/bench-%06d/results?limit=100", base, rand.IntN(targets))
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		resp, err := client.Do(req)
		if err != nil {
			if ctx.Err() == nil {
				errs.Add(1)
			}
			continue
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			errs.Add(1)
		}
		reqs.Add(1)
	}
}

// rusage is the process's CPU time so far, user and system.
func rusage() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// rss reads the current and peak resident set size from /proc (Linux).
func rss() (cur, peak float64) {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		kb, _ := strconv.ParseFloat(f[1], 64)
		switch f[0] {
		case "VmRSS:":
			cur = kb / 1024
		case "VmHWM:":
			peak = kb / 1024
		}
	}
	return cur, peak
}

// resultsBytes reports the bytes the results table takes in the SQLite file
// and its row count, through SQLite's dbstat table.
func resultsBytes(ctx context.Context, path string) (bytes, rows int64, err error) {
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		return 0, 0, err
	}
	defer db.Close()
	if err := db.QueryRowContext(ctx, `SELECT COALESCE(SUM(pgsize), 0) FROM dbstat WHERE name = 'results'`).Scan(&bytes); err != nil {
		return 0, 0, fmt.Errorf("read dbstat: %w", err)
	}
	if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM results`).Scan(&rows); err != nil {
		return 0, 0, err
	}
	return bytes, rows, nil
}

func printReport(w io.Writer, r benchReport) {
	fmt.Fprintf(w, "targets %d @ %s for %s", r.Targets, r.Interval, r.Duration)
	if r.Readers > 0 {
		fmt.Fprintf(w, ", %d readers on the results API", r.Readers)
	}
	fmt.Fprintln(w)
	rows := [][2]string{
		{"checks achieved / scheduled", fmt.Sprintf("%d / %.0f (%.2f %%)", r.Achieved, r.Scheduled, r.AchievedPct)},
		{"checks per second", fmt.Sprintf("%.1f", r.ChecksPerSec)},
		{"start lateness p50 / p99 / max", fmt.Sprintf("%.2f / %.2f / %.2f ms", r.LatenessP50Ms, r.LatenessP99Ms, r.LatenessMaxMs)},
		{"CPU per check (all-in)", fmt.Sprintf("%.0f µs", r.CPUPerCheckUs)},
		{"results persisted per second", fmt.Sprintf("%.1f", r.PersistedPerSec)},
		{"RSS now / peak", fmt.Sprintf("%.0f / %.0f MiB", r.RSSMiB, r.PeakRSSMiB)},
		{"DB bytes per result", fmt.Sprintf("%.1f", r.BytesPerResult)},
	}
	if r.ChecksPerSecBefore > 0 {
		rows = append(rows,
			[2]string{"checks/s before / during outage", fmt.Sprintf("%.1f / %.1f (ratio %.3f)", r.ChecksPerSecBefore, r.ChecksPerSecDuring, r.OutageRateRatio)},
			[2]string{"incidents open, webhook requests", fmt.Sprintf("%d, %d", r.IncidentsOpened, r.WebhookRequests)})
	}
	if r.Jobs {
		rows = append(rows, [2]string{"housekeeping job runs", fmt.Sprintf("%v, %.2f s in all", r.JobRuns, r.JobSeconds)})
	}
	if r.Readers > 0 {
		rows = append(rows, [2]string{"reader requests per second", fmt.Sprintf("%.0f (%d errors)", r.ReaderReqsPerSec, r.ReaderErrors)})
	}
	for _, row := range rows {
		fmt.Fprintf(w, "  %-32s %s\n", row[0], row[1])
	}
}
