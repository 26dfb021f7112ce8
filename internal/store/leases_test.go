package store

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/lookout/lookout/internal/uptime"
)

// leaseTTL is long, so that an instance of a test never lapses while the
// test runs on a loaded machine: lapses are made by ageing the rows (age),
// which stands in for the database's clock moving on.
const leaseTTL = time.Minute

// member is one instance of a test cluster: its own DB on the shared
// database, opened under its own instance id.
type member struct {
	*DB
	id string
}

// cluster opens one DB per id on e's database.
func (e *env) cluster(t *testing.T, ids ...string) []*member {
	t.Helper()
	var out []*member
	for _, id := range ids {
		opts := e.opts
		opts.Instance = id
		db, err := Open(context.Background(), e.dsn, opts)
		fatalIf(t, err, "open instance %s", id)
		t.Cleanup(func() { db.Close() })
		out = append(out, &member{db, id})
	}
	return out
}

// turn runs one lease turn that may claim expired leases.
func (m *member) turn(t *testing.T) uptime.Leases {
	t.Helper()
	l, err := m.Lease(bg, uptime.LeaseRequest{TTL: leaseTTL, ClaimExpired: true, Address: "http://" + m.id, Version: "test"})
	fatalIf(t, err, "lease turn of %s", m.id)
	return l
}

// age moves the instance's heartbeat and lease expiry back by d, as if
// the database's clock had moved d on without it.
func (m *member) age(t *testing.T, d time.Duration) {
	t.Helper()
	for _, q := range []string{
		`UPDATE instances SET heartbeat_at = heartbeat_at - $2::float8 * interval '1 millisecond' WHERE id = $1`,
		`UPDATE shard_leases SET expires_at = expires_at - $2::float8 * interval '1 millisecond' WHERE owner = $1`,
	} {
		_, err := m.wdb.Exec(q, m.id, msf(d))
		fatalIf(t, err, "age %s", m.id)
	}
}

// release gives up the shards the instance holds beyond its share, the
// highest first, as the lease loop does.
func (m *member) release(t *testing.T, l uptime.Leases) {
	t.Helper()
	shards := slices.Sorted(maps.Keys(l.Held))
	if n := len(shards) - l.Share; n > 0 {
		fatalIf(t, m.ReleaseLeases(bg, shards[len(shards)-n:]), "release of %s", m.id)
	}
}

func holds(ls ...uptime.Leases) []int {
	out := make([]int, len(ls))
	for i, l := range ls {
		out[i] = len(l.Held)
	}
	return out
}

