package uptime

import (
	"encoding/json"
	"testing"
	"time"
)

func TestUptimeJSON(t *testing.T) {
	u := Uptime{From: t0, To: t0.Add(time.Hour), Observed: time.Hour, Up: 45 * time.Minute, Down: 15 * time.Minute, Ratio: 0.75}
	b, err := json.Marshal(u)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"from":"2026-01-01T12:00:00Z","to":"2026-01-01T13:00:00Z","observed":"1h0m0s","up":"45m0s","degraded":"0s","down":"15m0s","unknown":"0s","maintenance":"0s","paused":"0s","ratio":0.75}`
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
