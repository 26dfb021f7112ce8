package scheduler

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/lookout/lookout/internal/testkit"
	"github.com/lookout/lookout/internal/uptime"
)

type nopProber struct{}

func (nopProber) Check(context.Context, uptime.Target) uptime.Result {
	return uptime.Result{Status: uptime.StatusUp}
}

type nopRecorder struct{}

func (nopRecorder) Record(uptime.Observation) {}

// fakeProber is an in-memory Prober: it records each call, tracks how many
// checks of each target run at once, and can hold checks until released.
type fakeProber struct {
	// status gives each check's verdict; nil means up.
	status func(t uptime.Target, n int) uptime.Status
	// hold, when set, makes each check wait for a token (or a close).
	hold chan struct{}
	// started, when set, receives each check's target id as it starts.
	started chan int64
	// clock stamps the calls; nil means time.Now.
	clock func() time.Time

	mu         sync.Mutex
	calls      map[int64][]time.Time
	running    map[int64]int
	maxRunning map[int64]int
}

func newFakeProber() *fakeProber {
	return &fakeProber{calls: map[int64][]time.Time{}, running: map[int64]int{}, maxRunning: map[int64]int{}}
}

func (p *fakeProber) Check(_ context.Context, t uptime.Target) uptime.Result {
	start := time.Now()
	if p.clock != nil {
		start = p.clock()
	}
	p.mu.Lock()
	p.calls[t.ID] = append(p.calls[t.ID], start)
	n := len(p.calls[t.ID])
	p.running[t.ID]++
	p.maxRunning[t.ID] = max(p.maxRunning[t.ID], p.running[t.ID])
	p.mu.Unlock()
	if p.started != nil {
		p.started <- t.ID
	}
	if p.hold != nil {
		<-p.hold
	}
	p.mu.Lock()
	p.running[t.ID]--
	p.mu.Unlock()

	r := uptime.Result{TargetID: t.ID, Target: t.Name, StartedAt: start, Duration: 3 * time.Millisecond, Status: uptime.StatusUp, Code: 200}
	if p.status != nil {
		r.Status = p.status(t, n)
	}
	if r.Status == uptime.StatusDown {
		r.Fail(uptime.ClassStatus, "status 503")
		r.Code = 503
	}
	return r
}

func (p *fakeProber) count(id int64) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.calls[id])
}

func (p *fakeProber) times(id int64) []time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]time.Time(nil), p.calls[id]...)
}

func (p *fakeProber) total() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, c := range p.calls {
		n += len(c)
	}
	return n
}

func (p *fakeProber) maxConcurrent(id int64) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.maxRunning[id]
}

// fakeRecorder keeps every observation.
type fakeRecorder struct {
	mu  sync.Mutex
	obs []uptime.Observation
}

func (r *fakeRecorder) Record(o uptime.Observation) {
	r.mu.Lock()
	r.obs = append(r.obs, o)
	r.mu.Unlock()
}

func (r *fakeRecorder) all() []uptime.Observation {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]uptime.Observation(nil), r.obs...)
}

func (r *fakeRecorder) of(id int64) []uptime.Observation {
	var out []uptime.Observation
	for _, o := range r.all() {
		if o.Result.TargetID == id {
			out = append(out, o)
		}
	}
	return out
}

// simulate runs the scheduler's dispatch path on the fake clock, event by
// event, until end: it moves the clock to the earliest slot, pops what is due
// and runs it to completion, as a worker would, without real time passing.
func simulate(t *testing.T, s *Scheduler, clk *testkit.Clock, end time.Time) {
	t.Helper()
	ctx := context.Background()
	for {
		s.mu.Lock()
		if len(s.queue) == 0 || s.queue[0].due > end.UnixNano() {
			s.mu.Unlock()
			clk.Set(end)
			return
		}
		next := s.queue[0].due
		s.mu.Unlock()
		if next > clk.Now().UnixNano() {
			clk.Set(time.Unix(0, next).UTC())
		}
		e, _ := s.popDue(clk.Now().UnixNano())
		if e == nil {
			t.Fatal("simulate: nothing due at the earliest slot")
		}
		s.runScheduled(ctx, ctx, e)
	}
}

func target(id int64, name string, every time.Duration) uptime.Target {
	t := uptime.Target{ID: id, Name: name, URL: "http://" + name, Interval: uptime.Duration(every)}
	t.Normalize()
	return t
}

// wakeAt moves clk to at and wakes the dispatcher of a running s, as its
// timer would when a slot comes: on a fake clock the dispatcher otherwise
// sleeps on a real timer and finds the clock where it was.
func wakeAt(s *Scheduler, clk *testkit.Clock, at time.Time) {
	clk.Set(at)
	select {
	case s.wake <- struct{}{}:
	default: // a wake-up is pending already; it reads the clock after this
	}
}

// settle waits until the dispatcher of a running s has turned at the
// clock's time and every check due by then has run: nothing due is left in
// the queue or on its way to a worker, and no scheduled check holds its
// target.
func settle(t *testing.T, s *Scheduler, clk *testkit.Clock) {
	t.Helper()
	now := clk.Now().UnixNano()
	testkit.WaitFor(t, func() bool {
		if s.lastTurn.Load() < now || s.pending.Load() != nil {
			return false
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		if len(s.queue) > 0 && s.queue[0].due <= now {
			return false
		}
		for _, e := range s.targets {
			if e.running {
				return false
			}
		}
		return true
	}, func() string {
		return fmt.Sprintf("the checks due at %s to run: %+v", clk.Now().Format(time.TimeOnly+".000"), s.Stats())
	})
}

// drive runs a running s on its fake clock up to end: it moves the clock to
// each slot in turn, wakes the dispatcher and waits for what is due to run,
// so that Run's own loop and workers do the work, without real time passing.
func drive(t *testing.T, s *Scheduler, clk *testkit.Clock, end time.Time) {
	t.Helper()
	for {
		settle(t, s, clk)
		next := end
		s.mu.Lock()
		if len(s.queue) > 0 && s.queue[0].due < end.UnixNano() {
			next = time.Unix(0, s.queue[0].due).UTC()
		}
		s.mu.Unlock()
		wakeAt(s, clk, next)
		if next.Equal(end) {
			settle(t, s, clk)
			return
		}
	}
}
