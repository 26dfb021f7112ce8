package store

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/lookout/lookout/internal/uptime"
)

// owned builds a target of owner, as a sync entry arrives at the store.
func owned(owner, name string, deps ...string) uptime.Target {
	t := newTarget(name, map[string]string{uptime.OwnerLabel: owner})
	t.DependsOn = deps
	return *t
}

// diffNames sorts a sync's result the way its report does.
func diffNames[T any](ss []uptime.Synced[T]) (created, changed, deleted, unchanged []string) {
	for _, s := range ss {
		switch {
		case s.Old == nil:
			created = append(created, s.Name)
		case s.New == nil:
			deleted = append(deleted, s.Name)
		case s.Changed:
			changed = append(changed, s.Name)
		default:
			unchanged = append(unchanged, s.Name)
		}
	}
	return
}

func (e *env) names(t *testing.T, labels map[string]string) []string {
	t.Helper()
	m, err := e.TargetNames(bg, labels)
	fatalIf(t, err, "target names")
	var out []string
	for _, n := range m {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

func wantDiff[T any](t *testing.T, what string, got []uptime.Synced[T], created, changed, deleted, unchanged []string) {
	t.Helper()
	c, ch, d, u := diffNames(got)
	if !slices.Equal(c, created) || !slices.Equal(ch, changed) || !slices.Equal(d, deleted) || !slices.Equal(u, unchanged) {
		t.Errorf("%s: created %v changed %v deleted %v unchanged %v; want %v %v %v %v",
			what, c, ch, d, u, created, changed, deleted, unchanged)
	}
}

func TestSync(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		t.Parallel()
		e := openEnv(t, b)
		other := e.mustCreate(t, "other", map[string]string{uptime.OwnerLabel: "team-b"})
		_, _, since, _, err := e.Changes(bg, 0)
		fatalIf(t, err, "changes")

		// Entries may name each other and a channel of the same sync, in any order.
		web := owned("team-a", "web", "db")
		web.Channels = []string{"ops"}
		s := uptime.Sync{Owner: "team-a", Prune: true, SyncTargets: true, SyncChannels: true,
			Targets:  []uptime.Target{web, owned("team-a", "db"), owned("team-a", "cache")},
			Channels: []uptime.Channel{{Name: "ops", Kind: "webhook", URL: "https://hooks.example.com/x", Owner: "team-a"}},
		}
		res, err := e.Sync(bg, s)
		fatalIf(t, err, "first sync")
		wantDiff(t, "first sync targets", res.Targets, []string{"cache", "db", "web"}, nil, nil, nil)
		wantDiff(t, "first sync channels", res.Channels, []string{"ops"}, nil, nil, nil)
		if got := e.names(t, map[string]string{uptime.OwnerLabel: "team-a"}); !slices.Equal(got, []string{"cache", "db", "web"}) {
			t.Errorf("team-a's targets after the first sync: %v", got)
		}
		changed, _, _, _, err := e.Changes(bg, since)
		fatalIf(t, err, "changes")
		if len(changed) != 3 {
			t.Errorf("the feed hands the scheduler %d targets after the sync, want the 3 created", len(changed))
		}

		// The same again changes nothing, writes nothing.
		e.clock.Advance(time.Minute)
		res, err = e.Sync(bg, s)
		fatalIf(t, err, "second sync")
		wantDiff(t, "same sync targets", res.Targets, nil, nil, nil, []string{"cache", "db", "web"})
		wantDiff(t, "same sync channels", res.Channels, nil, nil, nil, []string{"ops"})
		sn, err := e.GetTarget(bg, "web")
		fatalIf(t, err, "get web")
		if !sn.Target.UpdatedAt.Equal(testT0) {
			t.Errorf("an unchanged target was written: updated_at %v", sn.Target.UpdatedAt)
		}

		// A channel a target still names is not pruned; taken out of the
		// target in the same sync, it is.
		_, err = e.Sync(bg, uptime.Sync{Owner: "team-a", Prune: true, SyncChannels: true, Channels: []uptime.Channel{}})
		var verr *uptime.ValidationError
		if !errors.As(err, &verr) || len(verr.Errors) != 1 || verr.Errors[0].Field != "channels" {
			t.Errorf("pruning a channel web names: %v, want a validation error on channels", err)
		}
		if _, err := e.GetChannel(bg, "ops"); err != nil {
			t.Errorf("the refused prune deleted the channel: %v", err)
		}
		dry := s
		dry.DryRun, dry.Channels = true, []uptime.Channel{}
		dry.Targets = slices.Clone(s.Targets)
		dry.Targets[0].Channels = nil
		res, err = e.Sync(bg, dry)
		fatalIf(t, err, "dropping the channel and its use at once")
		wantDiff(t, "channel and its use dropped at once", res.Channels, nil, nil, []string{"ops"}, nil)

		// Without prune nothing is deleted; a changed entry is updated.
		db2 := owned("team-a", "db")
		db2.Interval = uptime.Duration(10 * time.Second)
		s2 := uptime.Sync{Owner: "team-a", SyncTargets: true, Targets: []uptime.Target{db2}}
		res, err = e.Sync(bg, s2)
		fatalIf(t, err, "sync without prune")
		wantDiff(t, "sync without prune", res.Targets, nil, []string{"db"}, nil, nil)
		if got := e.names(t, map[string]string{uptime.OwnerLabel: "team-a"}); len(got) != 3 {
			t.Errorf("a sync without prune deleted: %v left", got)
		}

		// A dry run of a prune reports and writes nothing.
		s2.Prune, s2.DryRun = true, true
		res, err = e.Sync(bg, s2)
		fatalIf(t, err, "dry run")
		wantDiff(t, "dry run", res.Targets, nil, nil, []string{"cache", "web"}, []string{"db"})
		if got := e.names(t, map[string]string{uptime.OwnerLabel: "team-a"}); len(got) != 3 {
			t.Errorf("a dry run deleted: %v left", got)
		}

		// The prune for real removes only the owner's targets.
		s2.DryRun = false
		res, err = e.Sync(bg, s2)
		fatalIf(t, err, "prune")
		wantDiff(t, "prune", res.Targets, nil, nil, []string{"cache", "web"}, []string{"db"})
		if got := e.names(t, nil); !slices.Equal(got, []string{"db", "other"}) {
			t.Errorf("after the prune: %v, want db and team-b's other", got)
		}
		if _, err := e.GetTarget(bg, other.Name); err != nil {
			t.Errorf("another owner's target went with the prune: %v", err)
		}
	})
}

