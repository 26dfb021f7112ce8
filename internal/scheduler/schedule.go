package scheduler

import (
	"fmt"
	"hash/fnv"
	"strings"
	"time"

	"github.com/lookout/lookout/internal/uptime"
	"github.com/robfig/cron/v3"
)

// ValidateSchedule checks a target's cron schedule: the five standard fields
// (minute hour day-of-month month day-of-week), descriptors such as @hourly
// and @every 5m, and an optional TZ= or CRON_TZ= prefix. It returns nil or a
// plain error whose text a user can act on; it never panics, even on the
// malformed TZ= specs that make the cron parser panic (robfig/cron #554).
// @every shorter than 1s and expressions that never fire are refused.
func ValidateSchedule(spec string) error {
	_, _, err := parseSchedule(spec)
	return err
}

// parseSchedule is ValidateSchedule returning the parsed schedule, and for
// an @every schedule its exact duration (the parser truncates it to whole
// seconds).
func parseSchedule(spec string) (sched cron.Schedule, every time.Duration, err error) {
	fail := func(format string, args ...any) error {
		return fmt.Errorf("invalid schedule %q: %s", spec, fmt.Sprintf(format, args...))
	}
	s := strings.TrimSpace(spec)
	if s == "" {
		return nil, 0, fmt.Errorf("schedule is empty")
	}
	body := s
	if strings.HasPrefix(s, "TZ=") || strings.HasPrefix(s, "CRON_TZ=") {
		// The parser slices up to the first space and panics when there is none.
		_, rest, ok := strings.Cut(s, " ")
		if !ok || strings.TrimSpace(rest) == "" {
			return nil, 0, fail(`a time zone must be followed by a space and a cron expression, as in "TZ=Europe/Paris 0 9 * * *"`)
		}
		body = strings.TrimSpace(rest)
	}
	if d, ok := strings.CutPrefix(body, "@every "); ok {
		// The parser silently raises anything shorter to 1s; refuse instead.
		dur, perr := time.ParseDuration(strings.TrimSpace(d))
		if perr != nil {
			return nil, 0, fail("%q is not a duration (use Go syntax such as 30s, 5m, 1h30m)", strings.TrimSpace(d))
		}
		if dur < uptime.MinInterval {
			return nil, 0, fail("@every must be at least %s", uptime.MinInterval)
		}
		every = dur
	}
	defer func() {
		if r := recover(); r != nil {
			sched, every, err = nil, 0, fail("cannot be parsed")
		}
	}()
	sched, err = cron.ParseStandard(s)
	if err != nil {
		return nil, 0, fail("%v", err)
	}
	if sched.Next(time.Now()).IsZero() {
		return nil, 0, fail("it never fires")
	}
	return sched, every, nil
}

// timing says when a target runs: every `every` at `phase` past each multiple
// of every on the wall clock, or at the times of a cron schedule.
// Times are Unix nanoseconds; 0 means never.
type timing struct {
	every time.Duration
	phase int64
	cron  cron.Schedule
}

// timingFor works out a target's timing. An @every schedule is run as an
// interval, phase-aligned like any other, so it keeps its cadence across
// restarts too.
func timingFor(t *uptime.Target) (timing, error) {
	if t.Schedule != "" {
		sched, every, err := parseSchedule(t.Schedule)
		if err != nil {
			return timing{}, err
		}
		if every > 0 {
			return intervalTiming(t.Name, every), nil
		}
		return timing{cron: sched}, nil
	}
	every := t.Interval.D()
	if every == 0 {
		every = uptime.DefaultInterval
	}
	return intervalTiming(t.Name, max(every, uptime.MinInterval)), nil
}

func intervalTiming(name string, every time.Duration) timing {
	return timing{every: every, phase: int64(phase(name, every))}
}

// phase is a target's stable offset within its interval: FNV-1a of its name
// modulo the interval. Targets added together spread over one interval, and a
// restart keeps each one's cadence.
func phase(name string, every time.Duration) time.Duration {
	h := fnv.New64a()
	h.Write([]byte(name))
	return time.Duration(h.Sum64() % uint64(every))
}

// first is the first run time at or after now.
func (tm timing) first(now int64) int64 {
	if tm.every > 0 {
		e := int64(tm.every)
		off := (now - tm.phase) % e
		if off < 0 {
			off += e
		}
		if off == 0 {
			return now
		}
		return now - off + e
	}
	return cronNext(tm.cron, now-1)
}

// after is the slot following due: due plus the interval, so that a late
// check does not push the cadence (no drift).
func (tm timing) after(due int64) int64 {
	if tm.every > 0 {
		return due + int64(tm.every)
	}
	return cronNext(tm.cron, due)
}

// maxSkip bounds the walk over missed cron slots.
const maxSkip = 10000

// skip is for a scheduler that fell behind: it returns how many slots from
// due up to now (both included) were missed, and the first slot after now.
func (tm timing) skip(due, now int64) (missed uint64, next int64) {
	if tm.every > 0 {
		e := int64(tm.every)
		k := (now - due) / e
		return uint64(k) + 1, due + (k+1)*e
	}
	missed, next = 1, cronNext(tm.cron, due)
	for next != 0 && next <= now && missed < maxSkip {
		missed++
		next = cronNext(tm.cron, next)
	}
	if next != 0 && next <= now {
		next = cronNext(tm.cron, now)
	}
	return missed, next
}

// overrun is how many of the missed slots from due on were skipped because
// the target's previous check held it until busy, rather than because the
// scheduler was late: when the slot after due came up before busy, even a
// check started at busy would have skipped every slot up to busy.
func (tm timing) overrun(due, busy int64, missed uint64) uint64 {
	next := tm.after(due)
	if next == 0 || next > busy {
		return 0
	}
	n, _ := tm.skip(due, busy)
	return min(n, missed)
}

// cronNext is the schedule's first time strictly after t, or 0 for never.
// A schedule without TZ= follows the process's local time zone, as cron does.
func cronNext(s cron.Schedule, t int64) int64 {
	n := s.Next(time.Unix(0, t))
	if n.IsZero() {
		return 0
	}
	return n.UnixNano()
}

// Period is how far apart a target's checks are: its interval, or for a
// cron schedule the longest gap between two of its next few runs after
// now. History uses it to tell how long a check vouches for the target's
// status. A schedule that does not parse gives the default interval.
func Period(t uptime.Target, now time.Time) time.Duration {
	tm, err := timingFor(&t)
	switch {
	case err != nil:
		return uptime.DefaultInterval
	case tm.every > 0:
		return tm.every
	}
	var longest time.Duration
	at := now.UnixNano()
	for range 8 {
		next := cronNext(tm.cron, at)
		if next == 0 {
			break
		}
		longest = max(longest, time.Duration(next-at))
		at = next
	}
	if longest == 0 {
		return uptime.DefaultInterval
	}
	return longest
}
