package scheduler

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/lookout/lookout/internal/testkit"
	"github.com/lookout/lookout/internal/uptime"
)

// BenchmarkFire measures the scheduler's own cost per fire at 100k targets:
// pop the earliest slot off the heap, run the check path (a no-op prober,
// State.Next, a no-op recorder) and push the next slot back, on one
// goroutine, with the clock moved to each slot.
func BenchmarkFire(b *testing.B) {
	const n = 100_000
	clk := testkit.NewClock(t0)
	s := New(nopProber{}, nopRecorder{}, Config{Now: clk.Now})
	for i := range n {
		s.Upsert(uptime.Target{ID: int64(i + 1), Name: fmt.Sprintf("target-%06d", i), Interval: uptime.Duration(10 * time.Second), FailureThreshold: 3, SuccessThreshold: 1})
	}
	ctx := context.Background()
	// Thread CPU time, not wall time: it stays meaningful on a busy machine.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := threadCPUTime()
	for b.Loop() {
		clk.Set(time.Unix(0, s.queue[0].due))
		e, _ := s.popDue(s.queue[0].due)
		s.runScheduled(ctx, ctx, e)
	}
	b.ReportMetric(float64((threadCPUTime()-cpu0).Nanoseconds())/1000/float64(b.N), "cpu-µs/fire")
}

// BenchmarkFireRun measures the whole path under Run, in real time: the
// dispatcher's timer, the hand-off to the worker pool over a channel, the
// check path. 100k targets every 2 s make 50k fires/s, so ns/op is the
// arrival rate; cpu-µs/fire (process CPU time per fire, every goroutine
// included) is the figure to read.
func BenchmarkFireRun(b *testing.B) {
	const n = 100_000
	s := New(nopProber{}, nopRecorder{}, Config{})
	for i := range n {
		s.Upsert(uptime.Target{ID: int64(i + 1), Name: fmt.Sprintf("target-%06d", i), Interval: uptime.Duration(2 * time.Second), FailureThreshold: 3, SuccessThreshold: 1})
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = s.Run(ctx); close(done) }()
	time.Sleep(2100 * time.Millisecond) // warm up: every target has fired once

	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuTime()
	c0, m0 := s.checks.Load(), s.missedTotal()
	for s.checks.Load()+s.missedTotal()-c0-m0 < uint64(b.N) {
		time.Sleep(time.Millisecond)
	}
	fires := s.checks.Load() + s.missedTotal() - c0 - m0
	cpu := cpuTime() - cpu0
	b.StopTimer()
	cancel()
	<-done
	b.ReportMetric(float64(cpu.Microseconds())/float64(fires), "cpu-µs/fire")
	b.ReportMetric(float64(s.missedTotal()-m0)*100/float64(fires), "%missed")
}

// BenchmarkSustain runs the scheduler in real time for 15 s with checks that
// wait 20 ms on "I/O", and reports the share of slots that ran and the start
// lateness percentiles. Run it alone, on the target machine:
//
//	go test -run '^$' -bench Sustain -benchtime 1x ./internal/scheduler/
func BenchmarkSustain(b *testing.B) {
	for _, n := range []int{10_000, 100_000} {
		b.Run(fmt.Sprintf("targets=%d", n), func(b *testing.B) {
			for b.Loop() {
				sustain(b, n, 10*time.Second, 15*time.Second)
			}
		})
	}
}

func sustain(b *testing.B, n int, every, window time.Duration) {
	var mu sync.Mutex
	lates := make([]time.Duration, 0, n*int(window/every+1))
	s := New(sleepProber(20*time.Millisecond), nopRecorder{}, Config{OnStart: func(d time.Duration) {
		mu.Lock()
		lates = append(lates, d)
		mu.Unlock()
	}})
	for i := range n {
		s.Upsert(uptime.Target{ID: int64(i + 1), Name: fmt.Sprintf("target-%06d", i), Interval: uptime.Duration(every), FailureThreshold: 3, SuccessThreshold: 1})
	}
	ctx, cancel := context.WithTimeout(context.Background(), window)
	defer cancel()
	cpu0 := cpuTime()
	_ = s.Run(ctx)
	cpu := cpuTime() - cpu0

	st := s.Stats()
	mu.Lock()
	defer mu.Unlock()
	slices.Sort(lates)
	pct := func(p float64) float64 {
		if len(lates) == 0 {
			return 0
		}
		return float64(lates[int(float64(len(lates)-1)*p)].Microseconds()) / 1000
	}
	b.ReportMetric(float64(st.Checks)*100/float64(st.Checks+st.Missed), "%ran")
	b.ReportMetric(pct(0.50), "p50-late-ms")
	b.ReportMetric(pct(0.99), "p99-late-ms")
	b.ReportMetric(pct(1), "max-late-ms")
	b.ReportMetric(float64(cpu.Microseconds())/float64(max(st.Checks, 1)), "cpu-µs/check")
}

type sleepProber time.Duration

func (d sleepProber) Check(context.Context, uptime.Target) uptime.Result {
	time.Sleep(time.Duration(d))
	return uptime.Result{Status: uptime.StatusUp, Duration: time.Duration(d)}
}

// cpuTime is the process's user and system CPU time so far.
func cpuTime() time.Duration { return rusage(syscall.RUSAGE_SELF) }

// threadCPUTime is the calling thread's CPU time so far (Linux).
func threadCPUTime() time.Duration { return rusage(1) } // RUSAGE_THREAD

func rusage(who int) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(who, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkTargets is the copy /metrics makes for the per-target series
// (--metrics-targets), at 10,000 targets.
func BenchmarkTargets(b *testing.B) {
	s, _, _, _ := fixture(Config{})
	for i := range 10_000 {
		s.Upsert(target(int64(i+1), fmt.Sprintf("svc-%05d", i), 10*time.Second))
	}
	b.ReportAllocs()
	for b.Loop() {
		if len(s.Targets()) != 10_000 {
			b.Fatal("targets lost")
		}
	}
}
