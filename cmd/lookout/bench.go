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
	"net/url"
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
	// With PostgreSQL: the instances sharing the checks, each one's
	// checks in the window, and the CPU time of the database's backends
	// serving them per check (when it can be read from /proc).
	Instances        int      `json:"instances,omitempty"`
	ChecksByInstance []uint64 `json:"checks_by_instance,omitempty"`
	DBCPUPerCheckUs  float64  `json:"db_cpu_us_per_check,omitempty"`
	FencedWrites     uint64   `json:"fenced_writes,omitempty"`
	LeaseChanges     uint64   `json:"lease_changes,omitempty"`
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
		insts    = fs.Int("instances", 1, "with --db postgres://…: Lookout instances in this process sharing the checks through shard leases")
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
	if *insts < 1 || (*insts > 1 && !isPostgres(*dbPath)) {
		fmt.Fprintln(stderr, "lookout bench: --instances > 1 needs --db postgres://…; a SQLite file is served by one instance")
		return exitUnknown
	}
	rep, err := bench(ctx, benchOpts{targets: *n, interval: *interval, duration: *duration, readers: *readers,
		workers: *workers, listeners: *listen, db: *dbPath, cpuProfile: *cpuProf,
		outageAfter: *outage, slowWebhook: *slowHook, jobs: *jobs, instances: *insts}, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "lookout bench: %v\n", err)
		return exitWarn
	}
	report(stdout, *asJSON, rep, printReport)
	return exitOK
}

