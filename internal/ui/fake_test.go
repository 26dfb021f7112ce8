package ui

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/lookout/lookout/internal/uptime"
)

// now is the tests' clock.
var now = time.Date(2026, 3, 14, 12, 0, 0, 0, time.UTC)

// fakeStore answers from memory: each target's history is made up of one
// day pattern (its availability and latency), the same for every window.
type fakeStore struct {
	snaps      []uptime.Snapshot
	avail      map[string]float64 // availability of every day; missing: 1
	components map[int64][]uptime.ComponentState
	incidents  []uptime.Incident // newest first
	results    map[int64][]uptime.Result
	reads      int
}

func newFake() *fakeStore {
	return &fakeStore{avail: map[string]float64{}, components: map[int64][]uptime.ComponentState{}, results: map[int64][]uptime.Result{}}
}

func (f *fakeStore) add(name string, st uptime.Status, labels map[string]string) *uptime.Snapshot {
	id := int64(len(f.snaps) + 1)
	t := uptime.Target{ID: id, Name: name, Kind: "http", URL: "https://user:secret@" + name + ".internal/health",
		Interval: uptime.Duration(30 * time.Second), Timeout: uptime.Duration(10 * time.Second),
		FailureThreshold: 3, SuccessThreshold: 1, Labels: labels}
	t.Normalize()
	s := uptime.Snapshot{Target: t, State: uptime.State{Status: st, Since: now.Add(-2 * time.Hour), LastCheck: now.Add(-12 * time.Second), LastResult: st}}
	f.snaps = append(f.snaps, s)
	slices.SortFunc(f.snaps, func(a, b uptime.Snapshot) int { return strings.Compare(a.Target.Name, b.Target.Name) })
	for i := range f.snaps {
		if f.snaps[i].Target.ID == id {
			return &f.snaps[i]
		}
	}
	return nil
}

func (f *fakeStore) byName(name string) (*uptime.Snapshot, bool) {
	for i := range f.snaps {
		if f.snaps[i].Target.Name == name {
			return &f.snaps[i], true
		}
	}
	return nil, false
}

func (f *fakeStore) byID(id int64) (*uptime.Snapshot, bool) {
	for i := range f.snaps {
		if f.snaps[i].Target.ID == id {
			return &f.snaps[i], true
		}
	}
	return nil, false
}

// tally is span of the target's history: checks every 30 s, a share of
// the time down, latencies of 20 to 80 ms.
func (f *fakeStore) tally(name string, span time.Duration) uptime.Tally {
	a, ok := f.avail[name]
	if !ok {
		a = 1
	}
	var t uptime.Tally
	n := int(span / (30 * time.Second))
	down := int(float64(n) * (1 - a))
	t.Up, t.Down = n-down, down
	t.DownTime = time.Duration(down) * 30 * time.Second
	t.UpTime = span - t.DownTime
	for i := range min(n, 122) { // a sample: two rounds of the 61 latencies
		d := time.Duration(20+i%61) * time.Millisecond
		t.Latency.Add(d)
		t.LatencySum += d
		if t.LatencyMin == 0 || d < t.LatencyMin {
			t.LatencyMin = d
		}
		t.LatencyMax = max(t.LatencyMax, d)
	}
	return t
}

func (f *fakeStore) GetTarget(_ context.Context, name string) (uptime.Snapshot, error) {
	f.reads++
	if s, ok := f.byName(name); ok {
		return *s, nil
	}
	return uptime.Snapshot{}, fmt.Errorf("target %q: %w", name, uptime.ErrNotFound)
}

func (f *fakeStore) ListTargets(_ context.Context, q uptime.TargetFilter) ([]uptime.Snapshot, error) {
	f.reads++
	out := []uptime.Snapshot{}
	for _, s := range f.snaps {
		if s.Target.Name <= q.After || !uptime.Matches(s.Target.Labels, q.Labels) || !strings.Contains(s.Target.Name, q.Name) {
			continue
		}
		if len(q.Status) > 0 && !slices.Contains(q.Status, s.State.Status) {
			continue
		}
		out = append(out, s)
		if q.Limit > 0 && len(out) == q.Limit {
			break
		}
	}
	return out, nil
}

func (f *fakeStore) Results(_ context.Context, q ResultQuery) ([]uptime.Result, string, error) {
	f.reads++
	return f.results[q.TargetID], "", nil
}

func (f *fakeStore) Components(_ context.Context, id int64) ([]uptime.ComponentState, error) {
	f.reads++
	return f.components[id], nil
}

func (f *fakeStore) ComponentTallies(_ context.Context, target string, from, to time.Time) (map[string]uptime.Tally, error) {
	f.reads++
	s, _ := f.byName(target)
	out := map[string]uptime.Tally{}
	for _, c := range f.components[s.Target.ID] {
		t := f.tally(target, to.Sub(from))
		if c.Status == uptime.StatusDown {
			t.UpTime, t.DownTime = t.UpTime/2, t.UpTime/2+t.DownTime
		}
		t.Latency, t.LatencyMin, t.LatencyMax, t.LatencySum = uptime.Histogram{}, 0, 0, 0
		out[c.Name] = t
	}
	return out, nil
}

