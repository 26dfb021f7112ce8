package scheduler

import (
	"math"
	"time"
)

// RecentWindow is how far back Stats.Recent looks.
const RecentWindow = time.Minute

// recentSeconds is RecentWindow in one-second buckets.
const recentSeconds = int64(RecentWindow / time.Second)

// Recent is the scheduler's load over the last RecentWindow, by its clock:
// what readiness and the overload warning judge it by. Slots count a
// target's scheduled times, whether its check ran or the slot was skipped,
// so Slots over Span is the demand, not what was served.
type Recent struct {
	// Span is the time the figures cover: RecentWindow, or less when Run
	// started less than that ago.
	Span time.Duration
	// Slots counts the scheduled slots that came up: run or skipped.
	Slots uint64
	// Overloaded counts the slots skipped because the scheduler fell
	// behind (Stats.MissedOverloaded's share of the window).
	Overloaded uint64
	// Overrun counts the slots skipped because the target's previous
	// check was still running (Stats.MissedOverrun's share of the window).
	Overrun uint64
	// Checks counts the scheduled checks that ended.
	Checks uint64
	// Busy is the time those checks took, summed: from the start of the
	// probe to its result.
	Busy time.Duration
}

// OverloadedShare is the share of Slots skipped because the scheduler fell
// behind, from 0 to 1; 0 when no slot came up.
func (r Recent) OverloadedShare() float64 {
	if r.Slots == 0 {
		return 0
	}
	return float64(r.Overloaded) / float64(r.Slots)
}

// PerSecond is the slots that came up per second: the demand on the
// workers.
func (r Recent) PerSecond() float64 {
	if r.Span <= 0 {
		return 0
	}
	return float64(r.Slots) / r.Span.Seconds()
}

// MeanCheck is the mean time a scheduled check took; 0 when none ended.
func (r Recent) MeanCheck() time.Duration {
	if r.Checks == 0 {
		return 0
	}
	return r.Busy / time.Duration(r.Checks)
}

// WorkersNeeded is how many workers the demand takes by Little's law: slots
// per second times the mean check time, rounded up. It is 0 when no check
// ended in the window, so that the mean is unknown.
func (r Recent) WorkersNeeded() int {
	if r.Checks == 0 {
		return 0
	}
	return int(math.Ceil(r.PerSecond() * r.MeanCheck().Seconds()))
}

// second is one bucket of the recent ring: what happened during one second
// of the scheduler's clock.
type second struct {
	at         int64 // the Unix second counted; older than the window means empty
	slots      uint64
	overloaded uint64
	overrun    uint64
	checks     uint64
	busy       int64 // ns
}

// recent is a ring of one-second buckets covering RecentWindow. It is
// updated under Scheduler.mu, inside the critical sections a check takes
// anyway: no allocation, and no lock or atomic of its own on the hot path.
type recent [recentSeconds]second

// at returns the bucket of the second holding ns, emptied first when it held
// an older second. A clock stepped back adds to the newer second's bucket
// rather than losing it.
func (r *recent) at(ns int64) *second {
	sec := ns / int64(time.Second)
	b := &r[sec%recentSeconds]
	if sec > b.at {
		*b = second{at: sec}
	}
	return b
}

// sum adds up the buckets of the window ending at now; since is when Run
// started (0 when unknown), which shortens the span just after a start.
func (r *recent) sum(now, since int64) Recent {
	nowSec := now / int64(time.Second)
	var out Recent
	for i := range r {
		b := &r[i]
		if b.at <= nowSec-recentSeconds || b.at > nowSec {
			continue
		}
		out.Slots += b.slots
		out.Overloaded += b.overloaded
		out.Overrun += b.overrun
		out.Checks += b.checks
		out.Busy += time.Duration(b.busy)
	}
	out.Span = RecentWindow
	if since > 0 && now-since < int64(RecentWindow) {
		out.Span = max(time.Duration(now-since), time.Second)
	}
	return out
}
