package web

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/lookout/lookout/internal/uptime"
)

// fakeStore is an in-memory Store with the real one's contract.
type fakeStore struct {
	mu      sync.Mutex
	now     func() time.Time
	nextID  int64
	targets map[string]uptime.Snapshot
	results map[int64][]uptime.Result // newest first
	err     error                     // returned by every call when set
	lists   int                       // ListTargets calls

	channels    map[string]uptime.Channel
	incidents   []uptime.Incident // any order; listed by id descending
	deliveries  []uptime.Delivery // any order; listed by id descending
	silences    []uptime.Silence
	maintenance []uptime.Maintenance

	// components holds each target's component points, oldest first.
	components map[int64]map[string][]uptime.ComponentPoint

	// History as the store would add it up: tallies and trends by
	// "target" or "target/component", every target's days by window
	// start, the fleet's tally; asked records each [from, to) asked.
	tallies map[string]uptime.Tally
	trends  map[string][]uptime.Rollup
	daily   map[time.Time]map[int64]uptime.Tally
	fleet   uptime.Tally
	asked   [][2]time.Time
}

func seriesKey(target, component string) string {
	if component != "" {
		return target + "/" + component
	}
	return target
}

func (f *fakeStore) Tally(ctx context.Context, target, component string, from, to time.Time) (uptime.Tally, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.targets[target]; !ok {
		return uptime.Tally{}, uptime.ErrNotFound
	}
	f.asked = append(f.asked, [2]time.Time{from, to})
	return f.tallies[seriesKey(target, component)], nil
}

func (f *fakeStore) EachTrendBucket(ctx context.Context, target, component string, from, to time.Time, step time.Duration, fn func(b *uptime.Rollup)) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.targets[target]; !ok {
		return uptime.ErrNotFound
	}
	if _, ok := f.components[f.targets[target].Target.ID][component]; component != "" && !ok {
		return uptime.ErrNotFound
	}
	f.asked = append(f.asked, [2]time.Time{from, to})
	for _, b := range f.trends[seriesKey(target, component)] {
		fn(&b)
	}
	return nil
}

func (f *fakeStore) EachDailyTally(ctx context.Context, from, to time.Time, fn func(id int64, t *uptime.Tally)) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.asked = append(f.asked, [2]time.Time{from, to})
	for id, t := range f.daily[from] {
		fn(id, &t)
	}
	return nil
}

func (f *fakeStore) TargetNames(ctx context.Context, labels map[string]string) (map[int64]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[int64]string{}
	for _, sn := range f.targets {
		if uptime.Matches(sn.Target.Labels, labels) {
			out[sn.Target.ID] = sn.Target.Name
		}
	}
	return out, nil
}

func (f *fakeStore) FleetTally(ctx context.Context, from, to time.Time) (uptime.Tally, time.Time, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.asked = append(f.asked, [2]time.Time{from, to})
	return f.fleet, to.Add(-time.Minute), nil
}

func (f *fakeStore) StateCounts(ctx context.Context) (map[string]int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string]int{}
	for _, sn := range f.targets {
		if sn.Target.Paused {
			out["paused"]++
		} else {
			out[sn.State.Status.String()]++
		}
	}
	return out, nil
}

// IncidentStats sums up the incidents the filter lists, every page.
func (f *fakeStore) IncidentStats(ctx context.Context, flt uptime.IncidentFilter) (uptime.IncidentStats, error) {
	flt.Limit, flt.Before = 0, 0
	incs, err := f.ListIncidents(ctx, flt)
	if err != nil {
		return uptime.IncidentStats{}, err
	}
	var spans []uptime.Span
	for _, i := range incs {
		spans = append(spans, uptime.Span{TargetID: i.TargetID, Started: i.StartedAt, Resolved: i.ResolvedAt})
	}
	return uptime.SumIncidents(spans), nil
}

func (f *fakeStore) OpenIncidentCount(ctx context.Context) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, i := range f.incidents {
		if i.Open() {
			n++
		}
	}
	return n, nil
}

func newFakeStore(now func() time.Time) *fakeStore {
	return &fakeStore{now: now, targets: map[string]uptime.Snapshot{}, results: map[int64][]uptime.Result{},
		channels: map[string]uptime.Channel{}}
}