// report prints a bench's report: as indented JSON when asJSON, else as
// text.
func report[R any](w io.Writer, asJSON bool, rep R, text func(io.Writer, R)) {
	if !asJSON {
		text(w, rep)
		return
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(rep)
}

// startCPUProfile writes a CPU profile to path (none when it is empty)
// until the stop it returns is called.
func startCPUProfile(path string) (stop func(), err error) {
	if path == "" {
		return func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}

type benchOpts struct {
	targets, readers, workers, listeners int
	// instances share the checks through shard leases (PostgreSQL).
	instances                int
	interval, duration       time.Duration
	outageAfter, slowWebhook time.Duration
	db, cpuProfile           string
	jobs                     bool
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
	o.instances = max(o.instances, 1)

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
	pg := isPostgres(cfg.DB)
	if pg {
		dsn, drop, err := benchSchema(ctx, cfg.DB)
		if err != nil {
			return rep, err
		}
		defer drop()
		cfg.DB = dsn
		rep.Instances = o.instances
		say("PostgreSQL, a schema of its own, %d instance(s) sharing the checks", o.instances)
	}
	cfg.Workers = o.workers
	log := slog.New(slog.NewTextHandler(progress, &slog.HandlerOptions{Level: slog.LevelWarn}))
	lat := &latencies{}
	apps := make([]*app, o.instances)
	for i := range apps {
		c := cfg
		c.InstanceID = fmt.Sprintf("bench-%d", i+1)
		a, err := newApp(ctx, c, log, lat.observe)
		if err != nil {
			return rep, err
		}
		defer a.db.Close()
		apps[i] = a
	}
	a := apps[0]
	// The instances' lease loops share the shards out while the targets
	// are registered and during the warm-up.
	leaseCtx, stopLeases := context.WithCancel(ctx)
	var leases sync.WaitGroup
	defer func() { stopLeases(); leases.Wait() }()
	for _, x := range apps {
		if x.member != nil {
			leases.Go(func() { x.member.Run(leaseCtx, x.sched.Sync) })
		}
	}

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
		if !pg {
			a.sched.Upsert(*t)
		}
		if (i+1)%5000 == 0 {
			say("registered %d/%d", i+1, o.targets)
		}
	}
	if err := a.db.Flush(ctx); err != nil {
		return rep, err
	}
	if pg {
		// Each instance takes the targets of the shards it holds from
		// the change feed.
		for _, x := range apps {
			if err := x.sched.Sync(ctx); err != nil {
				return rep, err
			}
		}
	}

	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	done := make(chan error, len(apps))
	for _, x := range apps {
		go func() { done <- x.sched.Run(runCtx) }()
	}
	// The housekeeping jobs run on the first instance: on others, they
	// would find them running and skip.
	var jobs *jobTimes
	jobsDone := make(chan struct{})
	if o.jobs {
		jobs = &jobTimes{}
		go func() { _ = scheduler.RunJobs(runCtx, jobs.wrap(a.jobs(cfg, log)), log); close(jobsDone) }()
	} else {
		close(jobsDone)
	}
	// stats adds the instances' schedulers' counters up.
	stats := func() (st scheduler.Stats) {
		for _, x := range apps {
			s := x.sched.Stats()
			st.Checks += s.Checks
			st.InFlight += s.InFlight
			st.Lag = max(st.Lag, s.Lag)
		}
		return st
	}
	written := func() (n uint64) {
		for _, x := range apps {
			n += x.db.WriterStats().Written
		}
		return n
	}

	// Warm up for one interval: the first interval spreads the targets'
	// first runs, after which the load is steady.
	say("warming up for %s", o.interval)
	if !sleepCtx(ctx, o.interval) {
		return rep, ctx.Err()
	}
	var sizeBefore, rowsBefore int64
	if !pg {
		sizeBefore, rowsBefore, _ = resultsBytes(ctx, cfg.DB)
	}

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
	stopProfile, err := startCPUProfile(o.cpuProfile)
	if err != nil {
		return rep, err
	}
	defer stopProfile()
	lat.record(true)
	jobs.record(true)
	ru0 := rusage()
	var db0 map[int]time.Duration
	if pg {
		db0 = backendCPU(ctx, cfg.DB)
	}
	st0 := stats()
	by0 := make([]uint64, len(apps))
	for i, x := range apps {
		by0[i] = x.sched.Stats().Checks
	}
	w0 := written()
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
			atOutage = stats().Checks - st0.Checks
			farm.failing.Store(true)
			say("every target fails from now on")
		case <-tick.C:
			st := stats()
			say("%4.0fs  checks %d  written %d  in flight %d  lag %s  late p99 %s",
				time.Since(start).Seconds(), st.Checks-st0.Checks, written()-w0,
				st.InFlight, st.Lag.Round(time.Millisecond), lat.quantile(0.99).Round(100*time.Microsecond))
		case <-time.After(time.Until(end)):
		}
	}
	tick.Stop()
	elapsed := time.Since(start)
	lat.record(false)
	rep.JobRuns, rep.JobSeconds = jobs.record(false)
	st1 := stats()
	for i, x := range apps {
		rep.ChecksByInstance = append(rep.ChecksByInstance, x.sched.Stats().Checks-by0[i])
	}
	stopReaders()
	readersWG.Wait()
	// The writer's flush interval is part of the pipeline: results of the
	// window that are still queued count once they land.
	for _, x := range apps {
		if err := x.db.Flush(ctx); err != nil {
			return rep, err
		}
	}
	w1 := written()
	ru1 := rusage()
	var dbCPU time.Duration
	if pg {
		for pid, cpu := range backendCPU(ctx, cfg.DB) {
			dbCPU += cpu - db0[pid]
		}
	}
	stop()
	for range apps {
		<-done
	}
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
		rep.DBCPUPerCheckUs = float64(dbCPU.Microseconds()) / float64(rep.Achieved)
	}
	rep.PersistedPerSec = float64(w1-w0) / elapsed.Seconds()
	rep.RSSMiB, rep.PeakRSSMiB = rss()
	rep.ReaderRequests, rep.ReaderErrors = reqs.Load(), reqErrs.Load()
	rep.ReaderReqsPerSec = float64(rep.ReaderRequests) / elapsed.Seconds()
	for _, x := range apps {
		rep.FencedWrites += x.db.WriterStats().Fenced
		if x.member != nil {
			rep.LeaseChanges += x.member.Status().Changes
		}
	}
	if !pg {
		rep.ChecksByInstance = nil
	}
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
	stopLeases()
	leases.Wait()
	for _, x := range apps {
		if err := x.db.Close(); err != nil {
			return rep, err
		}
	}
	if pg {
		return rep, nil
	}
	if size, rows, err := resultsBytes(ctx, cfg.DB); err == nil && rows > rowsBefore {
		rep.BytesPerResult = float64(size-sizeBefore) / float64(rows-rowsBefore)
	} else if err != nil {
		say("cannot measure bytes per result: %v", err)
	}
	return rep, nil
}

