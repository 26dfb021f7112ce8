package main

import (
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"os"
	"sync"
	"time"

	"github.com/lookout/lookout/internal/store"
	"github.com/lookout/lookout/internal/uptime"
)

// `lookout bench history` writes a fleet's history into a new SQLite file
// as a Lookout that had checked it all along would hold it: rollups of
// the days older than the raw retention imported through the rollup
// job's own step (store.ImportHistory), the raw checks of the retained
// days recorded through the result writer and rolled up by the job
// itself, and the whole pruned by the retention job. `lookout bench
// queries` then measures the history API against such a file.

// historyReport is what `lookout bench history` made.
type historyReport struct {
	Targets  int    `json:"targets"`
	Interval string `json:"interval"`
	Span     string `json:"span"`
	From     string `json:"from"`
	Now      string `json:"now"`
	// Seconds spent on each phase.
	ImportSeconds float64 `json:"import_seconds"`
	RecordSeconds float64 `json:"record_seconds"`
	RollUpSeconds float64 `json:"rollup_seconds"`
	PruneSeconds  float64 `json:"prune_seconds"`
	TotalSeconds  float64 `json:"total_seconds"`
	Checks        int64   `json:"checks_generated"`
	// Rows and bytes (SQLite's dbstat, pages in use) of what is kept.
	Tables    []tableSize `json:"tables"`
	FileBytes int64       `json:"file_bytes"`
	// BytesPerTarget is the pages in use over the targets;
	// BytesPerTargetYear that over the span in years.
	BytesPerTarget     float64 `json:"bytes_per_target"`
	BytesPerTargetYear float64 `json:"bytes_per_target_year"`
}

// tableSize is one kind of kept history: rows, and the bytes of its
// table's pages (its indexes included).
type tableSize struct {
	Name  string `json:"name"`
	Rows  int64  `json:"rows"`
	Bytes int64  `json:"bytes,omitempty"`
}

