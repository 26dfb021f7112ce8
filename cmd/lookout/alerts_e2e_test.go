package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lookout/lookout/internal/testkit"
)

// webhookSink starts a webhook receiver that checks signatures; it returns
// the receiver, its URL and the whsec_ secret to register the channel with.
func webhookSink(t *testing.T) (hook *testkit.Webhook, url, secret string) {
	hook = testkit.NewSignedWebhook(t)
	return hook, hook.URL, testkit.WebhookSecret
}

// waitMessage waits until hook has received a message of type typ and
// returns the first; logs says what lookout logged meanwhile.
func waitMessage(t *testing.T, hook *testkit.Webhook, typ string, logs func() string) testkit.Message {
	t.Helper()
	var got testkit.Message
	testkit.WaitFor(t, func() bool {
		for _, m := range hook.Messages(t) {
			if m.Type == typ {
				got = m
				return true
			}
		}
		return false
	}, func() string { return fmt.Sprintf("no %s webhook; got %+v\n%s", typ, hook.Messages(t), logs()) })
	return got
}

// failingTarget starts an HTTP target that answers 503 with msg until
// healthy is set.
func failingTarget(t *testing.T, msg string) (url string, healthy *atomic.Bool) {
	healthy = new(atomic.Bool)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if !healthy.Load() {
			http.Error(w, msg, http.StatusServiceUnavailable)
		}
	}))
	t.Cleanup(srv.Close)
	return srv.URL, healthy
}

// TestAlertsSurviveAKill kills Lookout after an incident's alert is
// committed to the outbox but before it is sent (it waits out group_wait),
// and expects the restarted process to send it, once, and never to re-alert
// the open incident.
func TestAlertsSurviveAKill(t *testing.T) {
	t.Parallel()
	bin := binary(t)
	rc, hookURL, secret := webhookSink(t)
	targetURL, healthy := failingTarget(t, "payments database unreachable")

	db := filepath.Join(t.TempDir(), "lookout.db")
	in := start(t, bin, db)
	in.do(t, "POST", "/api/v1/channels", `{"name":"ops","kind":"webhook","url":"`+hookURL+`","secret":"`+secret+`","default":true,"group_wait":"3s"}`, http.StatusCreated)
	ch := string(in.do(t, "GET", "/api/v1/channels/ops", "", 200))
	if strings.Contains(ch, secret) || strings.Contains(ch, hookURL) {
		t.Errorf("the channel's secrets show on read: %s", ch)
	}
	in.do(t, "PUT", "/api/v1/targets/payments", `{"url":"`+targetURL+`","interval":"1s","failure_threshold":2}`, http.StatusCreated)

	// Wait for the incident, then kill before group_wait lets it out.
	testkit.WaitFor(t, func() bool {
		var page struct {
			Incidents []struct {
				ID int64 `json:"id"`
			} `json:"incidents"`
		}
		mustJSON(t, in.do(t, "GET", "/api/v1/incidents?open=true", "", 200), &page)
		return len(page.Incidents) == 1
	}, func() string { return fmt.Sprintf("no open incident\n%s", in.logs) })
	if err := in.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-in.done
	if got := rc.Messages(t); len(got) != 0 {
		t.Fatalf("alerts went out before the kill, the test cannot tell anything: %+v", got)
	}

	in = start(t, bin, db)
	checked := len(in.results(t, "payments"))
	opened := waitMessage(t, rc, "incident.opened", in.logs.String)
	if opened.Data["target"] != "payments" || !strings.Contains(opened.Data["error"].(string), "503") {
		t.Errorf("opened alert data %+v, want payments' 503", opened.Data)
	}
	// Still down for two more checks of the restarted process: a second
	// page would be in the outbox with them, so once nothing is pending
	// it would have been sent.
	in.waitResults(t, "payments", checked+2)
	in.settled(t, "incident.opened")
	healthy.Store(true)
	resolved := waitMessage(t, rc, "incident.resolved", in.logs.String)
	counts := map[string]int{}
	ids := map[string]bool{}
	for _, m := range rc.Messages(t) {
		counts[m.Type]++
		if ids[m.ID] {
			t.Errorf("webhook-id %s delivered twice", m.ID)
		}
		ids[m.ID] = true
	}
	if counts["incident.opened"] != 1 || counts["incident.resolved"] != 1 {
		t.Errorf("got %v, want exactly one opened and one resolved", counts)
	}
	if resolved.Data["duration"] == nil || resolved.Data["duration"] == "" {
		t.Errorf("resolved alert without the outage's duration: %+v", resolved.Data)
	}

	var log struct {
		Notifications []struct {
			Status string `json:"status"`
		} `json:"notifications"`
	}
	_ = json.Unmarshal(in.do(t, "GET", "/api/v1/notifications?channel=ops", "", 200), &log)
	delivered := 0
	for _, n := range log.Notifications {
		if n.Status == "delivered" {
			delivered++
		}
	}
	if delivered < 2 {
		t.Errorf("delivery log shows %d delivered, want the opened and the resolved: %+v", delivered, log.Notifications)
	}
	in.stop(t)
}

