package scheduler

import (
	"fmt"
	"testing"
	"time"

	"github.com/lookout/lookout/internal/uptime"
	"github.com/robfig/cron/v3"
)

func TestValidateSchedule(t *testing.T) {
	good := []string{
		"*/5 * * * *",
		"0 9 * * 1-5",
		"0 0 29 2 *", // only in leap years, but it fires
		"@hourly",
		"@daily",
		"@every 5m",
		"@every 1s",
		"@every 1m30s",
		"TZ=Europe/Paris 0 9 * * *",
		"CRON_TZ=UTC @every 10s",
		"  0 * * * *  ",
	}
	for _, spec := range good {
		if err := ValidateSchedule(spec); err != nil {
			t.Errorf("ValidateSchedule(%q) = %v, want nil", spec, err)
		}
	}

	bad := []struct{ spec, want string }{
		{"", "schedule is empty"},
		{"   ", "schedule is empty"},
		{"* * * *", `invalid schedule "* * * *": expected exactly 5 fields, found 4: [* * * *]`},
		{"0 * * * * *", `invalid schedule "0 * * * * *": expected exactly 5 fields, found 6: [0 * * * * *]`},
		{"61 * * * *", `invalid schedule "61 * * * *": end of range (61) above maximum (59): 61`},
		{"@fortnightly", `invalid schedule "@fortnightly": unrecognized descriptor: @fortnightly`},
		{"@every 500ms", `invalid schedule "@every 500ms": @every must be at least 1s`},
		{"@every 0s", `invalid schedule "@every 0s": @every must be at least 1s`},
		{"@every -5m", `invalid schedule "@every -5m": @every must be at least 1s`},
		{"@every soon", `invalid schedule "@every soon": "soon" is not a duration (use Go syntax such as 30s, 5m, 1h30m)`},
		{"0 0 30 2 *", `invalid schedule "0 0 30 2 *": it never fires`},
		{"TZ=Mars/Olympus 0 * * * *", `invalid schedule "TZ=Mars/Olympus 0 * * * *": provided bad location Mars/Olympus: unknown time zone Mars/Olympus`},
		// These make the cron parser panic (robfig/cron #554).
		{"TZ=UTC", `invalid schedule "TZ=UTC": a time zone must be followed by a space and a cron expression, as in "TZ=Europe/Paris 0 9 * * *"`},
		{"TZ=", `invalid schedule "TZ=": a time zone must be followed by a space and a cron expression, as in "TZ=Europe/Paris 0 9 * * *"`},
		{"CRON_TZ=Europe/Paris", `invalid schedule "CRON_TZ=Europe/Paris": a time zone must be followed by a space and a cron expression, as in "TZ=Europe/Paris 0 9 * * *"`},
		{"TZ=UTC\t0", `invalid schedule "TZ=UTC\t0": a time zone must be followed by a space and a cron expression, as in "TZ=Europe/Paris 0 9 * * *"`},
	}
	for _, tc := range bad {
		t.Run(tc.spec, func(t *testing.T) {
			err := ValidateSchedule(tc.spec)
			if err == nil {
				t.Fatalf("ValidateSchedule(%q) = nil, want an error", tc.spec)
			}
			if err.Error() != tc.want {
				t.Errorf("ValidateSchedule(%q)\n got %s\nwant %s", tc.spec, err, tc.want)
			}
		})
	}
}

// The guard matters: the parser itself panics on these.
func TestParserPanicsUpstream(t *testing.T) {
	for _, spec := range []string{"TZ=UTC", "CRON_TZ=Europe/Paris"} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("cron.ParseStandard(%q) did not panic; the guard may be obsolete", spec)
				}
			}()
			_, _ = cron.ParseStandard(spec)
		}()
	}
}