func clone(t uptime.Target) uptime.Target {
	t.Labels = maps.Clone(t.Labels)
	t.DependsOn = slices.Clone(t.DependsOn)
	t.Channels = slices.Clone(t.Channels)
	t.TLSExpiryWarn = slices.Clone(t.TLSExpiryWarn)
	t.Components = maps.Clone(t.Components)
	if t.HTTP != nil {
		h := *t.HTTP
		h.Headers = maps.Clone(h.Headers)
		t.HTTP = &h
	}
	return t
}

func (f *fakeStore) CreateTarget(ctx context.Context, t *uptime.Target) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return f.err
	}
	if _, ok := f.targets[t.Name]; ok {
		return fmt.Errorf("create target %q: %w", t.Name, uptime.ErrConflict)
	}
	if err := f.refuseDangling(t, nil); err != nil {
		return fmt.Errorf("create target %q: %w", t.Name, err)
	}
	f.nextID++
	t.ID, t.CreatedAt, t.UpdatedAt = f.nextID, f.now(), f.now()
	f.targets[t.Name] = uptime.Snapshot{Target: clone(*t)}
	return nil
}

// Sync prepares every entry as new and reports it created, writing
// nothing: enough to exercise the decoding in front of the store. The
// sync itself is tested against real stores in internal/store and
// cmd/lookout.
func (f *fakeStore) Sync(ctx context.Context, s uptime.Sync) (uptime.SyncResult, error) {
	var res uptime.SyncResult
	for _, t := range s.Targets {
		if err := s.PrepareTarget(&t, nil); err != nil {
			return uptime.SyncResult{}, err
		}
		res.Targets = append(res.Targets, uptime.Synced[uptime.Target]{Name: t.Name, New: &t, Changed: true})
	}
	for _, c := range s.Channels {
		if err := s.PrepareChannel(&c, nil); err != nil {
			return uptime.SyncResult{}, err
		}
		res.Channels = append(res.Channels, uptime.Synced[uptime.Channel]{Name: c.Name, New: &c, Changed: true})
	}
	return res, nil
}

func (f *fakeStore) PutTarget(ctx context.Context, t *uptime.Target) (created, changed bool, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return false, false, f.err
	}
	old, ok := f.targets[t.Name]
	var prev *uptime.Target
	if ok {
		prev = &old.Target
	}
	if err := f.refuseDangling(t, prev); err != nil {
		return false, false, fmt.Errorf("put target %q: %w", t.Name, err)
	}
	if !ok {
		f.nextID++
		t.ID, t.CreatedAt, t.UpdatedAt = f.nextID, f.now(), f.now()
		f.targets[t.Name] = uptime.Snapshot{Target: clone(*t)}
		return true, true, nil
	}
	t.ID, t.CreatedAt = old.Target.ID, old.Target.CreatedAt
	if old.Target.SameSpec(t) {
		t.UpdatedAt = old.Target.UpdatedAt
		return false, false, nil
	}
	t.UpdatedAt = f.now()
	f.targets[t.Name] = uptime.Snapshot{Target: clone(*t), State: old.State}
	return false, true, nil
}

func (f *fakeStore) UpdateTarget(ctx context.Context, name string, fn func(*uptime.Target) error) (uptime.Target, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return uptime.Target{}, f.err
	}
	old, ok := f.targets[name]
	if !ok {
		return uptime.Target{}, fmt.Errorf("update target %q: %w", name, uptime.ErrNotFound)
	}
	t := clone(old.Target)
	if err := fn(&t); err != nil {
		return uptime.Target{}, err
	}
	if err := f.refuseDangling(&t, &old.Target); err != nil {
		return uptime.Target{}, fmt.Errorf("update target %q: %w", name, err)
	}
	t.UpdatedAt = f.now()
	f.targets[name] = uptime.Snapshot{Target: clone(t), State: old.State}
	return t, nil
}

// refuseDangling is the store's check of references; the caller holds f.mu.
func (f *fakeStore) refuseDangling(t, old *uptime.Target) error {
	return t.CheckReferences(old, func(r uptime.Reference) (bool, error) {
		if r.Channel {
			_, ok := f.channels[r.Name]
			return ok, nil
		}
		_, ok := f.targets[r.Name]
		return ok || r.Name == t.Name, nil
	})
}

func (f *fakeStore) GetTarget(ctx context.Context, name string) (uptime.Snapshot, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return uptime.Snapshot{}, f.err
	}
	sn, ok := f.targets[name]
	if !ok {
		return uptime.Snapshot{}, fmt.Errorf("get target %q: %w", name, uptime.ErrNotFound)
	}
	sn.Target = clone(sn.Target)
	return sn, nil
}