// TestSilencedIncidentIsHeardOfWhenTheSilenceEnds: an incident whose
// opening a silence muted is alerted as a reminder when the silence ends,
// and its resolution follows. The silence is ended through the API once the
// opening is muted, so that the test does not race the clock; the in-process
// TestAMuteEndedEarlyLetsTheIncidentBeHeard lets one run out.
func TestSilencedIncidentIsHeardOfWhenTheSilenceEnds(t *testing.T) {
	t.Parallel()
	bin := binary(t)
	rc, hookURL, secret := webhookSink(t)
	targetURL, healthy := failingTarget(t, "queue backlog")

	in := start(t, bin, filepath.Join(t.TempDir(), "lookout.db"))
	in.do(t, "POST", "/api/v1/channels", `{"name":"ops","kind":"webhook","url":"`+hookURL+`","secret":"`+secret+`","default":true,"group_wait":"1s"}`, http.StatusCreated)
	ends := time.Now().Add(time.Hour).UTC().Format(time.RFC3339Nano)
	var silence struct {
		ID int64 `json:"id"`
	}
	mustJSON(t, in.do(t, "POST", "/api/v1/silences", `{"matchers":{"team":"jobs"},"ends_at":"`+ends+`","comment":"queue migration"}`, http.StatusCreated), &silence)
	in.do(t, "PUT", "/api/v1/targets/worker", `{"url":"`+targetURL+`","interval":"1s","failure_threshold":1,"labels":{"team":"jobs"}}`, http.StatusCreated)

	// The opening is muted...
	testkit.WaitFor(t, func() bool {
		return strings.Contains(string(in.do(t, "GET", "/api/v1/notifications?status=muted", "", 200)), "queue migration")
	}, func() string { return fmt.Sprintf("no muted opening\n%s", in.logs) })
	in.settled(t, "incident.opened")
	if got := rc.Messages(t); len(got) != 0 {
		t.Errorf("the channel heard %+v under the silence", got)
	}
	// ...and the channel hears of the incident once the silence ends: an
	// end in the past ends it now.
	in.do(t, "PATCH", fmt.Sprintf("/api/v1/silences/%d", silence.ID), `{"ends_at":"`+time.Now().UTC().Format(time.RFC3339Nano)+`"}`, http.StatusOK)
	reminder := waitMessage(t, rc, "incident.reminder", in.logs.String)
	if reminder.Data["target"] != "worker" {
		t.Errorf("reminder data %+v, want worker's", reminder.Data)
	}
	healthy.Store(true)
	waitMessage(t, rc, "incident.resolved", in.logs.String)
	in.stop(t)
	for _, m := range rc.Messages(t) {
		if m.Type == "incident.opened" {
			t.Errorf("the muted opening was sent: %+v", m)
		}
	}
}
