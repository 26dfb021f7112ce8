package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/lookout/lookout/internal/testkit"
)

// samples reads the instance's /metrics and returns every sample of the
// family name, keyed by its labels as exposed (`{state="up"}`, or "" when
// it has none).
func (in *instance) samples(t *testing.T, name string) map[string]float64 {
	t.Helper()
	body := in.do(t, "GET", "/metrics", "", http.StatusOK)
	out := map[string]float64{}
	re := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(name) + `(\{[^}]*\})? (\S+)$`)
	for _, m := range re.FindAllSubmatch(body, -1) {
		v, err := strconv.ParseFloat(string(m[2]), 64)
		if err != nil {
			t.Fatalf("%s%s: %v", name, m[1], err)
		}
		out[string(m[1])] = v
	}
	return out
}

// TestMetricsOfTheRealProcess scrapes a running `lookout serve`: the
// targets by state are there with the store's counts, an open incident
// whose only delivery left is its next reminder, hours away, leaves
// nothing due in the outbox, and --metrics-targets adds each target's
// series.
func TestMetricsOfTheRealProcess(t *testing.T) {
	t.Parallel()
	bin := binary(t)
	hook, hookURL, secret := webhookSink(t)
	healthy := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	t.Cleanup(healthy.Close)
	failing, _ := failingTarget(t, "payments database unreachable")

	in := start(t, bin, filepath.Join(t.TempDir(), "lookout.db"), "--metrics-targets")
	in.do(t, "POST", "/api/v1/channels", `{"name":"ops","kind":"webhook","url":"`+hookURL+`","secret":"`+secret+`","default":true,"group_wait":"1s"}`, http.StatusCreated)
	for _, name := range []string{"web", "api", "cdn"} {
		in.do(t, "PUT", "/api/v1/targets/"+name, `{"url":"`+healthy.URL+`","interval":"1s"}`, http.StatusCreated)
	}
	in.do(t, "PUT", "/api/v1/targets/payments", `{"url":"`+failing+`","interval":"1s","failure_threshold":1}`, http.StatusCreated)

	var targets map[string]float64
	testkit.WaitFor(t, func() bool {
		targets = in.samples(t, "lookout_targets")
		return targets[`{state="up"}`] == 3 && targets[`{state="down"}`] == 1
	}, func() string {
		return fmt.Sprintf("lookout_targets %v, want 3 up and 1 down\n%s", targets, in.logs)
	})
	for _, st := range []string{"unknown", "degraded", "paused"} {
		if v, ok := targets[`{state="`+st+`"}`]; !ok || v != 0 {
			t.Errorf(`lookout_targets{state=%q} = %v (present %v), want 0`, st, v, ok)
		}
	}

	up := in.samples(t, "lookout_target_up")
	status := in.samples(t, "lookout_target_status")
	last := in.samples(t, "lookout_target_last_check_timestamp_seconds")
	took := in.samples(t, "lookout_target_duration_seconds")
	for name, want := range map[string]float64{"web": 1, "api": 1, "cdn": 1, "payments": 0} {
		key := `{kind="http",target="` + name + `"}`
		if v, ok := up[key]; !ok || v != want {
			t.Errorf("lookout_target_up%s = %v (present %v), want %v", key, v, ok, want)
		}
		if v := status[key]; v != 3-2*want { // 1 up, 3 down
			t.Errorf("lookout_target_status%s = %v, want %v", key, v, 3-2*want)
		}
		if v := last[key]; v < float64(time.Now().Add(-time.Minute).Unix()) || v > float64(time.Now().Unix()+1) {
			t.Errorf("lookout_target_last_check_timestamp_seconds%s = %v, want within the last minute", key, v)
		}
		if v, ok := took[key]; !ok || v < 0 || v > 10 {
			t.Errorf("lookout_target_duration_seconds%s = %v (present %v), want a check's duration", key, v, ok)
		}
	}
	if len(up) != 4 {
		t.Errorf("lookout_target_up has %d series, want the 4 targets': %v", len(up), up)
	}

	// The opening is sent; what stays pending is the incident's next
	// reminder, due after repeat_interval (4h).
	waitMessage(t, hook, "incident.opened", in.logs.String)
	in.settled(t, "incident.opened")
	var pending, scheduled map[string]float64
	testkit.WaitFor(t, func() bool {
		pending, scheduled = in.samples(t, "lookout_outbox_pending"), in.samples(t, "lookout_outbox_scheduled")
		return pending[""] == 0 && scheduled[""] == 1
	}, func() string {
		return fmt.Sprintf("lookout_outbox_pending %v, lookout_outbox_scheduled %v; want 0 and 1 (the reminder)\n%s",
			pending, scheduled, in.logs)
	})
	if _, ok := pending[""]; !ok {
		t.Error("/metrics has no lookout_outbox_pending")
	}
	var open struct {
		Incidents []struct{} `json:"incidents"`
	}
	mustJSON(t, in.do(t, "GET", "/api/v1/incidents?open=true", "", 200), &open)
	if len(open.Incidents) != 1 {
		t.Errorf("%d open incidents, want the one the reminder is for", len(open.Incidents))
	}
	in.stop(t)
}