func runBenchHistory(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("bench history", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg := defaultConfig()
	var (
		n        = fs.Int("targets", 1000, "targets in the fleet")
		interval = fs.Duration("interval", time.Minute, "each target's interval")
		spanS    = fs.String("span", "1y", "how much history: 1y, 30d, …")
		out      = fs.String("out", "", "the SQLite file to write (must not exist)")
		seed     = fs.Uint64("seed", 1, "seed of the generated checks")
		nowS     = fs.String("now", "", "the history's end, RFC 3339 (default: now, to the minute)")
		asJSON   = fs.Bool("json", false, "print the report as JSON")
		cpuProf  = fs.String("cpuprofile", "", "write a CPU profile to this file")
	)
	fs.Var(&cfg.RawRetention, "raw-retention", "how long raw checks are kept, as --raw-retention of serve")
	fs.Var(&cfg.MinuteRetention, "minute-retention", "how long minute rollups are kept")
	fs.Var(&cfg.HourRetention, "hour-retention", "how long hour rollups are kept")
	fs.Usage = func() {
		fmt.Fprint(stderr, "Usage: lookout bench history --out FILE [flags]\n\nWrites a fleet's history into a new SQLite file, as Lookout would hold it after\nchecking the fleet for the span: rollups through the rollup job, raw checks for\nthe retained days, pruned by the retention job.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUnknown
	}
	span, ok := uptime.ParseSpan(*spanS)
	if !ok || *out == "" || *n < 1 || *interval < time.Second || *interval > time.Hour {
		fmt.Fprintf(stderr, "lookout bench history: --out FILE, --targets ≥ 1, --interval within 1s–1h and a --span such as 1y, please\n")
		return exitUnknown
	}
	now := time.Now().UTC().Truncate(time.Minute)
	if *nowS != "" {
		var err error
		if now, err = time.Parse(time.RFC3339, *nowS); err != nil {
			fmt.Fprintf(stderr, "lookout bench history: --now %q is not an RFC 3339 time\n", *nowS)
			return exitUnknown
		}
		now = now.UTC()
	}
	if _, err := os.Stat(*out); err == nil {
		fmt.Fprintf(stderr, "lookout bench history: %s exists: name a new file, or remove it first\n", *out)
		return exitUnknown
	}
	stopProfile, err := startCPUProfile(*cpuProf)
	if err != nil {
		fmt.Fprintf(stderr, "lookout bench history: %v\n", err)
		return exitUnknown
	}
	defer stopProfile()
	rep, err := benchHistory(ctx, historyOpts{
		targets: *n, interval: *interval, span: span, out: *out, seed: *seed, now: now,
		retention: store.Retention{Raw: time.Duration(cfg.RawRetention), Minute: time.Duration(cfg.MinuteRetention),
			Hour: time.Duration(cfg.HourRetention)},
	}, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "lookout bench history: %v\n", err)
		return exitWarn
	}
	report(stdout, *asJSON, rep, printHistoryReport)
	return exitOK
}

type historyOpts struct {
	targets   int
	interval  time.Duration
	span      time.Duration
	out       string
	seed      uint64
	now       time.Time
	retention store.Retention
}

// benchClock is a clock the bench moves by hand, read by the store's
// goroutines meanwhile.
type benchClock struct {
	mu sync.Mutex
	t  time.Time
}

func newBenchClock(t time.Time) *benchClock { return &benchClock{t: t} }

func (c *benchClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Set moves the clock to t.
func (c *benchClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// progress prints a phase's progress at most every 5 seconds.
type progress struct {
	w     io.Writer
	phase string
	start time.Time
	last  time.Time
}

func newProgress(w io.Writer, phase string) *progress {
	fmt.Fprintf(w, "bench: %s\n", phase)
	return &progress{w: w, phase: phase, start: time.Now(), last: time.Now()}
}

// step reports done of total, with an estimate of the time left.
func (p *progress) step(done, total int, what string) {
	if time.Since(p.last) < 5*time.Second && done < total {
		return
	}
	p.last = time.Now()
	el := time.Since(p.start)
	left := time.Duration(0)
	if done > 0 {
		left = time.Duration(float64(el) * float64(total-done) / float64(done))
	}
	fmt.Fprintf(p.w, "bench: %s: %d/%d %s, %s, about %s left\n", p.phase, done, total, what,
		el.Round(time.Second), left.Round(time.Second))
}

func benchHistory(ctx context.Context, o historyOpts, stderr io.Writer) (historyReport, error) {
	begin := time.Now()
	day := 24 * time.Hour
	from := uptime.Day.Bucket(o.now.Add(-o.span))
	rep := historyReport{Targets: o.targets, Interval: o.interval.String(), Span: age(o.span).String(),
		From: from.Format(time.RFC3339), Now: o.now.Format(time.RFC3339)}
	clock := newBenchClock(from)
	opts := storeOptions(slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	opts.Now = clock.Now
	db, err := store.Open(ctx, o.out, opts)
	if err != nil {
		return rep, err
	}
	defer db.Close()
	if err := db.Migrate(ctx); err != nil {
		return rep, err
	}

	p := newProgress(stderr, fmt.Sprintf("registering %d targets at %s", o.targets, o.interval))
	fleet := newFleetModel(o.seed, o.targets, o.interval, from, o.now)
	index := make(map[int64]int, o.targets)
	for i := range o.targets {
		t := &uptime.Target{Name: benchTargetName(i), URL: fmt.Sprintf("http://127.0.0.1:9/health/%d", i),
			Interval: uptime.Duration(o.interval), Labels: map[string]string{"team": fmt.Sprintf("team-%02d", i%20)}}
		t.Normalize()
		if err := db.CreateTarget(ctx, t); err != nil {
			return rep, fmt.Errorf("register target: %w", err)
		}
		index[t.ID] = i
		p.step(i+1, o.targets, "targets")
	}

	// The days before the raw retention's start are imported as rollups;
	// minute rollups only for the days within their retention.
	rawFrom := o.now.Add(-o.span)
	if o.retention.Raw > 0 {
		rawFrom = o.now.Add(-o.retention.Raw)
	}
	split := uptime.Day.Bucket(rawFrom)
	if split.Before(from) {
		split = from
	}
	var minutesFrom time.Time
	if o.retention.Minute > 0 {
		minutesFrom = uptime.Day.Bucket(o.now.Add(-o.retention.Minute))
	}
	var buf []uptime.Point
	t0 := time.Now()
	if from.Before(split) {
		days := int(split.Sub(from) / day)
		p = newProgress(stderr, fmt.Sprintf("importing %d days of rollups (%s to %s) through the rollup job's step",
			days, from.Format(time.DateOnly), split.Format(time.DateOnly)))
		done := 0
		err := db.ImportHistory(ctx, store.HistoryImport{
			From: from, To: split, MinutesFrom: minutesFrom,
			Points: func(t *uptime.Target, d time.Time) []uptime.Point {
				buf = fleet.day(index[t.ID], d, buf[:0])
				rep.Checks += int64(len(buf))
				return buf
			},
			Progress: func(time.Time) { done++; p.step(done, days, "days") },
		})
		if err != nil {
			return rep, err
		}
	}
	rep.ImportSeconds = time.Since(t0).Seconds()

	// The checks from two intervals before the split on are stored as
	// results, through the result writer, with each target's state.
	t0 = time.Now()
	tailFrom := split.Add(-2 * o.interval)
	days := int(o.now.Sub(uptime.Day.Bucket(tailFrom))/day) + 1
	p = newProgress(stderr, fmt.Sprintf("recording the checks from %s on as results", tailFrom.Format(time.RFC3339)))
	states := make([]uptime.State, o.targets)
	ids := make([]int64, o.targets)
	for id, i := range index {
		ids[i] = id
	}
	n := 0
	for d := uptime.Day.Bucket(tailFrom); d.Before(o.now); d = d.Add(day) {
		for i := range o.targets {
			buf = fleet.day(i, d, buf[:0])
			for _, pt := range buf {
				if pt.At.Before(tailFrom) || !pt.At.Before(o.now) {
					continue
				}
				if !pt.At.Before(split) { // those before are the import's
					rep.Checks++
				}
				db.Record(benchObservation(ids[i], benchTargetName(i), pt, &states[i]))
			}
		}
		clock.Set(d.Add(day))
		n++
		p.step(n, days, "days")
		if err := ctx.Err(); err != nil {
			return rep, err
		}
	}
	if err := db.Flush(ctx); err != nil {
		return rep, err
	}
	rep.RecordSeconds = time.Since(t0).Seconds()

	// The rollup job catches up, a day at a time, as after a long stop.
	t0 = time.Now()
	clock.Set(o.now)
	p = newProgress(stderr, "rolling the recorded checks up (the rollup job)")
	for upTo := split; upTo.Before(o.now); {
		upTo = upTo.Add(day)
		if upTo.After(o.now) {
			upTo = o.now
		}
		w, err := db.RollUp(ctx, upTo)
		if err != nil {
			return rep, err
		}
		p.step(int(w.Sub(split)/time.Hour), int(o.now.Sub(split)/time.Hour), "hours")
	}
	rep.RollUpSeconds = time.Since(t0).Seconds()

	t0 = time.Now()
	fmt.Fprintln(stderr, "bench: pruning past the retention (the retention job)")
	if _, err := db.Prune(ctx, o.now, o.retention); err != nil {
		return rep, err
	}
	rep.PruneSeconds = time.Since(t0).Seconds()
	if err := db.Close(); err != nil {
		return rep, err
	}
	fmt.Fprintln(stderr, "bench: measuring the file")
	if err := historySizes(ctx, o.out, &rep); err != nil {
		return rep, err
	}
	years := o.now.Sub(from).Hours() / 24 / 365
	var used int64
	for _, t := range rep.Tables {
		used += t.Bytes
	}
	rep.BytesPerTarget = float64(used) / float64(o.targets)
	rep.BytesPerTargetYear = rep.BytesPerTarget / years
	rep.TotalSeconds = time.Since(begin).Seconds()
	return rep, nil
}

func benchTargetName(i int) string { return fmt.Sprintf("svc-%05d", i) }

// benchObservation is a generated check as the scheduler would record
// it, with the target's state carried along (status and since).
func benchObservation(id int64, name string, p uptime.Point, st *uptime.State) uptime.Observation {
	r := uptime.Result{TargetID: id, Target: name, StartedAt: p.At, Duration: p.Latency, Status: p.Status, Code: 200}
	switch p.Status {
	case uptime.StatusDown:
		if p.Latency >= 10*time.Second {
			r.Code, r.ErrorClass, r.Error = 0, uptime.ClassTimeout, "context deadline exceeded"
		} else {
			r.Code, r.ErrorClass, r.Error = 0, uptime.ClassRefused, "connect: connection refused"
		}
	case uptime.StatusUnknown:
		r.Code, r.ErrorClass, r.Error = 0, uptime.ClassInternal, "missed 1 check: scheduler overloaded"
	}
	if st.Status != p.Status || st.Since.IsZero() {
		st.Status, st.Since = p.Status, p.At
	}
	st.LastCheck, st.LastResult = p.At, p.Status
	return uptime.Observation{Result: r, State: *st}
}

// historySizes counts the rows of each kind of history and the bytes its
// table's pages take, and the file's size.
func historySizes(ctx context.Context, path string, rep *historyReport) error {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	rep.FileBytes = fi.Size()
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		return err
	}
	defer db.Close()
	tables := []struct{ name, count string }{
		{"results", `SELECT COUNT(*) FROM results`},
		{"rollups", `SELECT COUNT(*) FROM rollups`},
		{"fleet_rollups", `SELECT COUNT(*) FROM fleet_rollups`},
		{"target_state", `SELECT COUNT(*) FROM target_state`},
		{"targets", `SELECT COUNT(*) FROM targets`},
	}
	for _, t := range tables {
		ts := tableSize{Name: t.name}
		if err := db.QueryRowContext(ctx, t.count).Scan(&ts.Rows); err != nil {
			return fmt.Errorf("count %s: %w", t.name, err)
		}
		// The table's pages and its indexes'.
		if err := db.QueryRowContext(ctx, `SELECT COALESCE(SUM(d.pgsize), 0) FROM dbstat d
			JOIN sqlite_schema s ON s.name = d.name WHERE s.tbl_name = ?`, t.name).Scan(&ts.Bytes); err != nil {
			return fmt.Errorf("read dbstat: %w", err)
		}
		rep.Tables = append(rep.Tables, ts)
	}
	// The rollups by resolution.
	rows, err := db.QueryContext(ctx, `SELECT res, COUNT(*) FROM rollups GROUP BY res ORDER BY res`)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var res, n int64
		if err := rows.Scan(&res, &n); err != nil {
			return err
		}
		rep.Tables = append(rep.Tables, tableSize{Name: "rollups: " + uptime.Resolution(res).String(), Rows: n})
	}
	return rows.Err()
}

func printHistoryReport(w io.Writer, r historyReport) {
	fmt.Fprintf(w, "%d targets @ %s, %s of history (%s to %s)\n", r.Targets, r.Interval, r.Span, r.From, r.Now)
	fmt.Fprintf(w, "  %-28s %d\n", "checks generated", r.Checks)
	fmt.Fprintf(w, "  %-28s import %.0f s, record %.0f s, roll up %.0f s, prune %.0f s; %.0f s in all\n", "time",
		r.ImportSeconds, r.RecordSeconds, r.RollUpSeconds, r.PruneSeconds, r.TotalSeconds)
	for _, t := range r.Tables {
		if t.Bytes > 0 {
			fmt.Fprintf(w, "  %-28s %12d rows %14d bytes (%.1f a row)\n", t.Name, t.Rows, t.Bytes, float64(t.Bytes)/float64(max(t.Rows, 1)))
		} else {
			fmt.Fprintf(w, "  %-28s %12d rows\n", t.Name, t.Rows)
		}
	}
	fmt.Fprintf(w, "  %-28s %d\n", "file bytes", r.FileBytes)
	fmt.Fprintf(w, "  %-28s %.0f\n", "bytes per target", r.BytesPerTarget)
	fmt.Fprintf(w, "  %-28s %.0f\n", "bytes per target-year", r.BytesPerTargetYear)
}

// fleetModel generates each target's checks, the same for a given seed
// whichever day is asked first: a latency of its own per target (a
// log-normal around a median between 20 and 300 ms, higher in the day's
// busy hours, with rare spikes), a few outages (timeouts or refused
// connections) and slow, degraded spells, and one stop of Lookout itself
// (no checks for 20 minutes: unknown time) in the whole history.
type fleetModel struct {
	seed     uint64
	interval time.Duration
	median   []float64       // µs
	offset   []time.Duration // each target's slot within its interval
	phase    []float64       // of its busy hours, in hours
	stopFrom time.Time
	stopTo   time.Time
}

func newFleetModel(seed uint64, n int, interval time.Duration, from, to time.Time) *fleetModel {
	r := rand.New(rand.NewPCG(seed, 0x5eed))
	m := &fleetModel{seed: seed, interval: interval, median: make([]float64, n),
		offset: make([]time.Duration, n), phase: make([]float64, n)}
	for i := range n {
		m.median[i] = 20e3 * math.Pow(15, r.Float64())
		m.offset[i] = time.Duration(r.Int64N(int64(interval)))
		m.phase[i] = r.Float64() * 6
	}
	m.stopFrom = from.Add(time.Duration(r.Int64N(int64(to.Sub(from))))).Truncate(time.Minute)
	m.stopTo = m.stopFrom.Add(20 * time.Minute)
	return m
}

// spell is a stretch of a day with one kind of trouble.
type spell struct{ from, to time.Time }

func (s spell) holds(t time.Time) bool { return !t.Before(s.from) && t.Before(s.to) }

// day appends target i's checks of the day starting at d to buf.
func (m *fleetModel) day(i int, d time.Time, buf []uptime.Point) []uptime.Point {
	r := rand.New(rand.NewPCG(m.seed^(uint64(i)+1)*0x9e3779b97f4a7c15, uint64(d.Unix())))
	var outage, slow spell
	timeouts := false
	if r.Float64() < 0.03 { // about one outage a month
		start := d.Add(time.Duration(r.Int64N(int64(23 * time.Hour))))
		outage = spell{start, start.Add(time.Duration((2 + r.ExpFloat64()*15) * float64(time.Minute)))}
		timeouts = r.IntN(2) == 0
	}
	if r.Float64() < 0.05 { // a slow spell every three weeks
		start := d.Add(time.Duration(r.Int64N(int64(22 * time.Hour))))
		slow = spell{start, start.Add(time.Duration((10 + r.ExpFloat64()*40) * float64(time.Minute)))}
	}
	med := m.median[i]
	for at := d.Add(m.offset[i]); at.Before(d.Add(24 * time.Hour)); at = at.Add(m.interval) {
		if !at.Before(m.stopFrom) && at.Before(m.stopTo) {
			continue // Lookout was not running
		}
		h := float64(at.Hour()) + float64(at.Minute())/60
		us := med * (1 + 0.3*math.Sin(2*math.Pi*(h+m.phase[i])/24)) * math.Exp(0.35*r.NormFloat64())
		if r.Float64() < 0.005 {
			us *= 3 + 7*r.Float64() // a spike
		}
		p := uptime.Point{At: at.Add(time.Duration(r.IntN(3)) * time.Millisecond), Status: uptime.StatusUp}
		switch {
		case outage.holds(at):
			p.Status = uptime.StatusDown
			us = 1e3 + r.Float64()*2e3
			if timeouts {
				us = 10e6
			}
		case slow.holds(at):
			p.Status = uptime.StatusDegraded
			us *= 4
		case r.Float64() < 0.0001:
			p.Status = uptime.StatusUnknown // a missed slot
		}
		p.Latency = time.Duration(min(us, 10e6)) * time.Microsecond
		buf = append(buf, p)
	}
	return buf
}
