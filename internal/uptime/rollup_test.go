package uptime

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var r0 = time.Date(2026, 5, 4, 10, 0, 0, 0, time.UTC)

// checks builds points every step from r0 with the given statuses, each
// taking 20ms.
func checks(step time.Duration, sts ...Status) []Point {
	out := make([]Point, len(sts))
	for i, st := range sts {
		out[i] = Point{At: r0.Add(time.Duration(i) * step), Status: st, Latency: 20 * time.Millisecond}
	}
	return out
}

// total rolls points up in one go and merges every bucket.
func total(points []Point, maxGap time.Duration, maint, paused []Interval) Tally {
	rs, _ := RollUp(Point{}, points, maxGap, MergeIntervals(maint), MergeIntervals(paused))
	var t Tally
	for i := range rs {
		t.Merge(&rs[i].Tally)
	}
	return t
}

// TestAccountingRules has a case per rule of how uptime is counted.
func TestAccountingRules(t *testing.T) {
	const U, D, G, X = StatusUp, StatusDown, StatusDegraded, StatusUnknown
	type times struct{ Up, Degraded, Down, Unknown, Maint, Paused time.Duration }
	for _, tc := range []struct {
		name   string
		points []Point
		maxGap time.Duration
		maint  []Interval
		paused []Interval
		want   times
	}{{
		name:   "an outage counts from its first failing check to the recovery",
		points: checks(time.Minute, U, U, D, D, D, U),
		maxGap: 2 * time.Minute,
		want:   times{Up: 2 * time.Minute, Down: 3 * time.Minute},
	}, {
		name: "a 5-minute outage costs 5 minutes whatever the interval",
		points: append(checks(10*time.Second, U), append(
			[]Point{{At: r0.Add(10 * time.Second), Status: D}},
			Point{At: r0.Add(10*time.Second + 5*time.Minute), Status: U})...),
		maxGap: 10 * time.Minute,
		want:   times{Up: 10 * time.Second, Down: 5 * time.Minute},
	}, {
		name:   "degraded is available, counted apart",
		points: checks(time.Minute, U, G, G, U),
		maxGap: 2 * time.Minute,
		want:   times{Up: time.Minute, Degraded: 2 * time.Minute},
	}, {
		name:   "a gap longer than maxGap is unknown: Lookout was not running",
		points: []Point{{At: r0, Status: U}, {At: r0.Add(10 * time.Minute), Status: U}},
		maxGap: 2 * time.Minute,
		want:   times{Up: 2 * time.Minute, Unknown: 8 * time.Minute},
	}, {
		name:   "an unknown verdict holds unknown time",
		points: checks(time.Minute, U, X, U),
		maxGap: 2 * time.Minute,
		want:   times{Up: time.Minute, Unknown: time.Minute},
	}, {
		name:   "maintenance is excluded, whatever the status",
		points: checks(time.Minute, U, D, D, D, U),
		maxGap: 2 * time.Minute,
		maint:  []Interval{{r0.Add(90 * time.Second), r0.Add(3 * time.Minute)}},
		want:   times{Up: time.Minute, Down: 90 * time.Second, Maint: 90 * time.Second},
	}, {
		name:   "paused time is excluded, also past maxGap",
		points: []Point{{At: r0, Status: U}, {At: r0.Add(time.Hour), Status: U}},
		maxGap: 2 * time.Minute,
		paused: []Interval{{r0.Add(time.Minute), r0.Add(time.Hour - 10*time.Second)}},
		want:   times{Up: time.Minute, Paused: time.Hour - 70*time.Second, Unknown: 10 * time.Second},
	}, {
		name:   "paused wins over maintenance",
		points: checks(time.Minute, D, D),
		maxGap: 2 * time.Minute,
		maint:  []Interval{{r0, r0.Add(time.Minute)}},
		paused: []Interval{{r0.Add(30 * time.Second), r0.Add(time.Minute)}},
		want:   times{Maint: 30 * time.Second, Paused: 30 * time.Second},
	}, {
		name:   "time before the first check is not observed",
		points: checks(time.Minute, D),
		maxGap: 2 * time.Minute,
	}} {
		t.Run(tc.name, func(t *testing.T) {
			got := total(tc.points, tc.maxGap, tc.maint, tc.paused)
			if diff := cmp.Diff(tc.want, times{got.UpTime, got.DegradedTime, got.DownTime, got.UnknownTime,
				got.MaintenanceTime, got.PausedTime}); diff != "" {
				t.Errorf("times (-want +got):\n%s", diff)
			}
			if got.Checks() != len(tc.points) {
				t.Errorf("%d checks counted, want %d", got.Checks(), len(tc.points))
			}
		})
	}
}

