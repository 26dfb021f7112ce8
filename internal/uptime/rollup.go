package uptime

import (
	"fmt"
	"time"
)

// Resolution is the width of a rollup bucket. The numeric values are
// stored; never renumber them.
type Resolution uint8

// The rollup resolutions. Buckets are aligned to UTC.
const (
	Minute Resolution = 0
	Hour   Resolution = 1
	Day    Resolution = 2
)

// Duration is the width of a bucket.
func (r Resolution) Duration() time.Duration {
	switch r {
	case Hour:
		return time.Hour
	case Day:
		return 24 * time.Hour
	}
	return time.Minute
}

// String is "minute", "hour" or "day".
func (r Resolution) String() string {
	switch r {
	case Minute:
		return "minute"
	case Hour:
		return "hour"
	case Day:
		return "day"
	}
	return fmt.Sprintf("resolution(%d)", uint8(r))
}

// Bucket is the start of the bucket holding t.
func (r Resolution) Bucket(t time.Time) time.Time { return t.UTC().Truncate(r.Duration()) }

// Point is one check as history sees it: when it started, its verdict and
// how long it took.
type Point struct {
	At      time.Time
	Status  Status
	Latency time.Duration
}

// Tally is what a stretch of history adds up to: the checks counted by
// verdict, time weighted by status, and their latencies. A rollup is the
// tally of one bucket; an uptime or trend query merges tallies.
//
// Time is weighted as follows. A check's status holds from the check until
// the next one, for at most maxGap (about two intervals); beyond that the
// time is unknown: no check vouched for it (Lookout was not running, or
// the checks stopped coming). Time inside a paused span is Paused and time
// inside a maintenance window is Maintenance, whatever the status; neither
// counts as up, down or unknown. Time before the first check is not
// observed at all.
type Tally struct {
	// Checks by verdict.
	Up, Degraded, Down, Unknown int
	// Time by status, and the time excluded from availability.
	UpTime, DegradedTime, DownTime, UnknownTime time.Duration
	MaintenanceTime, PausedTime                 time.Duration
	// Latency of the checks with a verdict (not unknown).
	LatencyMin, LatencyMax, LatencySum time.Duration
	Latency                            Histogram
}

// Checks is the number of checks counted.
func (t *Tally) Checks() int { return t.Up + t.Degraded + t.Down + t.Unknown }

// Failures is the number of failed checks.
func (t *Tally) Failures() int { return t.Down }

// Known is the time whose status is known: up, degraded or down.
func (t *Tally) Known() time.Duration { return t.UpTime + t.DegradedTime + t.DownTime }

// Observed is all the time the tally covers.
func (t *Tally) Observed() time.Duration {
	return t.Known() + t.UnknownTime + t.MaintenanceTime + t.PausedTime
}

// Availability is (up + degraded) / (up + degraded + down) time, and false
// when no time has a known status (no data is not "always down").
func (t *Tally) Availability() (float64, bool) {
	k := t.Known()
	if k <= 0 {
		return 0, false
	}
	return float64(t.UpTime+t.DegradedTime) / float64(k), true
}

// Uptime is the tally's time as the uptime of the window [from, to).
func (t *Tally) Uptime(from, to time.Time) Uptime {
	u := Uptime{From: from, To: to, Observed: t.Observed(), Up: t.UpTime, Degraded: t.DegradedTime,
		Down: t.DownTime, Unknown: t.UnknownTime, Maintenance: t.MaintenanceTime, Paused: t.PausedTime}
	u.Ratio, _ = t.Availability()
	return u
}

// LatencyMean is the mean latency of the checks with a verdict, 0 when none.
func (t *Tally) LatencyMean() time.Duration {
	n := t.Latency.Count()
	if n == 0 {
		return 0
	}
	return t.LatencySum / time.Duration(n)
}

// LatencyQuantile is the q-quantile of the latencies (see Histogram),
// clamped to the smallest and largest latency, which are exact.
func (t *Tally) LatencyQuantile(q float64) time.Duration {
	if t.Latency.Count() == 0 {
		return 0
	}
	return min(max(t.Latency.Quantile(q), t.LatencyMin), t.LatencyMax)
}

// Merge adds o to t.
func (t *Tally) Merge(o *Tally) {
	t.Up += o.Up
	t.Degraded += o.Degraded
	t.Down += o.Down
	t.Unknown += o.Unknown
	t.UpTime += o.UpTime
	t.DegradedTime += o.DegradedTime
	t.DownTime += o.DownTime
	t.UnknownTime += o.UnknownTime
	t.MaintenanceTime += o.MaintenanceTime
	t.PausedTime += o.PausedTime
	if o.Latency.Count() > 0 {
		if t.Latency.Count() == 0 || o.LatencyMin < t.LatencyMin {
			t.LatencyMin = o.LatencyMin
		}
		t.LatencyMax = max(t.LatencyMax, o.LatencyMax)
		t.LatencySum += o.LatencySum
		t.Latency.Merge(&o.Latency)
	}
}

// Brief is the glance at a stretch of history that a strip of days or an
// uptime figure needs: the time up (degraded included), the time down and
// the number of checks; no latencies. It is a few words where a Tally is
// over 2 KiB, and reading it takes a few columns of a rollup, not all.
type Brief struct {
	// Start is the bucket's start, for a Brief of one bucket.
	Start    time.Time
	Up, Down time.Duration
	Checks   int
}

// Brief is t at a glance.
func (t *Tally) Brief() Brief {
	return Brief{Up: t.UpTime + t.DegradedTime, Down: t.DownTime, Checks: t.Checks()}
}

