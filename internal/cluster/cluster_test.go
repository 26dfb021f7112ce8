package cluster

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/lookout/lookout/internal/uptime"
)

// fakeStore hands the leases a test sets, and logs the calls made.
type fakeStore struct {
	mu       sync.Mutex
	leases   uptime.Leases
	targets  []uptime.Snapshot
	calls    []string
	released []int
	reqs     []uptime.LeaseRequest
}

func (f *fakeStore) log(c string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, c)
}

func (f *fakeStore) Lease(_ context.Context, req uptime.LeaseRequest) (uptime.Leases, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, "lease")
	f.reqs = append(f.reqs, req)
	l := f.leases
	l.Held = map[int]int64{}
	for s, e := range f.leases.Held {
		l.Held[s] = e
	}
	return l, nil
}

func (f *fakeStore) ReleaseLeases(_ context.Context, shards []int) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, "release")
	f.released = append(f.released, shards...)
	for _, s := range shards {
		delete(f.leases.Held, s)
	}
	return nil
}

func (f *fakeStore) Leave(context.Context) error { f.log("leave"); return nil }
func (f *fakeStore) Flush(context.Context) error { f.log("flush"); return nil }

func (f *fakeStore) Changes(_ context.Context, since int64) ([]uptime.Snapshot, []int64, int64, bool, error) {
	f.log("changes")
	if since > 0 {
		return nil, nil, since, false, nil
	}
	return slices.Clone(f.targets), nil, 1, false, nil
}

func (f *fakeStore) log0() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := f.calls
	f.calls = nil
	return out
}

func held(shards ...int) map[int]int64 {
	m := map[int]int64{}
	for _, s := range shards {
		m[s] = int64(10 + s)
	}
	return m
}

func ids(sns []uptime.Snapshot) []int64 {
	var out []int64
	for _, sn := range sns {
		out = append(out, sn.Target.ID)
	}
	return out
}

// The scheduler is handed the targets of the shards held, with their
// epochs, all again after the shards held changed; the excess beyond the
// share is taken from the scheduler, flushed, then released.
func TestMember(t *testing.T) {
	ctx := context.Background()
	f := &fakeStore{}
	// Two targets of shard 1, two of shard 2, one of shard 3.
	want := map[int]int{1: 2, 2: 2, 3: 1}
	var of12 []int64
	for id := int64(1); len(f.targets) < 5; id++ {
		if s := uptime.ShardOf(id); want[s] > 0 {
			want[s]--
			f.targets = append(f.targets, uptime.Snapshot{Target: uptime.Target{ID: id}})
			if s != 3 {
				of12 = append(of12, id)
			}
		}
	}
	in3 := f.targets[slices.IndexFunc(f.targets, func(sn uptime.Snapshot) bool { return uptime.ShardOf(sn.Target.ID) == 3 })].Target.ID
	f.leases = uptime.Leases{Held: held(1, 2), Live: 1, Share: 256}
	m := New(f, Config{TTL: time.Second})
	var resyncs int
	resync := func(ctx context.Context) error {
		resyncs++
		f.log("resync")
		_, _, _, _, err := m.Changes(ctx, 1)
		return err
	}
	if err := m.Turn(ctx, nil); err != nil {
		t.Fatal(err)
	}
	changed, _, _, reset, err := m.Changes(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	if got := ids(changed); !slices.Equal(got, of12) || !reset {
		t.Fatalf("handed %v (reset %v), want the targets of shards 1 and 2", got, reset)
	}
	for _, sn := range changed {
		if want := int64(10 + uptime.ShardOf(sn.Target.ID)); sn.Epoch != want {
			t.Errorf("target %d handed at epoch %d, want %d", sn.Target.ID, sn.Epoch, want)
		}
	}
	if !m.Owns(of12[0]) || m.Owns(in3) {
		t.Errorf("owns %d: %v (want true), %d: %v (want false)", of12[0], m.Owns(of12[0]), in3, m.Owns(in3))
	}
	// Nothing changed: the feed is followed from where it was.
	if _, _, _, reset, _ := m.Changes(ctx, 1); reset {
		t.Error("handed everything again with no change of the shards held")
	}

	// Shard 3 gained: the scheduler resyncs at once, with everything.
	f.leases.Held = held(1, 2, 3)
	f.log0()
	if err := m.Turn(ctx, resync); err != nil {
		t.Fatal(err)
	}
	if calls := f.log0(); !slices.Equal(calls, []string{"lease", "resync", "changes"}) {
		t.Errorf("a turn that gained a shard made calls %v", calls)
	}
	// Two others joined: the share is 2 of 3; shard 3 is given up, the
	// scheduler forgets it, the results are flushed, then it is released.
	f.leases.Live, f.leases.Share = 3, 2
	if err := m.Turn(ctx, resync); err != nil {
		t.Fatal(err)
	}
	if calls := f.log0(); !slices.Equal(calls, []string{"lease", "resync", "changes", "flush", "release"}) {
		t.Errorf("a turn over the share made calls %v, want the resync and the flush before the release", calls)
	}
	if !slices.Equal(f.released, []int{3}) || m.Owns(in3) {
		t.Errorf("released %v (owns target %d of shard 3: %v), want shard 3", f.released, in3, m.Owns(in3))
	}
	if st := m.Status(); st.Held != 2 || st.Leaving != 0 || st.Live != 3 || st.Changes != 4 {
		t.Errorf("status %+v, want 2 held, none leaving, 3 alive, 4 changes (2+1 gained, 1 released)", st)
	}

	// Back from a lapse: expired leases are not claimed for a TTL.
	f.leases.Rejoined = true
	if err := m.Turn(ctx, resync); err != nil {
		t.Fatal(err)
	}
	f.leases.Rejoined = false
	if err := m.Turn(ctx, resync); err != nil {
		t.Fatal(err)
	}
	if r := f.reqs[len(f.reqs)-1]; r.ClaimExpired {
		t.Error("the turn after a lapse claims expired leases, want it to wait a TTL")
	}
}