func TestAvailability(t *testing.T) {
	var empty Tally
	if _, ok := empty.Availability(); ok {
		t.Error("no data reads as an availability")
	}
	got := total(checks(time.Minute, StatusUp, StatusUp, StatusDown, StatusUp), 2*time.Minute, nil, nil)
	if a, ok := got.Availability(); !ok || a != 2.0/3 {
		t.Errorf("availability %v %v, want 2/3", a, ok)
	}
}

// TestRollUpBuckets: the stretch between two checks counts in the bucket
// of the check that ends it, so a bucket is final once a later check came.
func TestRollUpBuckets(t *testing.T) {
	pts := checks(40*time.Second, StatusUp, StatusDown, StatusUp) // 10:00:00, 10:00:40, 10:01:20
	rs, last := RollUp(Point{}, pts, 2*time.Minute, nil, nil)
	if len(rs) != 2 || !rs[0].Start.Equal(r0) || !rs[1].Start.Equal(r0.Add(time.Minute)) {
		t.Fatalf("buckets %+v", rs)
	}
	if rs[0].Up != 1 || rs[0].Down != 1 || rs[0].UpTime != 40*time.Second || rs[0].DownTime != 0 {
		t.Errorf("first minute %+v", rs[0].Tally)
	}
	if rs[1].Up != 1 || rs[1].DownTime != 40*time.Second {
		t.Errorf("second minute %+v", rs[1].Tally)
	}
	if last != pts[2] {
		t.Errorf("last %+v", last)
	}
}

// TestRollUpInPieces is a property test: rolling a series up in pieces,
// each call handed the last check of the one before, gives the same
// totals as one call, and coarsening to hours and days keeps them.
func TestRollUpInPieces(t *testing.T) {
	for seed := range uint64(30) {
		r := rand.New(rand.NewPCG(seed, 1))
		var pts []Point
		at := r0
		for range 500 {
			at = at.Add(time.Duration(1+r.IntN(300)) * time.Second)
			pts = append(pts, Point{At: at, Status: Status(r.IntN(4)), Latency: time.Duration(r.IntN(1e9))})
		}
		maint := MergeIntervals([]Interval{{r0.Add(time.Hour), r0.Add(2 * time.Hour)}, {r0.Add(10 * time.Hour), r0.Add(10*time.Hour + 7*time.Minute)}})
		paused := MergeIntervals([]Interval{{r0.Add(90 * time.Minute), r0.Add(3 * time.Hour)}})
		whole := total(pts, 3*time.Minute, maint, paused)

		var pieces Tally
		var minutes []Rollup
		prev := Point{}
		for len(pts) > 0 {
			n := min(len(pts), 1+r.IntN(40))
			var rs []Rollup
			rs, prev = RollUp(prev, pts[:n], 3*time.Minute, maint, paused)
			// A piece may end inside a bucket the next one continues.
			if len(minutes) > 0 && len(rs) > 0 && minutes[len(minutes)-1].Start.Equal(rs[0].Start) {
				minutes[len(minutes)-1].Merge(&rs[0].Tally)
				rs = rs[1:]
			}
			minutes = append(minutes, rs...)
			pts = pts[n:]
		}
		for i := range minutes {
			pieces.Merge(&minutes[i].Tally)
		}
		if diff := cmp.Diff(whole, pieces); diff != "" {
			t.Fatalf("seed %d: pieces differ from one call (-whole +pieces):\n%s", seed, diff)
		}
		for _, res := range []Resolution{Hour, Day} {
			var coarse Tally
			rs := Coarsen(minutes, res)
			for i := range rs {
				if !rs[i].Start.Equal(res.Bucket(rs[i].Start)) {
					t.Errorf("%s bucket %v not aligned", res, rs[i].Start)
				}
				coarse.Merge(&rs[i].Tally)
			}
			if diff := cmp.Diff(whole, coarse); diff != "" {
				t.Fatalf("seed %d: %s rollups differ (-whole +coarse):\n%s", seed, res, diff)
			}
		}
	}
}

// The Briefs of rollups add up to their sum's Brief, with its availability.
func TestBrief(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 9))
	sts := make([]Status, 400)
	for i := range sts {
		sts[i] = Status(rng.IntN(4))
	}
	rs, _ := RollUp(Point{}, checks(17*time.Second, sts...), time.Minute, nil, nil)
	var sum Tally
	var brief Brief
	for i := range rs {
		sum.Merge(&rs[i].Tally)
		b := rs[i].Brief()
		brief.Merge(&b)
	}
	if brief != sum.Brief() || brief.Checks != 400 || brief.Up != sum.UpTime+sum.DegradedTime || brief.Down != sum.DownTime {
		t.Errorf("briefs add up to %+v, the sum's is %+v", brief, sum.Brief())
	}
	a, ok := sum.Availability()
	if b, bok := brief.Availability(); a != b || !ok || !bok {
		t.Errorf("availability %v %v, the Brief's %v %v", a, ok, b, bok)
	}
	var none Brief
	if _, ok := none.Availability(); ok {
		t.Errorf("an empty Brief has an availability")
	}
}
