package store

import (
	"slices"
	"testing"
	"time"

	"github.com/lookout/lookout/internal/uptime"
)

// TestGroupWaitZero: a channel's group_wait of 0 is stored and read back
// as 0, not as "left out", and an opening routed to it is due at once,
// while a channel with the default waits.
func TestGroupWaitZero(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		t.Parallel()
		e := openEnv(t, b)
		now := e.mustChannel(t, "now", func(c *uptime.Channel) { c.Default = true; c.GroupWait = uptime.WaitFor(0) })
		later := e.mustChannel(t, "later", func(c *uptime.Channel) { c.Default = true })
		for _, c := range []*uptime.Channel{now, later} {
			got, err := e.GetChannel(bg, c.Name)
			fatalIf(t, err, "get channel %s", c.Name)
			if got.GroupWait != c.GroupWait {
				t.Errorf("channel %s read back with group_wait %#v, want %#v", c.Name, got.GroupWait, c.GroupWait)
			}
		}
		if later.GroupWait.D() != uptime.DefaultGroupWait {
			t.Fatalf("a channel left without group_wait waits %s", later.GroupWait)
		}

		tg := e.mustCreate(t, "api", nil)
		t0 := e.clock.Now()
		e.recordEvents(t, tg, t0, opened(t0.Add(-20*time.Second)))
		ds, err := e.ClaimDeliveries(bg, t0, time.Minute, 100)
		fatalIf(t, err, "claim")
		var chans []string
		for _, d := range ds {
			chans = append(chans, d.Channel)
		}
		if !slices.Equal(chans, []string{"now"}) {
			t.Errorf("due at the opening: deliveries to %v, want [now] only", chans)
		}
	})
}