func TestLeases(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		t.Parallel()
		e := openEnv(t, b)
		if b.name != "postgres" {
			if _, err := e.Lease(bg, uptime.LeaseRequest{TTL: leaseTTL}); err == nil {
				t.Error("leases on SQLite: no error, want one saying they need PostgreSQL")
			}
			return
		}
		ms := e.cluster(t, "a", "b", "c")
		a, bb, c := ms[0], ms[1], ms[2]

		// Alone, a takes every shard, at epoch 1.
		la := a.turn(t)
		if la.Live != 1 || la.Share != uptime.Shards || len(la.Held) != uptime.Shards || la.Rejoined {
			t.Fatalf("a alone: live %d share %d holds %d rejoined %v, want 1, %d, %d, false", la.Live, la.Share, len(la.Held), la.Rejoined, uptime.Shards, uptime.Shards)
		}
		for s, ep := range la.Held {
			if ep != 1 {
				t.Fatalf("shard %d at epoch %d, want 1", s, ep)
			}
		}
		// b joins: its share is half, but nothing is free until a makes
		// room; a renews and keeps its epochs.
		lb := bb.turn(t)
		if lb.Live != 2 || lb.Share != 128 || len(lb.Held) != 0 {
			t.Fatalf("b joining: live %d share %d holds %d, want 2, 128, 0", lb.Live, lb.Share, len(lb.Held))
		}
		la2 := a.turn(t)
		if la2.Share != 128 || !maps.Equal(la2.Held, la.Held) {
			t.Fatalf("a after b joined: share %d, holds %d (same epochs %v), want 128 and all it held", la2.Share, len(la2.Held), maps.Equal(la2.Held, la.Held))
		}
		a.release(t, la2)
		lb = bb.turn(t)
		if len(lb.Held) != 128 {
			t.Fatalf("b after a made room holds %d, want 128", len(lb.Held))
		}
		for s, ep := range lb.Held {
			if ep != 2 || s < 128 {
				t.Fatalf("b holds shard %d at epoch %d, want the shards a released (128…255) at epoch 2", s, ep)
			}
		}

		// c joins: a and b make room down to ceil(256/3) = 86 each, and c
		// takes what they released.
		lc := c.turn(t)
		if lc.Live != 3 || lc.Share != 86 || len(lc.Held) != 0 {
			t.Fatalf("c joining: live %d share %d holds %d", lc.Live, lc.Share, len(lc.Held))
		}
		a.release(t, a.turn(t))
		bb.release(t, bb.turn(t))
		lc = c.turn(t)
		la, lb = a.turn(t), bb.turn(t)
		if got := holds(la, lb, lc); !slices.Equal(got, []int{86, 86, 84}) {
			t.Fatalf("three instances hold %v, want [86 86 84]", got)
		}
		owners := map[int]string{}
		for _, x := range []struct {
			id string
			l  uptime.Leases
		}{{"a", la}, {"b", lb}, {"c", lc}} {
			for s := range x.l.Held {
				if o, dup := owners[s]; dup {
					t.Fatalf("shard %d held by both %s and %s", s, o, x.id)
				}
				owners[s] = x.id
			}
		}
		if len(owners) != uptime.Shards {
			t.Fatalf("%d shards held, want all %d", len(owners), uptime.Shards)
		}

		// c stops heartbeating: once its leases ran out, a and b share
		// its shards under new epochs.
		c.age(t, 2*leaseTTL)
		la, lb = a.turn(t), bb.turn(t)
		if la.Live != 2 || la.Share != 128 {
			t.Fatalf("after c lapsed: live %d share %d, want 2, 128", la.Live, la.Share)
		}
		if got := holds(la, lb); !slices.Equal(got, []int{128, 128}) {
			t.Fatalf("after c lapsed a and b hold %v, want [128 128]", got)
		}
		for s, ep := range lc.Held {
			if got, ok := la.Held[s]; ok && got != ep+1 {
				t.Errorf("a took c's shard %d at epoch %d, want %d", s, got, ep+1)
			}
			if got, ok := lb.Held[s]; ok && got != ep+1 {
				t.Errorf("b took c's shard %d at epoch %d, want %d", s, got, ep+1)
			}
		}
		// c comes back: it rejoins holding nothing, and a and b make room.
		lc = c.turn(t)
		if !lc.Rejoined || len(lc.Held) != 0 || lc.Live != 3 {
			t.Fatalf("c back: rejoined %v, holds %d, live %d; want true, 0, 3", lc.Rejoined, len(lc.Held), lc.Live)
		}
		a.release(t, a.turn(t))
		bb.release(t, bb.turn(t))
		if lc = c.turn(t); len(lc.Held) != 84 {
			t.Errorf("c after a and b made room holds %d, want 84", len(lc.Held))
		}

		// The database was out of reach of all three for longer than the
		// leases: the first back renews its own and leaves the others'
		// for them to renew.
		for _, m := range ms {
			m.age(t, 2*leaseTTL)
		}
		la = a.turn(t)
		if !la.Rejoined || len(la.Held) != 86 {
			t.Fatalf("a first back: rejoined %v, holds %d; want true and its own 86", la.Rejoined, len(la.Held))
		}
		lb, lc = bb.turn(t), c.turn(t)
		if got := holds(la, lb, lc); !slices.Equal(got, []int{86, 86, 84}) {
			t.Errorf("after a cut all were back from, they hold %v, want [86 86 84]", got)
		}
		// Renewing keeps the epoch; the leases run a TTL from the
		// database's now.
		if la2 := a.turn(t); !maps.Equal(la2.Held, la.Held) {
			t.Error("a renewing its leases changed their epochs")
		}
		var soonest time.Duration
		fatalIf(t, a.rdb.QueryRow(`SELECT CAST(EXTRACT(EPOCH FROM min(expires_at) - now()) * 1000 AS bigint) FROM shard_leases WHERE owner = 'a'`).Scan(&soonest), "expiry")
		if soonest *= time.Millisecond; soonest < leaseTTL/2 || soonest > leaseTTL {
			t.Errorf("a's leases expire in %s at the soonest, want about %s", soonest, leaseTTL)
		}
	})
}

