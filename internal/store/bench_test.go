package store

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/lookout/lookout/internal/uptime"
)

// benchObs is a realistic stream: targets checked in turn every 30s,
// latencies spread over 5–500ms, one check in fifty failing with a message.
type benchObs struct {
	ids  []int64
	base time.Time
	rnd  *rand.Rand
	i    int
}

func newBenchObs(b *testing.B, e *env, targets int) *benchObs {
	ids := make([]int64, targets)
	for i := range ids {
		ids[i] = e.mustCreate(b, fmt.Sprintf("target-%03d", i), map[string]string{"team": "bench"}).ID
	}
	return &benchObs{ids: ids, base: e.clock.Now(), rnd: rand.New(rand.NewPCG(1, 2))}
}

func (g *benchObs) next() uptime.Observation {
	id := g.ids[g.i%len(g.ids)]
	round := g.i / len(g.ids)
	g.i++
	r := uptime.Result{
		TargetID: id,
		// A little jitter, as a real scheduler has.
		StartedAt: g.base.Add(time.Duration(round)*30*time.Second + time.Duration(g.rnd.IntN(2000))*time.Millisecond),
		Duration:  time.Duration(5000+g.rnd.IntN(495000)) * time.Microsecond,
		Status:    uptime.StatusUp,
		Code:      200,
	}
	if g.rnd.IntN(50) == 0 {
		r.Status, r.Code, r.ErrorClass, r.Error = uptime.StatusDown, 0, uptime.ClassRefused, "dial tcp 10.0.0.7:443: connect: connection refused"
	}
	s := uptime.State{Status: r.Status, LastCheck: r.StartedAt, LastResult: r.Status, ConsecutiveSuccesses: 1}
	return uptime.Observation{Result: r, State: s}
}

// BenchmarkRecord measures results per second through Record and Flush.
func BenchmarkRecord(b *testing.B) {
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			e := openEnv(b, be)
			g := newBenchObs(b, e, 100)
			obs := make([]uptime.Observation, b.N)
			for i := range obs {
				obs[i] = g.next()
			}
			recordAll(b, e, obs)
		})
	}
}

// recordAll times recording obs and flushing them, and reports rows/s.
func recordAll(b *testing.B, e *env, obs []uptime.Observation) {
	b.ResetTimer()
	for i := range obs {
		e.Record(obs[i])
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	if err := e.Flush(ctx); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	b.ReportMetric(float64(len(obs))/b.Elapsed().Seconds(), "rows/s")
}

// BenchmarkRecordFenced is BenchmarkRecord/postgres for an instance of a
// cluster: every observation carries its shard's lease epoch, which each
// batch checks before it writes states and events.
func BenchmarkRecordFenced(b *testing.B) {
	be := backends[slices.IndexFunc(backends, func(be backend) bool { return be.name == "postgres" })]
	e := openEnv(b, be, func(o *Options) { o.Instance = "bench" })
	l, err := e.Lease(bg, uptime.LeaseRequest{TTL: time.Hour})
	if err != nil {
		b.Fatal(err)
	}
	g := newBenchObs(b, e, 100)
	obs := make([]uptime.Observation, b.N)
	for i := range obs {
		obs[i] = g.next()
		obs[i].Epoch = l.Held[uptime.ShardOf(obs[i].Result.TargetID)]
	}
	recordAll(b, e, obs)
	if f := e.WriterStats().Fenced; f != 0 {
		b.Fatalf("%d writes refused under leases held", f)
	}
}

// BenchmarkBytesPerResult writes LOOKOUT_BENCH_ROWS results (default 200k)
// for 100 targets into a fresh SQLite file and reports its size per row.
// Run it with -benchtime=1x.
func BenchmarkBytesPerResult(b *testing.B) {
	rows := 200_000
	if v := os.Getenv("LOOKOUT_BENCH_ROWS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			b.Fatalf("LOOKOUT_BENCH_ROWS: %v", err)
		}
		rows = n
	}
	for range b.N {
		e := openEnv(b, backends[0])
		g := newBenchObs(b, e, 100)
		fatalIf(b, e.Close(), "close")
		// Measure the results alone: the size of the same file with the
		// targets and no results is subtracted.
		empty := fileSize(b, e.DB.path)

		db := e.open(b)
		start := time.Now()
		for range rows {
			db.Record(g.next())
		}
		fatalIf(b, db.Flush(context.Background()), "flush")
		elapsed := time.Since(start)
		// Closing the last connection checkpoints the WAL into the file.
		fatalIf(b, db.Close(), "close")
		size := fileSize(b, e.DB.path)
		b.ReportMetric(float64(size-empty)/float64(rows), "bytes/result")
		b.ReportMetric(float64(rows)/elapsed.Seconds(), "rows/s")
		b.ReportMetric(float64(size)/1e6, "MB")
	}
}

func fileSize(b *testing.B, path string) int64 {
	b.Helper()
	var total int64
	for _, p := range []string{path, path + "-wal"} {
		st, err := os.Stat(p)
		if os.IsNotExist(err) {
			continue
		}
		fatalIf(b, err, "stat")
		total += st.Size()
	}
	return total
}
