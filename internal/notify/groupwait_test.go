package notify

import (
	"strings"
	"testing"
	"time"

	"github.com/lookout/lookout/internal/testkit"
	"github.com/lookout/lookout/internal/uptime"
)

// TestGroupWaitZeroSendsAtOnce: a channel whose group_wait is 0 sends an
// opening at the first poll, without the clock moving; and an incident
// that resolved a second later is still alerted, opening and resolution,
// since nothing resolves "within" a wait of zero.
func TestGroupWaitZeroSendsAtOnce(t *testing.T) {
	rc := testkit.NewWebhook(t)
	c := hookChannel(rc)
	c.GroupWait = uptime.WaitFor(0)
	h := newHarness(t, Config{}, c)

	open := h.opened(1, "api", "hook")
	h.cycle()
	if d := h.out.delivery(open); d.Status != uptime.DeliveryDelivered {
		t.Fatalf("opening %s (%s) at the first poll, want delivered at once", d.Status, d.Reason)
	}

	blipOpen := h.opened(2, "web", "hook")
	h.clk.Advance(time.Second)
	blipResolved := h.resolved(2, "web", "hook")
	h.cycle()
	h.cycle()
	for _, id := range []int64{blipOpen, blipResolved} {
		if d := h.out.delivery(id); d.Status != uptime.DeliveryDelivered {
			t.Errorf("delivery %d of a 1 s incident: %s (%s), want delivered", id, d.Status, d.Reason)
		}
	}
	got := rc.Received()
	if len(got) != 3 || !strings.Contains(string(got[2].Body), `"incident.resolved"`) {
		t.Errorf("received %d messages, want opening, opening, resolution", len(got))
	}
}