func TestLeaseInstanceIDs(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		if b.name != "postgres" {
			t.Skip("SQLite is served by one instance: no leases")
		}
		t.Parallel()
		e := openEnv(t, b)
		first := e.cluster(t, "a")[0]
		held := first.turn(t).Held
		// A second process under the same id is refused while the first
		// is alive…
		second := e.cluster(t, "a")[0]
		_, err := second.Lease(bg, uptime.LeaseRequest{TTL: leaseTTL, ClaimExpired: true})
		if !errors.Is(err, ErrInstanceInUse) {
			t.Fatalf("a second live process under id a: %v, want ErrInstanceInUse", err)
		}
		// …and takes the id over once the first stopped heartbeating,
		// under new epochs that fence the first one's writes off.
		first.age(t, 2*leaseTTL)
		l := second.turn(t)
		if len(l.Held) != len(held) {
			t.Fatalf("the new process under id a holds %d shards, want the %d of the old", len(l.Held), len(held))
		}
		for s, ep := range l.Held {
			if ep != held[s]+1 {
				t.Fatalf("shard %d at epoch %d after the id changed process, want %d", s, ep, held[s]+1)
			}
		}
		if _, err := first.Lease(bg, uptime.LeaseRequest{TTL: leaseTTL}); !errors.Is(err, ErrInstanceInUse) {
			t.Errorf("the old process coming back: %v, want ErrInstanceInUse", err)
		}
	})
}

func TestClusterView(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		if b.name != "postgres" {
			t.Skip("SQLite is served by one instance: no cluster")
		}
		t.Parallel()
		e := openEnv(t, b)
		for i := range 10 {
			e.mustCreate(t, fmt.Sprintf("t%d", i), nil)
		}
		ms := e.cluster(t, "a", "b", "gone")
		for _, m := range ms {
			m.turn(t)
		}
		// a holds everything; b holds nothing yet; gone left.
		fatalIf(t, ms[2].Leave(bg), "leave")
		view, err := e.Cluster(bg, leaseTTL)
		fatalIf(t, err, "cluster view")
		if len(view) != 2 {
			t.Fatalf("cluster view lists %d instances, want a and b: %+v", len(view), view)
		}
		if v := view[0]; v.ID != "a" || !v.Alive || v.Shards != uptime.Shards || v.Targets != 10 || v.Address != "http://a" ||
			v.Version != "test" || v.StartedAt.IsZero() || v.HeartbeatAt.Before(v.StartedAt) {
			t.Errorf("a in the view: %+v, want alive with every shard and the 10 targets", v)
		}
		if v := view[1]; v.ID != "b" || !v.Alive || v.Shards != 0 || v.Targets != 0 {
			t.Errorf("b in the view: %+v, want alive with nothing", v)
		}
		// A dead instance stays listed, dead; once it has been dead an
		// hour holding nothing the retention job forgets it.
		ms[1].age(t, 2*leaseTTL)
		view, err = e.Cluster(bg, leaseTTL)
		fatalIf(t, err, "cluster view")
		if len(view) != 2 || view[1].Alive {
			t.Errorf("b lapsed: %+v, want listed and dead", view)
		}
		_, err = e.Prune(bg, e.clock.Now(), Retention{})
		fatalIf(t, err, "prune")
		view, err = e.Cluster(bg, leaseTTL)
		fatalIf(t, err, "cluster view")
		if len(view) != 2 {
			t.Errorf("b dead a moment, after the retention job: %+v, want it listed", view)
		}
		ms[1].age(t, 2*time.Hour)
		view, err = e.Cluster(bg, leaseTTL)
		fatalIf(t, err, "cluster view")
		if len(view) != 2 {
			t.Errorf("b dead two hours, before the retention job: %+v, want it listed still: reading the view writes nothing", view)
		}
		st, err := e.Prune(bg, e.clock.Now(), Retention{})
		fatalIf(t, err, "prune")
		if st.Instances != 1 {
			t.Errorf("the retention job forgot %d instances, want b", st.Instances)
		}
		view, err = e.Cluster(bg, leaseTTL)
		fatalIf(t, err, "cluster view")
		if len(view) != 1 {
			t.Errorf("b dead two hours: %+v, want it forgotten", view)
		}
	})
}

