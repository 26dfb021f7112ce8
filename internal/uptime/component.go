package uptime

import (
	"encoding/json"
	"slices"
	"time"
)

// Limits on what is kept of a reported component. Longer names are cut
// (and a result's components are then unique by the cut name), longer
// units and outputs are cut too.
const (
	MaxComponentNameLen = 200
	MaxComponentUnitLen = 32
	// MaxComponents is the most components kept of one result, the
	// health-document parsers' own cap.
	MaxComponents = 1000
)

// ComponentState is the latest known state of one component of a target,
// as its health documents reported it.
type ComponentState struct {
	Name   string `json:"name"`
	Status Status `json:"status"`
	// Since is when the component entered Status: the first check that
	// reported it, after a check that reported another status.
	Since time.Time `json:"since"`
	// LastSeen is the last check that reported the component at all. A
	// component a service stopped reporting keeps its last state, and
	// LastSeen says how old it is.
	LastSeen time.Time `json:"last_seen"`
	Observed float64   `json:"observed"`
	Unit     string    `json:"unit"`
	Output   string    `json:"output"`
}

// ComponentPoint is one check's verdict on one component.
type ComponentPoint struct {
	At       time.Time `json:"at"`
	Status   Status    `json:"status"`
	Observed float64   `json:"observed"`
}

// Uptime is time-weighted availability over the window [From, To).
//
// Observed is the part of the window after the first check: time before
// it is not counted at all. Observed is split into Up, Degraded, Down and
// Unknown. Unknown is time when no check vouched for the status (Lookout
// was not running, or the checks stopped coming) and checks whose verdict
// was unknown; it is excluded from Ratio.
type Uptime struct {
	From, To                              time.Time
	Observed, Up, Degraded, Down, Unknown time.Duration
	// Maintenance is observed time inside maintenance windows: it counts
	// toward none of Up, Degraded, Down or Unknown, so not in Ratio.
	Maintenance time.Duration
	// Ratio is (Up+Degraded)/(Up+Degraded+Down), or 0 when that sum is
	// zero (see Known).
	Ratio float64
}

// Known is the observed time whose status is known: Up+Degraded+Down.
// Ratio means nothing when it is zero.
func (u Uptime) Known() time.Duration { return u.Up + u.Degraded + u.Down }

// MarshalJSON writes times in RFC 3339 UTC and durations as Go duration
// strings ("23h59m30s"). ratio is null when no time in the window has a
// known status, so that "no data" never reads as "always down".
func (u Uptime) MarshalJSON() ([]byte, error) {
	var ratio *float64
	if u.Known() > 0 {
		ratio = &u.Ratio
	}
	return json.Marshal(struct {
		From     time.Time `json:"from"`
		To       time.Time `json:"to"`
		Observed Duration  `json:"observed"`
		Up       Duration  `json:"up"`
		Degraded Duration  `json:"degraded"`
		Down     Duration  `json:"down"`
		Unknown  Duration  `json:"unknown"`
		Maint    Duration  `json:"maintenance"`
		Ratio    *float64  `json:"ratio"`
	}{u.From.UTC(), u.To.UTC(), Duration(u.Observed), Duration(u.Up), Duration(u.Degraded),
		Duration(u.Down), Duration(u.Unknown), Duration(u.Maintenance), ratio})
}

// TimeWeighted computes the uptime over [from, to) of points sorted oldest
// first. Each point's status holds until the next point, but for at most
// maxGap (callers pass about twice the check interval; 0 means no limit):
// beyond that the time is unknown, since no check vouched for it. Time
// before the first point is not observed. Points may start before from
// (the last one before from carries its status into the window) and
// points at or after to are ignored. Time inside the exclude windows
// (maintenance) is counted as Maintenance instead of its status.
func TimeWeighted(points []ComponentPoint, from, to time.Time, maxGap time.Duration, exclude ...Interval) Uptime {
	u := Uptime{From: from, To: to}
	exclude = mergeIntervals(exclude)
	// add counts [a, b) ∩ [from, to) toward *into, less its maintenance.
	add := func(into *time.Duration, a, b time.Time) {
		d := overlap(a, b, from, to)
		var m time.Duration
		for _, iv := range exclude {
			lo, hi := a, b
			if iv.From.After(lo) {
				lo = iv.From
			}
			if iv.To.Before(hi) {
				hi = iv.To
			}
			m += overlap(lo, hi, from, to)
		}
		*into += d - m
		u.Maintenance += m
	}
	if len(points) == 0 || !from.Before(to) {
		return u
	}
	start := points[0].At
	if start.Before(from) {
		start = from
	}
	if !start.Before(to) {
		return u
	}
	u.Observed = to.Sub(start)
	for i, p := range points {
		if !p.At.Before(to) {
			break
		}
		end := to
		if i+1 < len(points) && points[i+1].At.Before(to) {
			end = points[i+1].At
		}
		held := end
		if maxGap > 0 && p.At.Add(maxGap).Before(held) {
			held = p.At.Add(maxGap)
		}
		switch p.Status {
		case StatusUp:
			add(&u.Up, p.At, held)
		case StatusDegraded:
			add(&u.Degraded, p.At, held)
		case StatusDown:
			add(&u.Down, p.At, held)
		default:
			add(&u.Unknown, p.At, held)
		}
		add(&u.Unknown, held, end)
	}
	if k := u.Known(); k > 0 {
		u.Ratio = float64(u.Up+u.Degraded) / float64(k)
	}
	return u
}

// Interval is a span of time [From, To).
type Interval struct{ From, To time.Time }

// mergeIntervals sorts intervals and joins those that overlap or touch, so
// that no time is counted twice; empty ones are dropped.
func mergeIntervals(in []Interval) []Interval {
	var out []Interval
	for _, iv := range in {
		if iv.From.Before(iv.To) {
			out = append(out, iv)
		}
	}
	slices.SortFunc(out, func(a, b Interval) int { return a.From.Compare(b.From) })
	merged := out[:0]
	for _, iv := range out {
		if n := len(merged); n > 0 && !iv.From.After(merged[n-1].To) {
			if iv.To.After(merged[n-1].To) {
				merged[n-1].To = iv.To
			}
			continue
		}
		merged = append(merged, iv)
	}
	return merged
}

// overlap is the length of [a, b) ∩ [from, to), never negative.
func overlap(a, b, from, to time.Time) time.Duration {
	if a.Before(from) {
		a = from
	}
	if b.After(to) {
		b = to
	}
	if !a.Before(b) {
		return 0
	}
	return b.Sub(a)
}
