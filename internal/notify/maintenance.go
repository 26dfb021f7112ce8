package notify

import (
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/lookout/lookout/internal/uptime"
)

// MaintenanceActive reports whether m covers a target with these labels at
// t: a one-off window from StartsAt until EndsAt, or a recurring one whose
// every occurrence of Schedule (a standard five-field cron expression or a
// descriptor such as @daily, with an optional CRON_TZ= prefix) lasts
// Duration. A window without matchers matches nothing; an unparsable
// schedule is never active.
func MaintenanceActive(m uptime.Maintenance, labels map[string]string, t time.Time) bool {
	if len(m.Matchers) == 0 || !uptime.Matches(labels, m.Matchers) {
		return false
	}
	if m.Schedule == "" {
		return !t.Before(m.StartsAt) && t.Before(m.EndsAt)
	}
	dur := m.Duration.D()
	if dur <= 0 {
		return false
	}
	s, err := parseSchedule(m.Schedule)
	if err != nil {
		return false
	}
	// The first occurrence after t-dur is active at t if it has begun.
	next := s.Next(t.Add(-dur))
	return !next.IsZero() && !next.After(t)
}

// maxOccurrences bounds the occurrences of a recurring window that
// MaintenanceWindows lists, so that "* * * * *" over years stays cheap.
const maxOccurrences = 10000

// MaintenanceWindows lists the spans of m that cover a target with these
// labels and overlap [from, to): the one-off window, or each occurrence of
// the schedule. Uptime figures leave these spans out.
func MaintenanceWindows(m uptime.Maintenance, labels map[string]string, from, to time.Time) []uptime.Interval {
	if len(m.Matchers) == 0 || !uptime.Matches(labels, m.Matchers) || !from.Before(to) {
		return nil
	}
	if m.Schedule == "" {
		if m.StartsAt.Before(to) && m.EndsAt.After(from) {
			return []uptime.Interval{{From: m.StartsAt, To: m.EndsAt}}
		}
		return nil
	}
	dur := m.Duration.D()
	s, err := parseSchedule(m.Schedule)
	if dur <= 0 || err != nil {
		return nil
	}
	var out []uptime.Interval
	for start := s.Next(from.Add(-dur)); !start.IsZero() && start.Before(to) && len(out) < maxOccurrences; start = s.Next(start) {
		out = append(out, uptime.Interval{From: start, To: start.Add(dur)})
	}
	return out
}

// Maintenance schedules are parsed, validated and evaluated here and
// nowhere else: the API validates them with ValidateMaintenance, and the
// dispatcher, the store (when a window ends early) and uptime figures read
// them through MaintenanceActive and MaintenanceWindows, all with the one
// guarded, cached parser below. Target schedules are the scheduler's.

// ValidateMaintenance checks what uptime.Maintenance.Validate leaves to
// the owner of cron: the syntax of Schedule, with the parser that will
// evaluate it. It returns a *uptime.ValidationError naming "schedule", or
// nil; never a panic.
func ValidateMaintenance(m *uptime.Maintenance) error {
	if m.Schedule == "" {
		return nil
	}
	if _, err := parseSchedule(m.Schedule); err != nil {
		return uptime.Invalid("schedule", err.Error())
	}
	return nil
}

var (
	schedMu    sync.Mutex
	schedCache = map[string]schedResult{}
)

type schedResult struct {
	s   cron.Schedule
	err error
}

// parseSchedule parses a cron spec once and remembers it. The parser
// panics on some malformed TZ= prefixes (robfig/cron#554); that is an
// error here, not a crash.
func parseSchedule(spec string) (cron.Schedule, error) {
	schedMu.Lock()
	defer schedMu.Unlock()
	if r, ok := schedCache[spec]; ok {
		return r.s, r.err
	}
	r := func() (r schedResult) {
		defer func() {
			if p := recover(); p != nil {
				r = schedResult{err: fmt.Errorf("%q is not a valid cron expression", spec)}
				if strings.HasPrefix(spec, "TZ=") || strings.HasPrefix(spec, "CRON_TZ=") {
					r.err = fmt.Errorf(`%q is not a valid cron expression: a time zone must be followed by a space and the schedule, as in "TZ=Europe/Paris 0 9 * * *"`, spec)
				}
			}
		}()
		s, err := cron.ParseStandard(spec)
		if err != nil {
			return schedResult{err: fmt.Errorf("%q is not a valid cron expression: %v", spec, err)}
		}
		return schedResult{s: s}
	}()
	if len(schedCache) > 1000 {
		clear(schedCache)
	}
	schedCache[spec] = r
	return r.s, r.err
}