func TestExclusive(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		t.Parallel()
		e := openEnv(t, b)
		if b.name != "postgres" {
			ran, err := e.Exclusive(bg, "rollup", func(context.Context) error { return nil })
			if !ran || err != nil {
				t.Errorf("on SQLite: ran %v, %v; want the job run", ran, err)
			}
			return
		}
		ms := e.cluster(t, "a", "b")
		holding, release := make(chan struct{}), make(chan struct{})
		done := make(chan error, 1)
		go func() {
			_, err := ms[0].Exclusive(bg, "rollup", func(context.Context) error {
				close(holding)
				<-release
				return errors.New("the job's own error")
			})
			done <- err
		}()
		<-holding
		ran, err := ms[1].Exclusive(bg, "rollup", func(context.Context) error {
			t.Error("a job ran on b while a ran it")
			return nil
		})
		if ran || err != nil {
			t.Errorf("the same job on b while a runs it: ran %v, %v; want skipped", ran, err)
		}
		other := false
		if ran, err := ms[1].Exclusive(bg, "retention", func(context.Context) error { other = true; return nil }); !ran || err != nil || !other {
			t.Errorf("another job on b meanwhile: ran %v, %v", ran, err)
		}
		close(release)
		if err := <-done; err == nil || err.Error() != "the job's own error" {
			t.Errorf("a's run returned %v, want the job's error", err)
		}
		again := false
		if ran, err := ms[1].Exclusive(bg, "rollup", func(context.Context) error { again = true; return nil }); !ran || err != nil || !again {
			t.Errorf("the job on b once a is done: ran %v, %v", ran, err)
		}
	})
}