func (f *fakeStore) ListTargets(ctx context.Context, flt uptime.TargetFilter) ([]uptime.Snapshot, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lists++
	if f.err != nil {
		return nil, f.err
	}
	names := slices.Sorted(maps.Keys(f.targets))
	var out []uptime.Snapshot
	for _, n := range names {
		sn := f.targets[n]
		if n <= flt.After || !uptime.Matches(sn.Target.Labels, flt.Labels) {
			continue
		}
		if len(flt.Status) > 0 && !slices.Contains(flt.Status, sn.State.Status) {
			continue
		}
		sn.Target = clone(sn.Target)
		out = append(out, sn)
		if flt.Limit > 0 && len(out) == flt.Limit {
			break
		}
	}
	return out, nil
}

func (f *fakeStore) DeleteTarget(ctx context.Context, name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return f.err
	}
	if _, ok := f.targets[name]; !ok {
		return fmt.Errorf("delete target %q: %w", name, uptime.ErrNotFound)
	}
	delete(f.targets, name)
	return nil
}

// Results pages by offset; the cursor is the offset in decimal.
func (f *fakeStore) Results(ctx context.Context, q ResultQuery) ([]uptime.Result, string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return nil, "", f.err
	}
	off := 0
	if q.Cursor != "" {
		n, err := strconv.Atoi(q.Cursor)
		if err != nil || n < 0 {
			return nil, "", uptime.Invalid("cursor", "is not a cursor this API returned")
		}
		off = n
	}
	var sel []uptime.Result
	for _, r := range f.results[q.TargetID] {
		if (!q.From.IsZero() && r.StartedAt.Before(q.From)) || (!q.To.IsZero() && !r.StartedAt.Before(q.To)) {
			continue
		}
		sel = append(sel, r)
	}
	if off > len(sel) {
		off = len(sel)
	}
	end := min(off+q.Limit, len(sel))
	next := ""
	if end < len(sel) {
		next = strconv.Itoa(end)
	}
	return sel[off:end], next, nil
}

// setState sets a stored target's state directly.
// addTarget stores a target as created, with the defaults filled in.
func (f *fakeStore) addTarget(t uptime.Target) {
	t.Normalize()
	if err := f.CreateTarget(context.Background(), &t); err != nil {
		panic(err)
	}
}

func (f *fakeStore) setState(name string, st uptime.State) {
	f.mu.Lock()
	defer f.mu.Unlock()
	sn := f.targets[name]
	sn.State = st
	f.targets[name] = sn
}

func cloneChannel(c uptime.Channel) uptime.Channel {
	c.MatchLabels = maps.Clone(c.MatchLabels)
	return c
}

func (f *fakeStore) CreateChannel(ctx context.Context, c *uptime.Channel) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return f.err
	}
	if _, ok := f.channels[c.Name]; ok {
		return fmt.Errorf("create channel %q: %w", c.Name, uptime.ErrConflict)
	}
	c.CreatedAt, c.UpdatedAt = f.now(), f.now()
	f.channels[c.Name] = cloneChannel(*c)
	return nil
}

func sameChannel(a, b uptime.Channel) bool {
	a.CreatedAt, b.CreatedAt, a.UpdatedAt, b.UpdatedAt = time.Time{}, time.Time{}, time.Time{}, time.Time{}
	return a.URL == b.URL && a.Secret == b.Secret && a.Token == b.Token &&
		fmt.Sprint(a) == fmt.Sprint(b)
}

func (f *fakeStore) PutChannel(ctx context.Context, c *uptime.Channel) (created, changed bool, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return false, false, f.err
	}
	old, ok := f.channels[c.Name]
	if !ok {
		c.CreatedAt, c.UpdatedAt = f.now(), f.now()
		f.channels[c.Name] = cloneChannel(*c)
		return true, true, nil
	}
	c.CreatedAt = old.CreatedAt
	if sameChannel(old, *c) {
		c.UpdatedAt = old.UpdatedAt
		return false, false, nil
	}
	c.UpdatedAt = f.now()
	f.channels[c.Name] = cloneChannel(*c)
	return false, true, nil
}

func (f *fakeStore) GetChannel(ctx context.Context, name string) (uptime.Channel, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return uptime.Channel{}, f.err
	}
	c, ok := f.channels[name]
	if !ok {
		return uptime.Channel{}, fmt.Errorf("get channel %q: %w", name, uptime.ErrNotFound)
	}
	return cloneChannel(c), nil
}

