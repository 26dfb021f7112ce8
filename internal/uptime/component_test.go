package uptime

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestTimeWeighted(t *testing.T) {
	m := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Minute) }
	pts := func(script string) []ComponentPoint {
		// One character a minute from t0: U up, G degraded, D down, ?
		// unknown, space no check.
		var out []ComponentPoint
		for i, c := range script {
			st := map[rune]Status{'U': StatusUp, 'G': StatusDegraded, 'D': StatusDown, '?': StatusUnknown}
			if c == ' ' {
				continue
			}
			s, ok := st[c]
			if !ok {
				t.Fatalf("bad script char %q", c)
			}
			out = append(out, ComponentPoint{At: m(i), Status: s})
		}
		return out
	}
	minute := time.Minute
	tests := []struct {
		name     string
		points   []ComponentPoint
		from, to time.Time
		maxGap   time.Duration
		want     Uptime
	}{
		{
			name: "no points: nothing observed",
			from: m(0), to: m(10), maxGap: 2 * minute,
			want: Uptime{From: m(0), To: m(10)},
		},
		{
			name:   "empty window",
			points: pts("UUU"), from: m(2), to: m(2), maxGap: 2 * minute,
			want: Uptime{From: m(2), To: m(2)},
		},
		{
			name:   "reversed window",
			points: pts("UUU"), from: m(3), to: m(1), maxGap: 2 * minute,
			want: Uptime{From: m(3), To: m(1)},
		},
		{
			name:   "all up, the last point holds to the window's end",
			points: pts("UUUUU"), from: m(0), to: m(5), maxGap: 2 * minute,
			want: Uptime{From: m(0), To: m(5), Observed: 5 * minute, Up: 5 * minute, Ratio: 1},
		},
		{
			name:   "all down",
			points: pts("DDDD"), from: m(0), to: m(4), maxGap: 2 * minute,
			want: Uptime{From: m(0), To: m(4), Observed: 4 * minute, Down: 4 * minute, Ratio: 0},
		},
		{
			name:   "a five-minute outage costs five minutes",
			points: pts("UUUUUDDDDDUUUUUUUUUU"), from: m(0), to: m(20), maxGap: 2 * minute,
			want: Uptime{From: m(0), To: m(20), Observed: 20 * minute, Up: 15 * minute, Down: 5 * minute, Ratio: 0.75},
		},
		{
			name:   "degraded counts as available",
			points: pts("UGGD"), from: m(0), to: m(4), maxGap: 2 * minute,
			want: Uptime{From: m(0), To: m(4), Observed: 4 * minute, Up: minute, Degraded: 2 * minute, Down: minute, Ratio: 0.75},
		},
		{
			name:   "time before the first check is not observed",
			points: pts("     UUUDU"), from: m(0), to: m(10), maxGap: 2 * minute,
			want: Uptime{From: m(0), To: m(10), Observed: 5 * minute, Up: 4 * minute, Down: minute, Ratio: 0.8},
		},
		{
			name: "a gap longer than maxGap is unknown past maxGap",
			// Up at 0, 1, then nothing until 10 (Lookout was not running).
			points: pts("UU        UU"), from: m(0), to: m(12), maxGap: 2 * minute,
			want: Uptime{From: m(0), To: m(12), Observed: 12 * minute, Up: 5 * minute, Unknown: 7 * minute, Ratio: 1},
		},
		{
			name:   "a gap within maxGap keeps the status",
			points: pts("D U"), from: m(0), to: m(3), maxGap: 2 * minute,
			want: Uptime{From: m(0), To: m(3), Observed: 3 * minute, Up: minute, Down: 2 * minute, Ratio: 1.0 / 3},
		},
		{
			name:   "the last check holds at most maxGap past itself",
			points: pts("UU"), from: m(0), to: m(10), maxGap: 2 * minute,
			want: Uptime{From: m(0), To: m(10), Observed: 10 * minute, Up: 3 * minute, Unknown: 7 * minute, Ratio: 1},
		},
		{
			name:   "no maxGap: a status holds until the next check",
			points: pts("D        U"), from: m(0), to: m(10), maxGap: 0,
			want: Uptime{From: m(0), To: m(10), Observed: 10 * minute, Up: minute, Down: 9 * minute, Ratio: 0.1},
		},
		{
			name: "window cut mid-interval at both ends",
			// Checks every 2 minutes; the window starts a minute into the
			// down check and ends a minute into the last up.
			points: []ComponentPoint{{At: m(0), Status: StatusDown}, {At: m(2), Status: StatusUp}, {At: m(4), Status: StatusUp}},
			from:   m(1), to: m(5), maxGap: 4 * minute,
			want: Uptime{From: m(1), To: m(5), Observed: 4 * minute, Up: 3 * minute, Down: minute, Ratio: 0.75},
		},
		{
			name:   "a check before the window carries its status in",
			points: pts("D    "), from: m(1), to: m(2), maxGap: 2 * minute,
			want: Uptime{From: m(1), To: m(2), Observed: minute, Down: minute},
		},
		{
			name:   "a check long before the window: observed but unknown",
			points: pts("U"), from: m(10), to: m(20), maxGap: 2 * minute,
			want: Uptime{From: m(10), To: m(20), Observed: 10 * minute, Unknown: 10 * minute},
		},
		{
			name:   "points at or after the window's end are ignored",
			points: pts("UUDDD"), from: m(0), to: m(2), maxGap: 2 * minute,
			want: Uptime{From: m(0), To: m(2), Observed: 2 * minute, Up: 2 * minute, Ratio: 1},
		},
		{
			name:   "all points after the window",
			points: pts("   UU"), from: m(0), to: m(3), maxGap: 2 * minute,
			want: Uptime{From: m(0), To: m(3)},
		},
		{
			name:   "all points strictly after the window: nothing observed",
			points: pts("   UU"), from: m(0), to: m(2), maxGap: 2 * minute,
			want: Uptime{From: m(0), To: m(2)},
		},
		{
			name:   "unknown verdicts are unknown time",
			points: pts("U??U"), from: m(0), to: m(4), maxGap: 2 * minute,
			want: Uptime{From: m(0), To: m(4), Observed: 4 * minute, Up: 2 * minute, Unknown: 2 * minute, Ratio: 1},
		},
		{
			name: "sub-second precision",
			points: []ComponentPoint{{At: t0, Status: StatusUp},
				{At: t0.Add(1500 * time.Millisecond), Status: StatusDown}},
			from: t0, to: t0.Add(2 * time.Second), maxGap: time.Minute,
			want: Uptime{From: t0, To: t0.Add(2 * time.Second), Observed: 2 * time.Second,
				Up: 1500 * time.Millisecond, Down: 500 * time.Millisecond, Ratio: 0.75},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := TimeWeighted(tc.points, tc.from, tc.to, tc.maxGap)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("TimeWeighted (-want +got):\n%s", diff)
			}
			if sum := got.Up + got.Degraded + got.Down + got.Unknown; sum != got.Observed {
				t.Errorf("up+degraded+down+unknown = %s, observed %s", sum, got.Observed)
			}
		})
	}
}