// A result is stored whatever its lease; the state and events of an
// observation made under a lease its instance lost are not. A check by an
// instance not holding the target stores its result alone.
func TestFencedWrites(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		t.Parallel()
		e := openEnv(t, b)
		x := e.mustCreate(t, "x", nil)
		at := e.clock.Now()
		state := func() uptime.State {
			t.Helper()
			sn, err := e.GetTarget(bg, "x")
			fatalIf(t, err, "get x")
			return sn.State
		}

		// A result alone changes no state and raises nothing.
		down := obs(x.ID, at, uptime.StatusDown, "refused")
		only := down
		only.ResultOnly = true
		e.Record(only)
		e.mustFlush(t)
		if n, st := e.count(t, "results"), state(); n != 1 || st.Status != uptime.StatusUnknown || e.count(t, "incidents") != 0 {
			t.Fatalf("a result alone: %d results, state %s, %d incidents; want 1, unknown, 0", n, st.Status, e.count(t, "incidents"))
		}
		if b.name != "postgres" {
			return
		}

		ms := e.cluster(t, "a", "b")
		a, bb := ms[0], ms[1]
		epoch := a.turn(t).Held[uptime.ShardOf(x.ID)]
		down = obs(x.ID, at.Add(time.Second), uptime.StatusDown, "refused")
		down.Epoch = epoch
		a.Record(down)
		fatalIf(t, a.Flush(bg), "flush a")
		if st := state(); st.Status != uptime.StatusDown || e.count(t, "incidents") != 1 {
			t.Fatalf("a holding x's shard: state %s, %d incidents; want down and one", st.Status, e.count(t, "incidents"))
		}

		// a lapses and b takes x's shard over: a's next observation, made
		// under the old epoch, keeps its result and loses the rest.
		a.age(t, 2*leaseTTL)
		lb := bb.turn(t)
		if got := lb.Held[uptime.ShardOf(x.ID)]; got != epoch+1 {
			t.Fatalf("b took x's shard at epoch %d, want %d", got, epoch+1)
		}
		up := obs(x.ID, at.Add(2*time.Second), uptime.StatusUp, "")
		up.State, up.Events = uptime.State{Status: uptime.StatusUp, LastCheck: up.Result.StartedAt},
			[]uptime.Event{{Type: uptime.EventIncidentResolved, TargetID: x.ID, At: up.Result.StartedAt}}
		up.Epoch = epoch
		a.Record(up)
		fatalIf(t, a.Flush(bg), "flush a")
		if n, st := e.count(t, "results"), state(); n != 3 || st.Status != uptime.StatusDown {
			t.Errorf("a's write after losing the lease: %d results, state %s; want 3 results and the state still down", n, st.Status)
		}
		if f := a.WriterStats().Fenced; f != 2 {
			t.Errorf("a's writer refused %d writes, want 2 (the state and the event)", f)
		}
		var open int
		fatalIf(t, e.rdb.QueryRow(`SELECT COUNT(*) FROM incidents WHERE resolved_at = 0`).Scan(&open), "count open incidents")
		if open != 1 || e.count(t, "events") != 1 {
			t.Errorf("after a's fenced resolution: %d open incidents, %d events; want 1 and only the opening", open, e.count(t, "events"))
		}
		// b's own write under the new epoch goes through.
		up.Epoch, up.Result.StartedAt = epoch+1, at.Add(3*time.Second)
		bb.Record(up)
		fatalIf(t, bb.Flush(bg), "flush b")
		if st := state(); st.Status != uptime.StatusUp {
			t.Errorf("b's write under the new epoch: state %s, want up", st.Status)
		}
		if f := bb.WriterStats().Fenced; f != 0 {
			t.Errorf("b's writer refused %d writes, want none", f)
		}
	})
}

// A claim skips a shard whose holder is writing a batch: the new holder
// loads the state only after the old one's last write under its lease.
func TestClaimWaitsForTheHoldersBatch(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		if b.name != "postgres" {
			t.Skip("SQLite is served by one instance: no leases")
		}
		t.Parallel()
		e := openEnv(t, b)
		ms := e.cluster(t, "a", "b")
		a, bb := ms[0], ms[1]
		a.turn(t)
		tx, err := a.wdb.BeginTx(bg, nil)
		fatalIf(t, err, "begin")
		defer tx.Rollback()
		held, err := a.held(bg, tx, "FOR KEY SHARE")
		fatalIf(t, err, "lock a's leases as a batch does")
		if len(held) != uptime.Shards {
			t.Fatalf("a holds %d shards, want all", len(held))
		}
		// a's own renewal does not wait for its batch.
		ctx, cancel := context.WithTimeout(bg, 10*time.Second)
		defer cancel()
		if l, err := a.Lease(ctx, uptime.LeaseRequest{TTL: leaseTTL}); err != nil || len(l.Held) != uptime.Shards {
			t.Fatalf("a renewing during its batch: %v, holds %d; want it not to wait", err, len(l.Held))
		}
		a.age(t, 2*leaseTTL)
		if l := bb.turn(t); len(l.Held) != 0 {
			t.Fatalf("b claimed %d shards while a's batch held them, want none", len(l.Held))
		}
		fatalIf(t, tx.Commit(), "commit a's batch")
		if l := bb.turn(t); len(l.Held) != uptime.Shards {
			t.Errorf("b after a's batch claimed %d shards, want all", len(l.Held))
		}
	})
}