func (f *fakeStore) ListChannels(ctx context.Context) ([]uptime.Channel, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return nil, f.err
	}
	var out []uptime.Channel
	for _, n := range slices.Sorted(maps.Keys(f.channels)) {
		out = append(out, cloneChannel(f.channels[n]))
	}
	return out, nil
}

func (f *fakeStore) UpdateChannel(ctx context.Context, name string, fn func(*uptime.Channel) error) (uptime.Channel, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return uptime.Channel{}, f.err
	}
	old, ok := f.channels[name]
	if !ok {
		return uptime.Channel{}, fmt.Errorf("update channel %q: %w", name, uptime.ErrNotFound)
	}
	c := cloneChannel(old)
	if err := fn(&c); err != nil {
		return uptime.Channel{}, err
	}
	c.UpdatedAt = f.now()
	f.channels[name] = cloneChannel(c)
	return c, nil
}

func (f *fakeStore) DeleteChannel(ctx context.Context, name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return f.err
	}
	if _, ok := f.channels[name]; !ok {
		return fmt.Errorf("delete channel %q: %w", name, uptime.ErrNotFound)
	}
	delete(f.channels, name)
	return nil
}

// ListIncidents keeps the incidents overlapping [From, To).
func (f *fakeStore) ListIncidents(ctx context.Context, flt uptime.IncidentFilter) ([]uptime.Incident, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return nil, f.err
	}
	all := slices.Clone(f.incidents)
	slices.SortFunc(all, func(a, b uptime.Incident) int { return int(b.ID - a.ID) })
	var out []uptime.Incident
	for _, i := range all {
		switch {
		case flt.Before > 0 && i.ID >= flt.Before,
			flt.Target != "" && i.Target != flt.Target,
			flt.OpenOnly && !i.Open(),
			!flt.To.IsZero() && !i.StartedAt.Before(flt.To),
			!flt.From.IsZero() && !i.Open() && i.ResolvedAt.Before(flt.From):
			continue
		}
		out = append(out, i)
		if flt.Limit > 0 && len(out) == flt.Limit {
			break
		}
	}
	return out, nil
}

func (f *fakeStore) OpenIncident(ctx context.Context, targetID int64) (uptime.Incident, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return uptime.Incident{}, f.err
	}
	for _, i := range f.incidents {
		if i.TargetID == targetID && i.Open() {
			return i, nil
		}
	}
	return uptime.Incident{}, fmt.Errorf("open incident of target %d: %w", targetID, uptime.ErrNotFound)
}

func (f *fakeStore) CreateSilence(ctx context.Context, s *uptime.Silence) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return f.err
	}
	f.nextID++
	s.ID, s.CreatedAt = f.nextID, f.now()
	s.Matchers = maps.Clone(s.Matchers)
	f.silences = append(f.silences, *s)
	return nil
}

func (f *fakeStore) ListSilences(ctx context.Context) ([]uptime.Silence, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return nil, f.err
	}
	return slices.Clone(f.silences), nil
}

func (f *fakeStore) UpdateSilence(ctx context.Context, id int64, fn func(*uptime.Silence) error) (uptime.Silence, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return uptime.Silence{}, f.err
	}
	i := slices.IndexFunc(f.silences, func(s uptime.Silence) bool { return s.ID == id })
	if i < 0 {
		return uptime.Silence{}, fmt.Errorf("update silence %d: %w", id, uptime.ErrNotFound)
	}
	next := f.silences[i]
	next.Matchers = maps.Clone(next.Matchers)
	if err := fn(&next); err != nil {
		return uptime.Silence{}, err
	}
	next.ID, next.CreatedAt = id, f.silences[i].CreatedAt
	f.silences[i] = next
	return next, nil
}

func (f *fakeStore) DeleteSilence(ctx context.Context, id int64) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return f.err
	}
	i := slices.IndexFunc(f.silences, func(s uptime.Silence) bool { return s.ID == id })
	if i < 0 {
		return fmt.Errorf("delete silence %d: %w", id, uptime.ErrNotFound)
	}
	f.silences = slices.Delete(f.silences, i, i+1)
	return nil
}

func (f *fakeStore) CreateMaintenance(ctx context.Context, m *uptime.Maintenance) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return f.err
	}
	f.nextID++
	m.ID, m.CreatedAt = f.nextID, f.now()
	m.Matchers = maps.Clone(m.Matchers)
	f.maintenance = append(f.maintenance, *m)
	return nil
}