func TestJitterSpreadsOverOneInterval(t *testing.T) {
	const n = 10000
	every := 10 * time.Second
	now := time.Date(2025, 3, 1, 12, 0, 0, 123456789, time.UTC)

	a := New(nopProber{}, nopRecorder{}, Config{Now: func() time.Time { return now }})
	// A second scheduler started 3.7 s later, as after a restart.
	later := now.Add(3700 * time.Millisecond)
	b := New(nopProber{}, nopRecorder{}, Config{Now: func() time.Time { return later }})
	for i := range n {
		tg := uptime.Target{ID: int64(i + 1), Name: fmt.Sprintf("target-%05d", i), Interval: uptime.Duration(every)}
		a.Upsert(tg)
		b.Upsert(tg)
	}

	var buckets [10]int
	for id, e := range a.targets {
		off := time.Duration(e.due - now.UnixNano())
		if off < 0 || off >= every {
			t.Fatalf("target %d first runs at now+%s, want within [0, %s)", id, off, every)
		}
		buckets[off/time.Second]++
		// Same cadence in the other scheduler: the same slot modulo the interval.
		if d := b.targets[id].due - e.due; d%int64(every) != 0 {
			t.Errorf("target %d: slots differ across schedulers by %s, not a multiple of %s", id, time.Duration(d), every)
		}
	}
	for i, c := range buckets {
		if pct := float64(c) * 100 / n; pct < 8 || pct > 12 {
			t.Errorf("second %d of the interval holds %.1f%% of first runs, want 8-12%% (buckets %v)", i, pct, buckets)
		}
	}
}

func TestIntervalTiming(t *testing.T) {
	every := 10 * time.Second
	tm := intervalTiming("payments-api", every)
	if tm.phase < 0 || tm.phase >= int64(every) {
		t.Fatalf("phase %d outside [0, %s)", tm.phase, every)
	}
	if again := intervalTiming("payments-api", every); again.phase != tm.phase {
		t.Fatalf("phase not stable: %d then %d", tm.phase, again.phase)
	}
	base := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC).UnixNano()
	for _, off := range []int64{0, 1, int64(time.Second), 9_999_999_999, 10_000_000_000, 123_456_789_012} {
		now := base + off
		first := tm.first(now)
		if first < now || first >= now+int64(every) {
			t.Errorf("first(%d) = now+%s, want within [0, %s)", off, time.Duration(first-now), every)
		}
		if (first-tm.phase)%int64(every) != 0 {
			t.Errorf("first(%d) not on the target's phase", off)
		}
		if got := tm.first(first); got != first {
			t.Errorf("first at a slot must be that slot: got %d, want %d", got, first)
		}
	}
	due := tm.first(base)
	if got := tm.after(due); got != due+int64(every) {
		t.Errorf("after = due+%s, want due+%s", time.Duration(got-due), every)
	}
	// 35 s late: slots due, +10, +20, +30 are missed; the next is +40.
	missed, next := tm.skip(due, due+int64(35*time.Second))
	if missed != 4 || next != due+int64(40*time.Second) {
		t.Errorf("skip 35s late = %d missed, next due+%s; want 4, due+40s", missed, time.Duration(next-due))
	}
	missed, next = tm.skip(due, due+int64(every))
	if missed != 2 || next != due+2*int64(every) {
		t.Errorf("skip exactly one interval late = %d missed, next due+%s; want 2, due+20s", missed, time.Duration(next-due))
	}
}

