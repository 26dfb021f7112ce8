package store

import (
	"errors"
	"slices"
	"testing"

	"github.com/lookout/lookout/internal/uptime"
)

// TestReferencesMustExist: every way of writing a target refuses a channel,
// dependency or component target that does not exist, naming each field,
// and writes nothing then; a reference the stored target already made is
// not checked again, so a pause or an unrelated change still passes after
// its channel went away.
func TestReferencesMustExist(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		t.Parallel()
		e := openEnv(t, b)
		e.mustChannel(t, "ops", nil)
		e.mustCreate(t, "db", nil)
		withRefs := func(channels, deps []string, comps map[string]string) *uptime.Target {
			tg := newTarget("api", nil)
			tg.Channels, tg.DependsOn, tg.Components = channels, deps, comps
			return tg
		}
		wantFields := func(t *testing.T, what string, err error, want ...string) {
			t.Helper()
			var v *uptime.ValidationError
			if !errors.As(err, &v) {
				t.Fatalf("%s: got %v, want a validation error on %v", what, err, want)
			}
			var got []string
			for _, f := range v.Errors {
				got = append(got, f.Field)
			}
			if !slices.Equal(got, want) {
				t.Errorf("%s: errors on %v (%v), want %v", what, got, v, want)
			}
		}

		bad := func() *uptime.Target {
			return withRefs([]string{"ops", "nochan"}, []string{"db", "typo"}, map[string]string{"cache": "db", "store": "nothere"})
		}
		wantFields(t, "create", e.CreateTarget(bg, bad()), "channels[1]", "depends_on[1]", "components")
		_, _, err := e.PutTarget(bg, bad())
		wantFields(t, "put", err, "channels[1]", "depends_on[1]", "components")
		if _, err := e.GetTarget(bg, "api"); !errors.Is(err, uptime.ErrNotFound) {
			t.Fatalf("a refused write stored the target: %v", err)
		}

		fatalIf(t, e.CreateTarget(bg, withRefs([]string{"ops"}, []string{"db"}, map[string]string{"cache": "db"})), "create with sound references")
		_, err = e.UpdateTarget(bg, "api", func(tg *uptime.Target) error {
			tg.DependsOn = append(tg.DependsOn, "typo")
			tg.Components["cache"] = "nothere"
			return nil
		})
		wantFields(t, "update", err, "depends_on[1]", "components")
		got, err := e.GetTarget(bg, "api")
		fatalIf(t, err, "get")
		if !slices.Equal(got.Target.DependsOn, []string{"db"}) || got.Target.Components["cache"] != "db" {
			t.Errorf("a refused update changed the target: %+v", got.Target)
		}

		fatalIf(t, e.DeleteChannel(bg, "ops"), "delete channel")
		_, err = e.UpdateTarget(bg, "api", func(tg *uptime.Target) error { tg.Paused = true; return nil })
		fatalIf(t, err, "pause after its channel went away")
		again := withRefs([]string{"ops"}, []string{"db"}, map[string]string{"cache": "db"})
		again.Labels["team"] = "core"
		_, changed, err := e.PutTarget(bg, again)
		fatalIf(t, err, "put of another label after its channel went away")
		if !changed {
			t.Error("the put changed nothing")
		}
	})
}