func (f *fakeStore) ListMaintenance(ctx context.Context) ([]uptime.Maintenance, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return nil, f.err
	}
	return slices.Clone(f.maintenance), nil
}

func (f *fakeStore) UpdateMaintenance(ctx context.Context, id int64, fn func(*uptime.Maintenance) error) (uptime.Maintenance, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return uptime.Maintenance{}, f.err
	}
	i := slices.IndexFunc(f.maintenance, func(m uptime.Maintenance) bool { return m.ID == id })
	if i < 0 {
		return uptime.Maintenance{}, fmt.Errorf("update maintenance %d: %w", id, uptime.ErrNotFound)
	}
	next := f.maintenance[i]
	next.Matchers = maps.Clone(next.Matchers)
	if err := fn(&next); err != nil {
		return uptime.Maintenance{}, err
	}
	next.ID, next.CreatedAt = id, f.maintenance[i].CreatedAt
	f.maintenance[i] = next
	return next, nil
}

func (f *fakeStore) DeleteMaintenance(ctx context.Context, id int64) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return f.err
	}
	i := slices.IndexFunc(f.maintenance, func(m uptime.Maintenance) bool { return m.ID == id })
	if i < 0 {
		return fmt.Errorf("delete maintenance %d: %w", id, uptime.ErrNotFound)
	}
	f.maintenance = slices.Delete(f.maintenance, i, i+1)
	return nil
}

func (f *fakeStore) ListDeliveries(ctx context.Context, flt uptime.DeliveryFilter) ([]uptime.Delivery, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return nil, f.err
	}
	all := slices.Clone(f.deliveries)
	slices.SortFunc(all, func(a, b uptime.Delivery) int { return int(b.ID - a.ID) })
	var out []uptime.Delivery
	for _, d := range all {
		switch {
		case flt.Before > 0 && d.ID >= flt.Before,
			flt.Channel != "" && d.Channel != flt.Channel,
			flt.Target != "" && d.Event.Target != flt.Target,
			flt.Status != "" && d.Status != flt.Status:
			continue
		}
		out = append(out, d)
		if flt.Limit > 0 && len(out) == flt.Limit {
			break
		}
	}
	return out, nil
}

// fakeNotifier knows the kinds slack and webhook; a webhook needs a url.
type fakeNotifier struct {
	mu      sync.Mutex
	testErr error            // returned by Test when set
	tested  []uptime.Channel // what Test was given
}

func (n *fakeNotifier) Validate(c *uptime.Channel) error {
	switch c.Kind {
	case "slack":
		if c.URL == "" && (c.Token == "" || c.Channel == "") {
			return uptime.Invalid("url", "is required unless token and channel are given")
		}
	case "webhook":
		if c.URL == "" {
			return uptime.Invalid("url", "is required")
		}
		if !strings.HasPrefix(c.URL.Reveal(), "https://") {
			// Echoes the value, as a careless validator might: the API must scrub it.
			return uptime.Invalid("url", fmt.Sprintf("%q is not an https URL", c.URL.Reveal()))
		}
	default:
		return uptime.Invalid("kind", fmt.Sprintf("%q is not a known kind (slack or webhook)", c.Kind))
	}
	return nil
}

func (n *fakeNotifier) Test(ctx context.Context, c uptime.Channel) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.tested = append(n.tested, c)
	return n.testErr
}

// fakeScheduler records what it is told.
type fakeScheduler struct {
	mu     sync.Mutex
	result uptime.Result
	known  func(id int64) bool
}

func (s *fakeScheduler) CheckNow(ctx context.Context, id int64) (uptime.Result, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.known != nil && !s.known(id) {
		return uptime.Result{}, fmt.Errorf("check target %d: %w", id, uptime.ErrNotFound)
	}
	r := s.result
	r.TargetID = id
	return r, nil
}

// testKinds mirrors the kinds cmd/lookout registers.
var testKinds = []string{"http", "tcp", "dns", "tls", "postgres", "redis", "mysql", "grpc"}

var cronField = regexp.MustCompile(`^[0-9*/,\-A-Za-z?]+$`)

// testValidate composes the validation cmd/lookout passes as
// Config.Validate: the shared rules, the kind and the cron schedule.
func testValidate(t *uptime.Target) error {
	var v uptime.ValidationError
	if !v.Merge(t.Validate()) {
		return errors.New("unexpected validation error type")
	}
	if !slices.Contains(testKinds, t.Kind) {
		v.Add("kind", fmt.Sprintf("%q is not a known kind", t.Kind))
	}
	if t.Schedule != "" && !validCron(t.Schedule) {
		v.Add("schedule", fmt.Sprintf("%q is not a cron expression", t.Schedule))
	}
	return v.Err()
}

