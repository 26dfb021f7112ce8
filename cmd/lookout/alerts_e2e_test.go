package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// receiver is a webhook endpoint that verifies Standard Webhooks signatures
// and keeps what it received.
type receiver struct {
	t   *testing.T
	key []byte
	mu  sync.Mutex
	got []received
}

type received struct {
	ID   string
	Type string
	Data map[string]any
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	id, ts := r.Header.Get("webhook-id"), r.Header.Get("webhook-timestamp")
	mac := hmac.New(sha256.New, rc.key)
	mac.Write([]byte(id + "." + ts + "." + string(body)))
	want := "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
	if r.Header.Get("webhook-signature") != want {
		rc.t.Errorf("bad signature on %s: %q", id, r.Header.Get("webhook-signature"))
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	var msg struct {
		Type string         `json:"type"`
		Data map[string]any `json:"data"`
	}
	if err := json.Unmarshal(body, &msg); err != nil {
		rc.t.Errorf("webhook body is not JSON: %v", err)
	}
	rc.mu.Lock()
	rc.got = append(rc.got, received{ID: id, Type: msg.Type, Data: msg.Data})
	rc.mu.Unlock()
}

func (rc *receiver) received() []received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]received(nil), rc.got...)
}

func (rc *receiver) waitFor(t *testing.T, typ string, logs func() string) received {
	t.Helper()
	var got received
	eventually(t, func() bool {
		for _, m := range rc.received() {
			if m.Type == typ {
				got = m
				return true
			}
		}
		return false
	}, func() string { return fmt.Sprintf("no %s webhook; got %+v\n%s", typ, rc.received(), logs()) })
	return got
}

// webhookSink starts a receiver that checks signatures; it returns the
// receiver, its URL and the whsec_ secret to register the channel with.
func webhookSink(t *testing.T) (rc *receiver, url, secret string) {
	key := []byte("0123456789abcdef0123456789abcdef")
	rc = &receiver{t: t, key: key}
	hook := httptest.NewServer(rc)
	t.Cleanup(hook.Close)
	return rc, hook.URL, "whsec_" + base64.StdEncoding.EncodeToString(key)
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
	eventually(t, func() bool {
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
	if got := rc.received(); len(got) != 0 {
		t.Fatalf("alerts went out before the kill, the test cannot tell anything: %+v", got)
	}

	in = start(t, bin, db)
	opened := rc.waitFor(t, "incident.opened", in.logs.String)
	if opened.Data["target"] != "payments" || !strings.Contains(opened.Data["error"].(string), "503") {
		t.Errorf("opened alert data %+v, want payments' 503", opened.Data)
	}
	// Still down for a few more checks: no second page.
	time.Sleep(3 * time.Second)
	healthy.Store(true)
	resolved := rc.waitFor(t, "incident.resolved", in.logs.String)
	counts := map[string]int{}
	ids := map[string]bool{}
	for _, m := range rc.received() {
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
// and its resolution follows.
func TestSilencedIncidentIsHeardOfWhenTheSilenceEnds(t *testing.T) {
	bin := binary(t)
	rc, hookURL, secret := webhookSink(t)
	targetURL, healthy := failingTarget(t, "queue backlog")

	in := start(t, bin, filepath.Join(t.TempDir(), "lookout.db"))
	in.do(t, "POST", "/api/v1/channels", `{"name":"ops","kind":"webhook","url":"`+hookURL+`","secret":"`+secret+`","default":true,"group_wait":"1s"}`, http.StatusCreated)
	ends := time.Now().Add(6 * time.Second).UTC().Format(time.RFC3339Nano)
	in.do(t, "POST", "/api/v1/silences", `{"matchers":{"team":"jobs"},"ends_at":"`+ends+`","comment":"queue migration"}`, http.StatusCreated)
	in.do(t, "PUT", "/api/v1/targets/worker", `{"url":"`+targetURL+`","interval":"1s","failure_threshold":1,"labels":{"team":"jobs"}}`, http.StatusCreated)

	// The opening is muted...
	eventually(t, func() bool {
		return strings.Contains(string(in.do(t, "GET", "/api/v1/notifications?status=muted", "", 200)), "queue migration")
	}, func() string { return fmt.Sprintf("no muted opening\n%s", in.logs) })
	// ...and the channel hears of the incident once the silence ends.
	reminder := rc.waitFor(t, "incident.reminder", in.logs.String)
	if reminder.Data["target"] != "worker" {
		t.Errorf("reminder data %+v, want worker's", reminder.Data)
	}
	healthy.Store(true)
	rc.waitFor(t, "incident.resolved", in.logs.String)
	in.stop(t)
	for _, m := range rc.received() {
		if m.Type == "incident.opened" {
			t.Errorf("the muted opening was sent: %+v", m)
		}
	}
}
