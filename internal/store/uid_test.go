package store

import (
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/lookout/lookout/internal/uptime"
)

// TestDeliveryUIDs: every delivery gets a uid when its row is inserted,
// unique across databases (a reset, or another instance, hands out the same
// ids again), and the same on every claim of it.
func TestDeliveryUIDs(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		seen := map[string]bool{}
		var firsts []uptime.Delivery
		for range 2 {
			e := openEnv(t, b)
			e.mustChannel(t, "ops", func(c *uptime.Channel) { c.Default = true })
			e.mustChannel(t, "pager", func(c *uptime.Channel) { c.Default = true })
			tg := e.mustCreate(t, "api", nil)
			t0 := e.clock.Now()
			e.recordEvents(t, tg, t0, opened(t0))
			in, err := e.OpenIncident(bg, tg.ID)
			fatalIf(t, err, "open incident")
			fatalIf(t, e.EnqueueReminder(bg, in.ID, "ops", t0.Add(time.Hour)), "reminder")
			ds := e.deliveries(t, uptime.DeliveryFilter{})
			if len(ds) != 3 {
				t.Fatalf("%d deliveries, want two openings and a reminder", len(ds))
			}
			for _, d := range ds {
				u, err := uuid.Parse(d.UID)
				if err != nil || u.Version() != 7 {
					t.Errorf("delivery %d: uid %q is no UUID version 7 (%v)", d.ID, d.UID, err)
				}
				if seen[d.UID] {
					t.Errorf("delivery %d: uid %s given twice", d.ID, d.UID)
				}
				seen[d.UID] = true
			}
			firsts = append(firsts, ds[len(ds)-1])
			// A claim, and a claim of the retry, carry the same uid.
			for _, at := range []time.Time{t0.Add(time.Minute), t0.Add(3 * time.Minute)} {
				got, err := e.ClaimDeliveries(bg, at, time.Minute, 10)
				fatalIf(t, err, "claim")
				for _, d := range got {
					if d.UID == "" || !seen[d.UID] {
						t.Errorf("claimed delivery %d with uid %q, not the one listed", d.ID, d.UID)
					}
					fatalIf(t, e.FinishDelivery(bg, d.ID, uptime.DeliveryUpdate{Status: uptime.DeliveryPending, NextAt: t0.Add(2 * time.Minute)}), "retry")
				}
				if len(got) != 2 {
					t.Errorf("claimed %d at %s, want the two openings", len(got), at)
				}
			}
		}
		if firsts[0].ID != firsts[1].ID || firsts[0].UID == firsts[1].UID {
			t.Errorf("the first deliveries of two databases: ids %d and %d, uids %s and %s; want the same id and different uids",
				firsts[0].ID, firsts[1].ID, firsts[0].UID, firsts[1].UID)
		}
	})
}