func TestTimingFor(t *testing.T) {
	tests := []struct {
		target uptime.Target
		every  time.Duration
		cron   bool
	}{
		{uptime.Target{Name: "a"}, uptime.DefaultInterval, false},
		{uptime.Target{Name: "a", Interval: uptime.Duration(time.Minute)}, time.Minute, false},
		{uptime.Target{Name: "a", Interval: uptime.Duration(time.Millisecond)}, time.Second, false},
		{uptime.Target{Name: "a", Schedule: "@every 5m"}, 5 * time.Minute, false},
		{uptime.Target{Name: "a", Schedule: "@every 1500ms"}, 1500 * time.Millisecond, false},
		{uptime.Target{Name: "a", Schedule: "TZ=UTC @every 1h"}, time.Hour, false},
		{uptime.Target{Name: "a", Schedule: "@hourly"}, 0, true},
		{uptime.Target{Name: "a", Schedule: "*/5 * * * *"}, 0, true},
	}
	for _, tc := range tests {
		tm, err := timingFor(&tc.target)
		if err != nil {
			t.Errorf("timingFor(%+v): %v", tc.target, err)
			continue
		}
		if tm.every != tc.every || (tm.cron != nil) != tc.cron {
			t.Errorf("timingFor(interval %s, schedule %q) = every %s, cron %v; want %s, %v",
				tc.target.Interval, tc.target.Schedule, tm.every, tm.cron != nil, tc.every, tc.cron)
		}
	}
	if _, err := timingFor(&uptime.Target{Name: "a", Schedule: "TZ=UTC"}); err == nil {
		t.Error("timingFor accepted a schedule ValidateSchedule refuses")
	}
}

func TestCronTiming(t *testing.T) {
	tm, err := timingFor(&uptime.Target{Name: "nightly", Schedule: "TZ=UTC */15 * * * *"})
	if err != nil {
		t.Fatal(err)
	}
	at := func(h, m, s int) int64 { return time.Date(2025, 3, 1, h, m, s, 0, time.UTC).UnixNano() }
	show := func(ns int64) string { return time.Unix(0, ns).UTC().Format(time.TimeOnly) }

	if got, want := tm.first(at(12, 7, 30)), at(12, 15, 0); got != want {
		t.Errorf("first(12:07:30) = %s, want %s", show(got), show(want))
	}
	if got, want := tm.first(at(12, 15, 0)), at(12, 15, 0); got != want {
		t.Errorf("first(12:15:00) = %s, want %s (a slot that is now runs now)", show(got), show(want))
	}
	if got, want := tm.after(at(12, 15, 0)), at(12, 30, 0); got != want {
		t.Errorf("after(12:15) = %s, want %s", show(got), show(want))
	}
	// Due at 12:15 but only picked up at 13:01: 12:15, 12:30, 12:45 and 13:00 are missed.
	missed, next := tm.skip(at(12, 15, 0), at(13, 1, 0))
	if missed != 4 || next != at(13, 15, 0) {
		t.Errorf("skip(12:15, 13:01) = %d missed, next %s; want 4, 13:15:00", missed, show(next))
	}

	// A time zone shifts the slots.
	paris, err := timingFor(&uptime.Target{Name: "x", Schedule: "TZ=Europe/Paris 0 9 * * *"})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := paris.first(at(0, 0, 0)), at(8, 0, 0); got != want { // 1 March: UTC+1
		t.Errorf("first 09:00 Paris = %s UTC, want %s", show(got), show(want))
	}
}

func TestPeriod(t *testing.T) {
	now := time.Date(2026, 3, 2, 10, 17, 0, 0, time.UTC)
	for _, tc := range []struct {
		t    uptime.Target
		want time.Duration
	}{
		{uptime.Target{Name: "a", Interval: uptime.Duration(45 * time.Second)}, 45 * time.Second},
		{uptime.Target{Name: "b", Schedule: "@every 5m"}, 5 * time.Minute},
		{uptime.Target{Name: "c", Schedule: "*/15 * * * *"}, 15 * time.Minute},
		{uptime.Target{Name: "d", Schedule: "0 9,17 * * *"}, 16 * time.Hour},
		{uptime.Target{Name: "e", Schedule: "not a schedule"}, uptime.DefaultInterval},
	} {
		if got := Period(tc.t, now); got != tc.want {
			t.Errorf("Period(%s %q/%s) = %s, want %s", tc.t.Name, tc.t.Schedule, tc.t.Interval, got, tc.want)
		}
	}
}