func TestSyncRefusesAllOrNothing(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		t.Parallel()
		e := openEnv(t, b)
		e.mustCreate(t, "handmade", nil)
		sync := func(ts ...uptime.Target) error {
			_, err := e.Sync(bg, uptime.Sync{Owner: "team-a", Prune: true, SyncTargets: true, Targets: ts})
			return err
		}
		wantFields := func(what string, err error, fields ...string) {
			t.Helper()
			var got []string
			var verr *uptime.ValidationError
			var ferr *uptime.ForeignError
			switch {
			case errors.As(err, &ferr):
				for _, f := range ferr.Errors {
					got = append(got, f.Field)
				}
				if !errors.Is(err, uptime.ErrConflict) {
					t.Errorf("%s: a foreign name is not a conflict: %v", what, err)
				}
			case errors.As(err, &verr):
				for _, f := range verr.Errors {
					got = append(got, f.Field)
				}
			default:
				t.Fatalf("%s: %v, want an error naming %v", what, err, fields)
			}
			if !slices.Equal(got, fields) {
				t.Errorf("%s: fields %v, want %v (%v)", what, got, fields, err)
			}
			if n := e.names(t, nil); !slices.Equal(n, []string{"handmade"}) {
				t.Errorf("%s: a refused sync left targets %v", what, n)
			}
		}

		wantFields("a target of the same name not labelled the owner's",
			sync(owned("team-a", "fine"), owned("team-a", "handmade")), "targets[1].name")
		wantFields("a dependency on nothing",
			sync(owned("team-a", "fine"), owned("team-a", "web", "nowhere")), "targets[1].depends_on[0]")
		wantFields("a cycle inside the request",
			sync(owned("team-a", "a", "b"), owned("team-a", "b", "a")), "targets[0].depends_on", "targets[1].depends_on")
		ch := owned("team-a", "web")
		ch.Channels = []string{"nowhere"}
		wantFields("a channel that does not exist", sync(owned("team-a", "fine"), ch), "targets[1].channels[0]")

		_, err := e.Sync(bg, uptime.Sync{Owner: "team-a", SyncTargets: true,
			Targets: []uptime.Target{owned("team-a", "fine"), owned("team-a", "bad")},
			PrepareTarget: func(t, old *uptime.Target) error {
				if t.Name == "bad" {
					return uptime.Invalid("url", "is not good")
				}
				return nil
			}})
		wantFields("an entry its preparation refuses", err, "targets[1].url")

		fatalIf(t, e.CreateChannel(bg, &uptime.Channel{Name: "theirs", Kind: "webhook", URL: "https://x.example.com"}), "channel")
		_, err = e.Sync(bg, uptime.Sync{Owner: "team-a", SyncChannels: true, SyncTargets: true,
			Targets:  []uptime.Target{owned("team-a", "fine")},
			Channels: []uptime.Channel{{Name: "theirs", Kind: "webhook", URL: "https://y.example.com", Owner: "team-a"}}})
		wantFields("a channel not the owner's", err, "channels[0].name")
		c, err := e.GetChannel(bg, "theirs")
		fatalIf(t, err, "get channel")
		if c.URL != "https://x.example.com" {
			t.Errorf("a refused sync changed another's channel: %v", c.URL.Reveal())
		}
	})
}