func (f *fakeStore) Tally(_ context.Context, target, _ string, from, to time.Time) (uptime.Tally, error) {
	f.reads++
	if _, ok := f.byName(target); !ok {
		return uptime.Tally{}, uptime.ErrNotFound
	}
	return f.tally(target, to.Sub(from)), nil
}

func (f *fakeStore) Trend(_ context.Context, target, _ string, from, to time.Time, step time.Duration) ([]uptime.Rollup, error) {
	f.reads++
	var out []uptime.Rollup
	for b := from.Truncate(step); b.Before(to); b = b.Add(step) {
		out = append(out, uptime.Rollup{Start: b, Tally: f.tally(target, min(step, 24*time.Hour))})
	}
	return out, nil
}

func (f *fakeStore) PageHistory(_ context.Context, q uptime.PageQuery) (uptime.Page, error) {
	f.reads++
	p := uptime.Page{Tallies: make([]map[int64]uptime.Tally, len(q.Tallies)), Briefs: make([]map[int64]uptime.Brief, len(q.Briefs)),
		Days: map[int64][]uptime.Brief{}}
	for i, w := range q.Tallies {
		p.Tallies[i] = map[int64]uptime.Tally{}
		for _, id := range q.IDs {
			if s, ok := f.byID(id); ok {
				p.Tallies[i][id] = f.tally(s.Target.Name, w.To.Sub(w.From))
			}
		}
	}
	for i, w := range q.Briefs {
		p.Briefs[i] = map[int64]uptime.Brief{}
		for _, id := range q.IDs {
			if s, ok := f.byID(id); ok {
				t := f.tally(s.Target.Name, w.To.Sub(w.From))
				p.Briefs[i][id] = t.Brief()
			}
		}
	}
	for _, id := range q.IDs {
		s, ok := f.byID(id)
		if !ok || q.Days.From.IsZero() {
			continue
		}
		// The first 60 days are before the target existed.
		for d := uptime.Day.Bucket(q.Days.From).Add(60 * 24 * time.Hour); d.Before(q.Days.To); d = d.Add(24 * time.Hour) {
			t := f.tally(s.Target.Name, 24*time.Hour)
			b := t.Brief()
			b.Start = d
			p.Days[id] = append(p.Days[id], b)
		}
	}
	return p, nil
}

func (f *fakeStore) FleetTally(_ context.Context, from, to time.Time) (uptime.Tally, time.Time, error) {
	f.reads++
	var t uptime.Tally
	for _, s := range f.snaps {
		x := f.tally(s.Target.Name, to.Sub(from))
		t.Merge(&x)
	}
	return t, to.Add(-90 * time.Second), nil
}

func (f *fakeStore) StateCounts(context.Context) (map[string]int, error) {
	f.reads++
	out := map[string]int{}
	for i := range f.snaps {
		out[shownStatus(&f.snaps[i])]++
	}
	return out, nil
}

func (f *fakeStore) ListIncidents(_ context.Context, q uptime.IncidentFilter) ([]uptime.Incident, error) {
	f.reads++
	var out []uptime.Incident
	for _, in := range f.incidents {
		if (q.Target != "" && in.Target != q.Target) || (q.OpenOnly && !in.Open()) || (q.Before > 0 && in.ID >= q.Before) {
			continue
		}
		out = append(out, in)
		if q.Limit > 0 && len(out) == q.Limit {
			break
		}
	}
	return out, nil
}

func (f *fakeStore) IncidentStats(context.Context, uptime.IncidentFilter) (uptime.IncidentStats, error) {
	f.reads++
	st := uptime.IncidentStats{Count: len(f.incidents)}
	for _, in := range f.incidents {
		if in.Open() {
			st.Open++
		}
	}
	if st.Count > st.Open {
		st.MTTR, st.HasMTTR = 14*time.Minute, true
	}
	return st, nil
}

// fakeAuth is web.Sessions' contract: tokens "read" and "write", kept in
// a cookie named "t".
type fakeAuth struct{}

func (fakeAuth) AuthEnabled() bool { return true }

func (fakeAuth) Access(r *http.Request) (bool, bool) {
	c, err := r.Cookie("t")
	if err != nil {
		return false, false
	}
	return c.Value == "read" || c.Value == "write", c.Value == "write"
}

func (fakeAuth) SignIn(w http.ResponseWriter, _ *http.Request, token string) bool {
	if token != "read" && token != "write" {
		return false
	}
	http.SetCookie(w, &http.Cookie{Name: "t", Value: token})
	return true
}

func (fakeAuth) SignOut(w http.ResponseWriter, _ *http.Request) {
	http.SetCookie(w, &http.Cookie{Name: "t", MaxAge: -1})
}

func (fakeAuth) CSRFToken(r *http.Request) string {
	if _, err := r.Cookie("t"); err != nil {
		return ""
	}
	return "csrf-of-cookie"
}
