package notify

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/lookout/lookout/internal/uptime"
)

func TestMaintenanceWindows(t *testing.T) {
	day := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC) // a Monday
	labels := map[string]string{"team": "payments"}
	nightly := uptime.Maintenance{Matchers: map[string]string{"team": "payments"}, Schedule: "CRON_TZ=UTC 0 2 * * *", Duration: uptime.Duration(time.Hour)}
	got := MaintenanceWindows(nightly, labels, day.Add(150*time.Minute), day.Add(50*time.Hour))
	want := []uptime.Interval{
		{From: day.Add(2 * time.Hour), To: day.Add(3 * time.Hour)}, // began before from, still running
		{From: day.Add(26 * time.Hour), To: day.Add(27 * time.Hour)},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("nightly windows (-want +got):\n%s", diff)
	}
	if w := MaintenanceWindows(nightly, map[string]string{"team": "search"}, day, day.Add(48*time.Hour)); w != nil {
		t.Errorf("a window for other labels: %v", w)
	}
	once := uptime.Maintenance{Matchers: labels, StartsAt: day.Add(time.Hour), EndsAt: day.Add(2 * time.Hour)}
	if w := MaintenanceWindows(once, labels, day, day.Add(90*time.Minute)); len(w) != 1 || !w[0].From.Equal(day.Add(time.Hour)) {
		t.Errorf("one-off window: %v", w)
	}
	if w := MaintenanceWindows(once, labels, day.Add(3*time.Hour), day.Add(4*time.Hour)); w != nil {
		t.Errorf("a one-off window outside the span: %v", w)
	}
	every := uptime.Maintenance{Matchers: labels, Schedule: "* * * * *", Duration: uptime.Duration(time.Second)}
	if w := MaintenanceWindows(every, labels, day, day.Add(365*24*time.Hour)); len(w) != maxOccurrences {
		t.Errorf("a minutely window over a year gave %d spans, want the cap %d", len(w), maxOccurrences)
	}
}
