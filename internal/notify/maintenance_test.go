package notify

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/lookout/lookout/internal/uptime"
)

// TestValidateMaintenance: notify owns maintenance schedules, so the API
// validates them here, with the parser that evaluates them. A spec that
// makes the cron parser panic (robfig/cron#554) is a validation problem,
// and a window with it is never active nor listed, even when asked twice
// (the parse is cached).
func TestValidateMaintenance(t *testing.T) {
	for _, spec := range []string{
		"", "0 2 * * *", "*/15 * * * *", "0 3 * * SUN", "@weekly", "@daily", "@every 5m",
		"TZ=Europe/Paris 0 9 * * *", "CRON_TZ=UTC 0 2 * * *",
	} {
		if err := ValidateMaintenance(&uptime.Maintenance{Schedule: spec}); err != nil {
			t.Errorf("ValidateMaintenance(%q) = %v, want nil", spec, err)
		}
	}
	for _, tc := range []struct {
		spec   string
		panics bool   // the parser's own panic, guarded here
		hint   string // in the problem, besides the spec
	}{
		{spec: "every sunday"},
		{spec: "61 * * * *"},
		{spec: "0 2 * *"},
		{spec: "@fortnightly"},
		{spec: "TZ=Mars/Olympus 0 * * * *"},
		{spec: "TZ=Europe/Berlin", panics: true, hint: "followed by a space"},
		{spec: "TZ=", panics: true, hint: "followed by a space"},
		{spec: "CRON_TZ=Europe/Paris", panics: true, hint: "followed by a space"},
	} {
		t.Run(tc.spec, func(t *testing.T) {
			if got := parserPanics(tc.spec); got != tc.panics {
				t.Fatalf("cron.ParseStandard(%q) panics: %v, want %v", tc.spec, got, tc.panics)
			}
			m := uptime.Maintenance{Matchers: map[string]string{"env": "prod"}, Schedule: tc.spec, Duration: uptime.Duration(time.Hour)}
			for range 2 {
				err := ValidateMaintenance(&m)
				var v *uptime.ValidationError
				if !errors.As(err, &v) || len(v.Errors) != 1 || v.Errors[0].Field != "schedule" ||
					!strings.Contains(v.Errors[0].Problem, `is not a valid cron expression`) ||
					!strings.Contains(v.Errors[0].Problem, tc.spec) || !strings.Contains(v.Errors[0].Problem, tc.hint) {
					t.Fatalf("ValidateMaintenance(%q) = %v, want a schedule problem naming it", tc.spec, err)
				}
				at := time.Date(2026, 3, 14, 2, 30, 0, 0, time.UTC)
				if MaintenanceActive(m, m.Matchers, at) || MaintenanceWindows(m, m.Matchers, at.Add(-48*time.Hour), at) != nil {
					t.Errorf("a window scheduled %q is active", tc.spec)
				}
			}
		})
	}
}

// parserPanics reports whether the cron parser itself panics on spec, so
// that the cases above keep exercising the guard.
func parserPanics(spec string) (panicked bool) {
	defer func() { panicked = recover() != nil }()
	_, _ = cron.ParseStandard(spec)
	return false
}
