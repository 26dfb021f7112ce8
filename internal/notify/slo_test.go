package notify

import (
	"strings"
	"testing"
	"time"

	"github.com/lookout/lookout/internal/testkit"
	"github.com/lookout/lookout/internal/uptime"
)

// TestSLOAlerts: a burn and its recovery go out one message each, due at
// once, with no reminder; a silence matching the target mutes them, and a
// covered burn is logged as skipped.
func TestSLOAlerts(t *testing.T) {
	prod := map[string]string{"env": "prod", "team": "core"}
	burn := func(typ uptime.EventType, target string, suppressed string) uptime.Event {
		return uptime.Event{Type: typ, At: t0, Since: t0.Add(-time.Hour), Target: target, Labels: prod, Suppressed: suppressed,
			SLO: &uptime.SLOBurn{Severity: "page", Objective: 0.999, Threshold: 14.4,
				Long: uptime.Burn{Window: uptime.Duration(time.Hour), Rate: 20}, Short: uptime.Burn{Window: uptime.Duration(5 * time.Minute), Rate: 30}}}
	}
	t.Run("sent", func(t *testing.T) {
		rc := testkit.NewWebhook(t)
		h := newHarness(t, Config{}, hookChannel(rc))
		a := h.out.add(burn(uptime.EventSLOBurn, "api", ""), "hook", t0)
		b := h.out.add(burn(uptime.EventSLOBurn, "web", ""), "hook", t0)
		c := h.out.add(burn(uptime.EventSLOBurn, "db", "covered by the page alert"), "hook", t0)
		r := h.out.add(burn(uptime.EventSLORecovered, "api", ""), "hook", t0)
		h.cycle()
		h.cycle()
		for _, id := range []int64{a, b, r} {
			if d := h.out.delivery(id); d.Status != uptime.DeliveryDelivered {
				t.Errorf("delivery %d: %s %q, want delivered", id, d.Status, d.Reason)
			}
		}
		if d := h.out.delivery(c); d.Status != uptime.DeliverySkipped || d.Reason != "suppressed: covered by the page alert" {
			t.Errorf("covered burn: %s %q, want skipped as covered", d.Status, d.Reason)
		}
		got := rc.Received()
		if len(got) != 3 {
			t.Fatalf("received %d messages, want 3: burns are not grouped", len(got))
		}
		for i, want := range []string{`"type":"slo.burn"`, `"type":"slo.burn"`, `"type":"slo.recovered"`} {
			if body := string(got[i].Body); !strings.Contains(body, want) || !strings.Contains(body, `"severity":"page"`) {
				t.Errorf("message %d: %s, want %s with its severity", i, body, want)
			}
		}
		if len(h.out.reminders) != 0 {
			t.Errorf("reminders %+v, want none: a burn is no incident", h.out.reminders)
		}
	})
	t.Run("muted", func(t *testing.T) {
		rc := testkit.NewWebhook(t)
		h := newHarness(t, Config{}, hookChannel(rc))
		h.out.silences = []uptime.Silence{{ID: 3, Matchers: map[string]string{"team": "core"}, StartsAt: t0.Add(-time.Hour), EndsAt: t0.Add(time.Hour)}}
		a := h.out.add(burn(uptime.EventSLOBurn, "api", ""), "hook", t0)
		r := h.out.add(burn(uptime.EventSLORecovered, "api", ""), "hook", t0)
		h.cycle()
		h.cycle()
		for _, id := range []int64{a, r} {
			if d := h.out.delivery(id); d.Status != uptime.DeliveryMuted || d.Reason != "silenced by silence 3" {
				t.Errorf("delivery %d: %s %q, want muted by silence 3", id, d.Status, d.Reason)
			}
		}
		if n := len(rc.Received()); n != 0 || len(h.out.reminders) != 0 {
			t.Errorf("%d sent, reminders %+v; want none", n, h.out.reminders)
		}
	})
}