// isPostgres reports whether dsn names a PostgreSQL database.
func isPostgres(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}

// benchApplication names the bench's connections to PostgreSQL, so that
// the backends serving them can be told from others.
const benchApplication = "lookout-bench"

// benchSchema creates a schema of its own for one bench run in the
// PostgreSQL database at dsn and returns the DSN that uses it, and a
// function dropping it.
func benchSchema(ctx context.Context, dsn string) (string, func(), error) {
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return "", nil, err
	}
	name := fmt.Sprintf("lookout_bench_%d", time.Now().UnixNano())
	if _, err := db.ExecContext(ctx, "CREATE SCHEMA "+name); err != nil {
		db.Close()
		return "", nil, fmt.Errorf("create a schema for the bench: %w", err)
	}
	drop := func() {
		_, _ = db.ExecContext(context.Background(), "DROP SCHEMA "+name+" CASCADE")
		db.Close()
	}
	u, err := url.Parse(dsn)
	if err != nil {
		drop()
		return "", nil, err
	}
	q := u.Query()
	q.Set("search_path", name)
	q.Set("application_name", benchApplication)
	u.RawQuery = q.Encode()
	return u.String(), drop, nil
}

// backendCPU reads the CPU time used so far by each PostgreSQL backend
// serving the bench (by its application name), from /proc: the database
// runs on this machine. It returns nothing when it cannot tell.
func backendCPU(ctx context.Context, dsn string) map[int]time.Duration {
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return nil
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx, `SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND pid <> pg_backend_pid()`, benchApplication)
	if err != nil {
		return nil
	}
	defer rows.Close()
	out := map[int]time.Duration{}
	for rows.Next() {
		var pid int
		if rows.Scan(&pid) != nil {
			return nil
		}
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue
		}
		// utime and stime are fields 14 and 15, counted after the
		// command name's closing parenthesis.
		f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
		if len(f) < 13 {
			continue
		}
		ut, _ := strconv.ParseInt(f[11], 10, 64)
		st, _ := strconv.ParseInt(f[12], 10, 64)
		out[pid] = time.Duration(ut+st) * time.Second / clockTicks
	}
	return out
}

// clockTicks is the kernel's USER_HZ, the unit of /proc's CPU times: 100
// on every Linux platform Go runs on.
const clockTicks = 100

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
	}
	if r.Instances == 0 {
		rows = append(rows, [2]string{"DB bytes per result", fmt.Sprintf("%.1f", r.BytesPerResult)})
	}
	if r.ChecksPerSecBefore > 0 {
		rows = append(rows,
			[2]string{"checks/s before / during outage", fmt.Sprintf("%.1f / %.1f (ratio %.3f)", r.ChecksPerSecBefore, r.ChecksPerSecDuring, r.OutageRateRatio)},
			[2]string{"incidents open, webhook requests", fmt.Sprintf("%d, %d", r.IncidentsOpened, r.WebhookRequests)})
	}
	if r.Jobs {
		rows = append(rows, [2]string{"housekeeping job runs", fmt.Sprintf("%v, %.2f s in all", r.JobRuns, r.JobSeconds)})
	}
	if r.Instances > 0 {
		rows = append(rows,
			[2]string{"instances, checks each", fmt.Sprintf("%d, %v", r.Instances, r.ChecksByInstance)},
			[2]string{"PostgreSQL CPU per check", fmt.Sprintf("%.0f µs", r.DBCPUPerCheckUs)},
			[2]string{"lease changes, fenced writes", fmt.Sprintf("%d, %d", r.LeaseChanges, r.FencedWrites)})
	}
	if r.Readers > 0 {
		rows = append(rows, [2]string{"reader requests per second", fmt.Sprintf("%.0f (%d errors)", r.ReaderReqsPerSec, r.ReaderErrors)})
	}
	for _, row := range rows {
		fmt.Fprintf(w, "  %-32s %s\n", row[0], row[1])
	}
}
