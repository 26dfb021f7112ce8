package store

import (
	"slices"
	"testing"
	"time"

	"github.com/lookout/lookout/internal/uptime"
)

func TestChanges(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		t.Parallel()
		e := openEnv(t, b)
		names := func(snaps []uptime.Snapshot) []string {
			var out []string
			for _, s := range snaps {
				out = append(out, s.Target.Name)
			}
			return out
		}
		a := e.mustCreate(t, "a", nil)
		bt := e.mustCreate(t, "b", nil)
		e.Record(obs(a.ID, e.clock.Now(), uptime.StatusDown, "refused"))
		e.mustFlush(t)

		changed, deleted, v, reset, err := e.Changes(bg, 0)
		fatalIf(t, err, "changes from the start")
		if !slices.Equal(names(changed), []string{"a", "b"}) || len(deleted) != 0 || v == 0 || reset {
			t.Fatalf("from the start: %v, deleted %v, version %d, reset %v", names(changed), deleted, v, reset)
		}
		if changed[0].State.Status != uptime.StatusDown {
			t.Errorf("a's state %+v, want down: a scheduler taking it over starts from it", changed[0].State)
		}
		// Nothing new: nothing, and the same version.
		changed, deleted, v2, _, err := e.Changes(bg, v)
		fatalIf(t, err, "no changes")
		if len(changed)+len(deleted) != 0 || v2 != v {
			t.Errorf("no change gave %v %v, version %d→%d", names(changed), deleted, v, v2)
		}
		// A result is no change of the target; an edit and a delete are.
		e.Record(obs(a.ID, e.clock.Now().Add(time.Second), uptime.StatusUp, ""))
		e.mustFlush(t)
		fatalIf(t, e.mustUpdate(a, func(x *uptime.Target) { x.Interval = uptime.Duration(time.Minute) }), "edit a")
		fatalIf(t, e.DeleteTarget(bg, "b"), "delete b")
		changed, deleted, v3, _, err := e.Changes(bg, v)
		fatalIf(t, err, "changes")
		if !slices.Equal(names(changed), []string{"a"}) || changed[0].Target.Interval.D() != time.Minute ||
			!slices.Equal(deleted, []int64{bt.ID}) || v3 <= v {
			t.Errorf("after an edit and a delete: %v, deleted %v (b is %d), version %d→%d", names(changed), deleted, bt.ID, v, v3)
		}
		// A scheduler a day behind has missed tombstones: it starts over.
		e.clock.Advance(25 * time.Hour)
		st, err := e.Prune(bg, e.clock.Now(), Retention{})
		fatalIf(t, err, "prune")
		if st.Tombstones != 1 {
			t.Errorf("pruned %d tombstones, want 1", st.Tombstones)
		}
		changed, _, _, reset, err = e.Changes(bg, v)
		fatalIf(t, err, "changes after the prune")
		if !reset || !slices.Equal(names(changed), []string{"a"}) {
			t.Errorf("behind a pruned tombstone: reset %v, changed %v; want everything again", reset, names(changed))
		}
		_, _, _, reset, err = e.Changes(bg, v3)
		fatalIf(t, err, "changes after the prune")
		if reset {
			t.Error("a scheduler past the pruned tombstone is told to start over")
		}
	})
}