func validCron(s string) bool {
	if rest, ok := strings.CutPrefix(s, "@every "); ok {
		d, err := time.ParseDuration(rest)
		return err == nil && d >= time.Second
	}
	switch s {
	case "@hourly", "@daily", "@weekly", "@monthly", "@yearly", "@midnight", "@annually":
		return true
	}
	fields := strings.Fields(s)
	if len(fields) != 5 {
		return false
	}
	for _, f := range fields {
		if !cronField.MatchString(f) {
			return false
		}
	}
	return true
}

// testValidateMaintenance stands in for notify.ValidateMaintenance, whose
// problems name the spec.
func testValidateMaintenance(m *uptime.Maintenance) error {
	if m.Schedule != "" && !validCron(m.Schedule) {
		return uptime.Invalid("schedule", fmt.Sprintf("%q is not a valid cron expression: expected exactly 5 fields", m.Schedule))
	}
	return nil
}

// addComponentPoints records points of a target's component, oldest first.
func (f *fakeStore) addComponentPoints(targetID int64, name string, pts ...uptime.ComponentPoint) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.components == nil {
		f.components = map[int64]map[string][]uptime.ComponentPoint{}
	}
	if f.components[targetID] == nil {
		f.components[targetID] = map[string][]uptime.ComponentPoint{}
	}
	f.components[targetID][name] = append(f.components[targetID][name], pts...)
}

// targetByID returns a stored target; the caller holds f.mu.
func (f *fakeStore) targetByID(id int64) (uptime.Target, bool) {
	for _, sn := range f.targets {
		if sn.Target.ID == id {
			return sn.Target, true
		}
	}
	return uptime.Target{}, false
}

// component returns a component's points; the caller holds f.mu.
func (f *fakeStore) component(targetID int64, name string) ([]uptime.ComponentPoint, uptime.Target, error) {
	t, ok := f.targetByID(targetID)
	if !ok {
		return nil, t, fmt.Errorf("target %d: %w", targetID, uptime.ErrNotFound)
	}
	pts, ok := f.components[targetID][name]
	if !ok {
		return nil, t, fmt.Errorf("component %q of target %d: %w", name, targetID, uptime.ErrNotFound)
	}
	return pts, t, nil
}

// Components derives each component's state from its points: since is
// the first point of the latest run of one status.
func (f *fakeStore) Components(ctx context.Context, targetID int64) ([]uptime.ComponentState, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return nil, f.err
	}
	if _, ok := f.targetByID(targetID); !ok {
		return nil, fmt.Errorf("components of target %d: %w", targetID, uptime.ErrNotFound)
	}
	out := []uptime.ComponentState{}
	for _, name := range slices.Sorted(maps.Keys(f.components[targetID])) {
		pts := f.components[targetID][name]
		last := pts[len(pts)-1]
		c := uptime.ComponentState{Name: name, Status: last.Status, Since: last.At, LastSeen: last.At, Observed: last.Observed}
		for i := len(pts) - 1; i >= 0 && pts[i].Status == last.Status; i-- {
			c.Since = pts[i].At
		}
		out = append(out, c)
	}
	return out, nil
}

func (f *fakeStore) ComponentHistory(ctx context.Context, targetID int64, name string, from, to time.Time, limit int) ([]uptime.ComponentPoint, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return nil, f.err
	}
	pts, _, err := f.component(targetID, name)
	if err != nil {
		return nil, err
	}
	out := []uptime.ComponentPoint{}
	for i := len(pts) - 1; i >= 0 && len(out) < limit; i-- {
		p := pts[i]
		if (!from.IsZero() && p.At.Before(from)) || (!to.IsZero() && !p.At.Before(to)) {
			continue
		}
		out = append(out, p)
	}
	return out, nil
}

// ComponentTallies returns the tallies set for the target's components.
func (f *fakeStore) ComponentTallies(ctx context.Context, target string, from, to time.Time) (map[string]uptime.Tally, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	sn, ok := f.targets[target]
	if !ok {
		return nil, uptime.ErrNotFound
	}
	f.asked = append(f.asked, [2]time.Time{from, to})
	out := map[string]uptime.Tally{}
	for name := range f.components[sn.Target.ID] {
		out[name] = f.tallies[seriesKey(target, name)]
	}
	return out, nil
}
