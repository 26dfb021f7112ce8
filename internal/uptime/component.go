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

// Uptime is time-weighted availability over the window [From, To), as a
// Tally counts it (see Tally.Uptime).
//
// Observed is the part of the window after the first check: time before
// it is not counted at all. Observed is split into Up, Degraded, Down,
// Unknown, Maintenance and Paused. Unknown is time when no check vouched
// for the status (Lookout was not running, or the checks stopped coming)
// and checks whose verdict was unknown; it is excluded from Ratio.
type Uptime struct {
	From, To                              time.Time
	Observed, Up, Degraded, Down, Unknown time.Duration
	// Maintenance is observed time inside maintenance windows and Paused
	// time when the target was paused: they count toward none of Up,
	// Degraded, Down or Unknown, so not in Ratio.
	Maintenance, Paused time.Duration
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
		Paused   Duration  `json:"paused"`
		Ratio    *float64  `json:"ratio"`
	}{u.From.UTC(), u.To.UTC(), Duration(u.Observed), Duration(u.Up), Duration(u.Degraded),
		Duration(u.Down), Duration(u.Unknown), Duration(u.Maintenance), Duration(u.Paused), ratio})
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