// Availability is as Tally's: up / (up + down) time, and false when no
// time has a known status.
func (b *Brief) Availability() (float64, bool) {
	k := b.Up + b.Down
	if k <= 0 {
		return 0, false
	}
	return float64(b.Up) / float64(k), true
}

// Merge adds o to b (Start is b's).
func (b *Brief) Merge(o *Brief) {
	b.Up += o.Up
	b.Down += o.Down
	b.Checks += o.Checks
}

// AddCheck counts one check (not the time it vouches for).
func (t *Tally) AddCheck(p Point) {
	switch p.Status {
	case StatusUp:
		t.Up++
	case StatusDegraded:
		t.Degraded++
	case StatusDown:
		t.Down++
	default:
		t.Unknown++
		return
	}
	if t.Latency.Count() == 0 || p.Latency < t.LatencyMin {
		t.LatencyMin = p.Latency
	}
	t.LatencyMax = max(t.LatencyMax, p.Latency)
	t.LatencySum += p.Latency
	t.Latency.Add(p.Latency)
}

// AddSpan counts the time [from, to) after a check of status st made at
// at: st holds until at+maxGap (no limit when maxGap is 0), unknown after.
// Time inside paused or maintenance (sorted, non-overlapping; see
// MergeIntervals) is counted there instead, paused first.
func (t *Tally) AddSpan(st Status, at, from, to time.Time, maxGap time.Duration, maint, paused []Interval) {
	if !from.Before(to) {
		return
	}
	held := to
	if maxGap > 0 && at.Add(maxGap).Before(held) {
		held = at.Add(maxGap)
	}
	t.addTime(st, from, earlier(held, to), maint, paused)
	t.addTime(StatusUnknown, later(held, from), to, maint, paused)
}

func (t *Tally) addTime(st Status, from, to time.Time, maint, paused []Interval) {
	if !from.Before(to) {
		return
	}
	p := covered(paused, from, to, nil)
	m := covered(maint, from, to, paused)
	rest := to.Sub(from) - p - m
	t.PausedTime += p
	t.MaintenanceTime += m
	switch st {
	case StatusUp:
		t.UpTime += rest
	case StatusDegraded:
		t.DegradedTime += rest
	case StatusDown:
		t.DownTime += rest
	default:
		t.UnknownTime += rest
	}
}

// covered is how much of [from, to) the intervals cover, leaving out what
// the intervals of except cover too. Both are sorted and non-overlapping.
func covered(ivs []Interval, from, to time.Time, except []Interval) time.Duration {
	var d time.Duration
	for _, iv := range ivs {
		if !iv.From.Before(to) {
			break
		}
		lo, hi := later(iv.From, from), earlier(iv.To, to)
		if !lo.Before(hi) {
			continue
		}
		d += hi.Sub(lo) - covered(except, lo, hi, nil)
	}
	return d
}

// Rollup is the tally of one series (a target or one of its components)
// over one bucket [Start, Start+Resolution).
type Rollup struct {
	Start time.Time
	Tally
}

// RollUp adds a series' checks to minute rollups. prev is the series' last
// check before points (zero At when there is none: the series starts at
// points[0]); points are sorted by time and all after prev. The stretch
// between two checks is counted in the bucket of the check that ends it,
// weighted as Tally says, so that a bucket is final once a check after it
// was seen and rollups never need rewriting. It returns the rollups in
// bucket order and the last check, the prev of the next call.
func RollUp(prev Point, points []Point, maxGap time.Duration, maint, paused []Interval) ([]Rollup, Point) {
	return RollUpBy(Minute, prev, points, maxGap, maint, paused)
}

// RollUpBy is RollUp into buckets of res: the same as the minute rollups
// coarsened to res, without making them.
func RollUpBy(res Resolution, prev Point, points []Point, maxGap time.Duration, maint, paused []Interval) ([]Rollup, Point) {
	var out []Rollup
	if n := len(points); n > 0 {
		// At most a bucket a point and one a bucket's width: a rollup is
		// over 2 KiB, not to be copied as the slice grows.
		buckets := int(res.Bucket(points[n-1].At).Sub(res.Bucket(points[0].At))/res.Duration()) + 1
		out = make([]Rollup, 0, min(n, buckets))
	}
	for _, p := range points {
		start := res.Bucket(p.At)
		if n := len(out); n == 0 || !out[n-1].Start.Equal(start) {
			out = append(out, Rollup{Start: start})
		}
		r := &out[len(out)-1]
		if !prev.At.IsZero() {
			r.AddSpan(prev.Status, prev.At, prev.At, p.At, maxGap, maint, paused)
		}
		r.AddCheck(p)
		prev = p
	}
	return out, prev
}

// Coarsen merges rollups (of one series, sorted by Start) into buckets of
// res: minute rollups into hours, hours into days.
func Coarsen(rs []Rollup, res Resolution) []Rollup { return AppendCoarse(nil, rs, res) }

// AppendCoarse is Coarsen of rs appended to dst, the coarser rollups of
// the same series before them: rs' first bucket is merged into dst's last
// when they are the same.
func AppendCoarse(dst, rs []Rollup, res Resolution) []Rollup {
	for i := range rs {
		start := res.Bucket(rs[i].Start)
		if n := len(dst); n == 0 || !dst[n-1].Start.Equal(start) {
			dst = append(dst, Rollup{Start: start})
		}
		dst[len(dst)-1].Merge(&rs[i].Tally)
	}
	return dst
}

func earlier(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// MergeIntervals sorts intervals and joins those that overlap or touch, so
// that no time is counted twice; empty ones are dropped.
func MergeIntervals(in []Interval) []Interval { return mergeIntervals(in) }