func TestUptimeJSON(t *testing.T) {
	u := Uptime{From: t0, To: t0.Add(time.Hour), Observed: time.Hour, Up: 45 * time.Minute, Down: 15 * time.Minute, Ratio: 0.75}
	b, err := json.Marshal(u)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"from":"2026-01-01T12:00:00Z","to":"2026-01-01T13:00:00Z","observed":"1h0m0s","up":"45m0s","degraded":"0s","down":"15m0s","unknown":"0s","maintenance":"0s","ratio":0.75}`
	if string(b) != want {
		t.Errorf("got  %s\nwant %s", b, want)
	}
	// Nothing known: the ratio is null, not 0.
	b, err = json.Marshal(Uptime{From: t0, To: t0.Add(time.Hour), Observed: time.Hour, Unknown: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	if r, ok := m["ratio"]; !ok || r != nil {
		t.Errorf("ratio with nothing known: %v (present %v), want null", r, ok)
	}
}

func TestComponentStateJSON(t *testing.T) {
	c := ComponentState{Name: "broker.us1", Status: StatusDegraded, Since: t0, LastSeen: t0.Add(time.Minute), Observed: 12.5, Unit: "ms"}
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"name":"broker.us1","status":"degraded","since":"2026-01-01T12:00:00Z","last_seen":"2026-01-01T12:01:00Z","observed":12.5,"unit":"ms","output":""}`
	if string(b) != want {
		t.Errorf("got  %s\nwant %s", b, want)
	}
}

func TestTimeWeightedExcludesMaintenance(t *testing.T) {
	base := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	at := func(m int) time.Time { return base.Add(time.Duration(m) * time.Minute) }
	// Up for 30 minutes, then down for 30 (a planned restart), window 1h.
	points := []ComponentPoint{{At: at(0), Status: StatusUp}, {At: at(30), Status: StatusDown}}
	plain := TimeWeighted(points, at(0), at(60), 0)
	if plain.Ratio != 0.5 {
		t.Fatalf("without maintenance: ratio %v, want 0.5", plain.Ratio)
	}
	// The down half lies in two overlapping windows; one more sits outside.
	u := TimeWeighted(points, at(0), at(60), 0,
		Interval{From: at(30), To: at(50)}, Interval{From: at(45), To: at(70)}, Interval{From: at(90), To: at(95)})
	if u.Ratio != 1 || u.Maintenance != 30*time.Minute || u.Down != 0 || u.Up != 30*time.Minute || u.Observed != time.Hour {
		t.Errorf("with maintenance: %+v; want the 30 down minutes counted as maintenance and a ratio of 1", u)
	}
	// A window inside another adds nothing to it.
	u = TimeWeighted(points, at(0), at(60), 0, Interval{From: at(30), To: at(60)}, Interval{From: at(35), To: at(40)})
	if u.Maintenance != 30*time.Minute || u.Down != 0 || u.Up != 30*time.Minute {
		t.Errorf("nested windows: %+v; want the outer one's 30 minutes of maintenance", u)
	}
	// A window cutting an up stretch takes only what it covers.
	u = TimeWeighted(points, at(0), at(60), 0, Interval{From: at(10), To: at(20)})
	if u.Up != 20*time.Minute || u.Down != 30*time.Minute || u.Maintenance != 10*time.Minute {
		t.Errorf("partial window: %+v", u)
	}
}
