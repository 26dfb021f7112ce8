package uptime

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

// fields returns the fields err names, or fails when err is not a
// *ValidationError.
func fields(t *testing.T, err error) []string {
	t.Helper()
	if err == nil {
		return nil
	}
	var v *ValidationError
	if !errors.As(err, &v) {
		t.Fatalf("got %v, want a *ValidationError", err)
	}
	var out []string
	for _, f := range v.Errors {
		out = append(out, f.Field)
	}
	return out
}

func TestChannelRoutes(t *testing.T) {
	team := map[string]string{"team": "payments"}
	for _, tt := range []struct {
		name     string
		c        Channel
		labels   map[string]string
		channels []string
		want     bool
	}{
		{"named by the target", Channel{Name: "ops"}, nil, []string{"db", "ops"}, true},
		{"not named by a target that names others", Channel{Name: "ops", Default: true}, nil, []string{"db"}, false},
		{"default, for a target naming none", Channel{Name: "ops", Default: true}, nil, nil, true},
		{"not default, for a target naming none", Channel{Name: "ops"}, nil, nil, false},
		{"matching labels", Channel{Name: "ops", MatchLabels: team}, map[string]string{"team": "payments", "env": "prod"}, []string{"db"}, true},
		{"labels that do not match", Channel{Name: "ops", MatchLabels: team}, map[string]string{"team": "search"}, nil, false},
		{"default with match_labels is not a catch-all", Channel{Name: "ops", Default: true, MatchLabels: team}, nil, nil, false},
	} {
		if got := tt.c.Routes(tt.labels, tt.channels); got != tt.want {
			t.Errorf("%s: Routes = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestChannelValidate(t *testing.T) {
	for _, tt := range []struct {
		name string
		edit func(*Channel)
		want []string
	}{
		{"valid", func(*Channel) {}, nil},
		{"no name", func(c *Channel) { c.Name = "" }, []string{"name"}},
		{"bad name", func(c *Channel) { c.Name = "Ops!" }, []string{"name"}},
		{"no kind", func(c *Channel) { c.Kind = "" }, []string{"kind"}},
		{"negative group_wait", func(c *Channel) { c.GroupWait = WaitFor(-1) }, []string{"group_wait"}},
		{"group_wait over an hour", func(c *Channel) { c.GroupWait = WaitFor(61 * time.Minute) }, []string{"group_wait"}},
		{"negative repeat_interval", func(c *Channel) { c.RepeatInterval = -1 }, []string{"repeat_interval"}},
		{"repeat_interval under a minute", func(c *Channel) { c.RepeatInterval = Duration(30 * time.Second) }, []string{"repeat_interval"}},
		{"bad match_labels key", func(c *Channel) { c.MatchLabels = map[string]string{"1x": "y"} }, []string{"match_labels"}},
		{"group_wait of zero: at once", func(c *Channel) { c.GroupWait = WaitFor(0) }, nil},
		{"api_url", func(c *Channel) { c.APIURL = "http://127.0.0.1:8089/api/" }, nil},
		{"api_url relative", func(c *Channel) { c.APIURL = "/api/" }, []string{"api_url"}},
		{"api_url without scheme", func(c *Channel) { c.APIURL = "slack.example.com/api/" }, []string{"api_url"}},
		{"api_url not http", func(c *Channel) { c.APIURL = "ftp://slack.example.com/api/" }, []string{"api_url"}},
	} {
		c := Channel{Name: "ops", Kind: "webhook"}
		c.Normalize()
		tt.edit(&c)
		if got := fields(t, c.Validate()); !slices.Equal(got, tt.want) {
			t.Errorf("%s: problems with %v, want %v", tt.name, got, tt.want)
		}
	}
}

// group_wait 0 means at once and survives Normalize and a JSON round
// trip; only a group_wait left out (or null) gets the default.
// repeat_interval 0 cannot be meant.
func TestChannelZeros(t *testing.T) {
	at := Channel{Name: "ops", Kind: "webhook", GroupWait: WaitFor(0)}
	at.Normalize()
	if !at.GroupWait.IsSet() || at.GroupWait.D() != 0 {
		t.Errorf("group_wait 0 became %v", at.GroupWait)
	}
	left := Channel{Name: "ops", Kind: "webhook"}
	if left.GroupWait.D() != DefaultGroupWait {
		t.Errorf("a group_wait left out waits %s, want %s", left.GroupWait, DefaultGroupWait)
	}
	left.Normalize()
	if !left.GroupWait.IsSet() || left.GroupWait.D() != DefaultGroupWait || left.RepeatInterval.D() != DefaultRepeatInterval {
		t.Errorf("defaults: group_wait %v repeat_interval %s", left.GroupWait, left.RepeatInterval)
	}
	for body, want := range map[string]GroupWait{`{"group_wait":"0s"}`: WaitFor(0), `{"group_wait":"1m"}`: WaitFor(time.Minute), `{"group_wait":null}`: {}, `{}`: {}} {
		var c Channel
		if err := json.Unmarshal([]byte(body), &c); err != nil || c.GroupWait != want {
			t.Errorf("%s: group_wait %#v (%v), want %#v", body, c.GroupWait, err, want)
		}
	}
	if b, err := json.Marshal(at); err != nil || !strings.Contains(string(b), `"group_wait":"0s"`) {
		t.Errorf("group_wait 0 marshals as %s (%v)", b, err)
	}
	sent := func(f string) bool { return f == "repeat_interval" }
	if got := fields(t, (&Channel{}).RefuseGivenZeros(sent)); !slices.Equal(got, []string{"repeat_interval"}) {
		t.Errorf("repeat_interval 0 sent: problems with %v", got)
	}
	if err := (&Channel{}).RefuseGivenZeros(func(string) bool { return false }); err != nil {
		t.Errorf("repeat_interval left out: %v", err)
	}
}

func TestSilence(t *testing.T) {
	start := t0
	end := t0.Add(time.Hour)
	s := Silence{Matchers: map[string]string{"team": "payments"}, StartsAt: start, EndsAt: end}
	team := map[string]string{"team": "payments", "env": "prod"}
	for _, tt := range []struct {
		name   string
		labels map[string]string
		at     time.Time
		want   bool
	}{
		{"matching, at the start", team, start, true},
		{"matching, inside", team, start.Add(30 * time.Minute), true},
		{"matching, at the end", team, end, false},
		{"matching, before", team, start.Add(-time.Second), false},
		{"not matching", map[string]string{"team": "search"}, start, false},
	} {
		if got := s.Active(tt.labels, tt.at); got != tt.want {
			t.Errorf("%s: Active = %v, want %v", tt.name, got, tt.want)
		}
	}
	empty := Silence{StartsAt: start, EndsAt: end}
	if empty.Active(team, start) {
		t.Error("a silence without matchers mutes everything")
	}

	for _, tt := range []struct {
		name string
		s    Silence
		want []string
	}{
		{"valid", s, nil},
		{"no matchers", Silence{StartsAt: start, EndsAt: end}, []string{"matchers"}},
		{"no end", Silence{Matchers: s.Matchers, StartsAt: start}, []string{"ends_at"}},
		{"ends at its start", Silence{Matchers: s.Matchers, StartsAt: start, EndsAt: start}, []string{"ends_at"}},
	} {
		if got := fields(t, tt.s.Validate()); !slices.Equal(got, tt.want) {
			t.Errorf("%s: problems with %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestMaintenanceValidate(t *testing.T) {
	m := map[string]string{"team": "payments"}
	start, end := t0, t0.Add(time.Hour)
	for _, tt := range []struct {
		name string
		w    Maintenance
		want []string
	}{
		{"one-off", Maintenance{Matchers: m, StartsAt: start, EndsAt: end}, nil},
		{"recurring", Maintenance{Matchers: m, Schedule: "0 3 * * *", Duration: Duration(time.Hour)}, nil},
		{"no matchers", Maintenance{StartsAt: start, EndsAt: end}, []string{"matchers"}},
		{"schedule and times", Maintenance{Matchers: m, Schedule: "0 3 * * *", Duration: Duration(time.Hour), StartsAt: start}, []string{"schedule"}},
		{"schedule without duration", Maintenance{Matchers: m, Schedule: "0 3 * * *"}, []string{"duration"}},
		{"one-off without start", Maintenance{Matchers: m, EndsAt: end}, []string{"ends_at"}},
		{"one-off ending at its start", Maintenance{Matchers: m, StartsAt: start, EndsAt: start}, []string{"ends_at"}},
	} {
		if got := fields(t, tt.w.Validate()); !slices.Equal(got, tt.want) {
			t.Errorf("%s: problems with %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestIncidentDuration(t *testing.T) {
	now := t0.Add(time.Hour)
	open := Incident{StartedAt: t0}
	if !open.Open() || open.Duration(now) != time.Hour {
		t.Errorf("open incident: open %v, duration %s; want true, 1h", open.Open(), open.Duration(now))
	}
	done := Incident{StartedAt: t0, ResolvedAt: t0.Add(10 * time.Minute)}
	if done.Open() || done.Duration(now) != 10*time.Minute {
		t.Errorf("resolved incident: open %v, duration %s; want false, 10m", done.Open(), done.Duration(now))
	}
	if d := (&Incident{StartedAt: now}).Duration(t0); d != 0 {
		t.Errorf("an incident starting after now lasts %s, want 0", d)
	}
}

func TestSumIncidents(t *testing.T) {
	h := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Hour) }
	st := SumIncidents([]Span{
		// target 1: down 1h, up 13h, down 3h, up 4h, down (open)
		{1, h(14), h(17)}, {1, h(0), h(1)}, {1, h(21), time.Time{}},
		// target 2: down 2h, once
		{2, h(5), h(7)},
	})
	want := IncidentStats{Count: 4, Open: 1, MTTR: 2 * time.Hour, HasMTTR: true, MTBF: 8*time.Hour + 30*time.Minute, HasMTBF: true}
	if st != want {
		t.Errorf("SumIncidents = %+v, want %+v", st, want)
	}
	if st := SumIncidents([]Span{{1, h(0), time.Time{}}}); st.HasMTTR || st.HasMTBF || st.Count != 1 || st.Open != 1 {
		t.Errorf("one open incident: %+v", st)
	}
}
