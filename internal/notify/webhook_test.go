package notify

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/lookout/lookout/internal/testkit"
	"github.com/lookout/lookout/internal/uptime"
)

const testSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

func hookChannel(rc *testkit.Webhook) uptime.Channel {
	return uptime.Channel{Name: "hook", Kind: "webhook", URL: uptime.Secret(rc.URL + "/lookout"), Secret: testSecret}
}

// TestWebhookSignature: the reference implementation verifies what we
// sign, and an independent HMAC agrees; the webhook-id stays the same on a
// retry while the timestamp is the attempt's.
func TestWebhookSignature(t *testing.T) {
	rc := testkit.NewWebhook(t)
	var mu sync.Mutex
	var attempts []testkit.Request
	rc.SetAnswer(func(r *http.Request, body []byte) int {
		mu.Lock()
		defer mu.Unlock()
		attempts = append(attempts, testkit.Request{Header: r.Header.Clone(), Body: body})
		if len(attempts) == 1 {
			return http.StatusBadGateway
		}
		return http.StatusOK
	})
	h := newHarness(t, Config{}, hookChannel(rc))
	h.clk.Set(time.Now().Truncate(time.Second)) // the reference checks the timestamp against the wall clock
	id := h.out.add(uptime.Event{Type: uptime.EventStable, At: h.clk.Now(), Target: "api"}, "hook", h.clk.Now())
	h.cycle()
	h.clk.Advance(time.Minute)
	h.cycle()
	if len(attempts) != 2 {
		t.Fatalf("%d attempts, want 2", len(attempts))
	}
	wh, err := standardwebhooks.NewWebhook(testSecret)
	if err != nil {
		t.Fatal(err)
	}
	key, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(testSecret, "whsec_"))
	for i, a := range attempts {
		if err := wh.Verify(a.Body, a.Header); err != nil {
			t.Errorf("attempt %d: reference verification: %v", i+1, err)
		}
		if !testkit.SignatureValid(key, a.Header, a.Body) {
			t.Errorf("attempt %d: signature %q is not the HMAC of the message", i+1, a.Header.Get("webhook-signature"))
		}
		if got := a.Header.Get("webhook-id"); got != "msg_"+h.out.delivery(id).UID {
			t.Errorf("attempt %d: webhook-id %q", i+1, got)
		}
	}
	ts0, _ := strconv.ParseInt(attempts[0].Header.Get("webhook-timestamp"), 10, 64)
	ts1, _ := strconv.ParseInt(attempts[1].Header.Get("webhook-timestamp"), 10, 64)
	if ts1-ts0 != 60 {
		t.Errorf("timestamps %d and %d: want the attempts' times", ts0, ts1)
	}
	// Tampering is detected.
	if err := wh.Verify(append(attempts[1].Body, ' '), attempts[1].Header); err == nil {
		t.Error("a changed body verified")
	}
}

// TestWebhookUnsigned: without a secret there is no signature header.
func TestWebhookUnsigned(t *testing.T) {
	rc := testkit.NewWebhook(t)
	c := hookChannel(rc)
	c.Secret = ""
	h := newHarness(t, Config{}, c)
	if err := h.d.Test(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	got := rc.Received()
	if len(got) != 1 || got[0].Header.Get("webhook-signature") != "" || got[0].Header.Get("webhook-id") == "" {
		t.Fatalf("received %+v", got)
	}
	var body map[string]any
	if err := json.Unmarshal(got[0].Body, &body); err != nil || body["type"] != "channel.test" {
		t.Errorf("body %s: %v", got[0].Body, err)
	}
}

// TestWebhook400IsDeadAfterThreeAttempts: a refusal is tried three times.
func TestWebhook400IsDeadAfterThreeAttempts(t *testing.T) {
	rc := testkit.NewWebhook(t)
	rc.SetAnswer(func(*http.Request, []byte) int { return http.StatusBadRequest })
	h := newHarness(t, Config{}, hookChannel(rc))
	id := h.out.add(uptime.Event{Type: uptime.EventStable, At: t0, Target: "api"}, "hook", t0)
	for range 10 {
		h.cycle()
		h.clk.Advance(time.Hour)
	}
	d := h.out.delivery(id)
	if d.Status != uptime.DeliveryDead || d.Attempts != 3 {
		t.Fatalf("status %s after %d attempts, want dead after 3", d.Status, d.Attempts)
	}
	if d.Reason != "permanent error after 3 attempts" || !strings.Contains(d.LastError, "answered 400 Bad Request") {
		t.Errorf("reason %q, error %q", d.Reason, d.LastError)
	}
	if st := h.d.Stats(); st.Dead != 1 || st.Retried != 2 {
		t.Errorf("stats = %+v", st)
	}
}

// TestWebhookRetryAfter: a 429 or 503 with Retry-After, in seconds or as a
// date, sets the next attempt.
func TestWebhookRetryAfter(t *testing.T) {
	for _, tc := range []struct {
		status int
		header string
		want   time.Duration
	}{
		{http.StatusTooManyRequests, "30", 30 * time.Second},
		{http.StatusServiceUnavailable, t0.Add(10 * time.Minute).Format(http.TimeFormat), 10 * time.Minute},
	} {
		t.Run(strconv.Itoa(tc.status), func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Retry-After", tc.header)
				w.WriteHeader(tc.status)
			}))
			defer srv.Close()
			h := newHarness(t, Config{}, uptime.Channel{Name: "hook", Kind: "webhook", URL: uptime.Secret(srv.URL)})
			id := h.out.add(uptime.Event{Type: uptime.EventStable, At: t0, Target: "api"}, "hook", t0)
			h.cycle()
			u := h.out.updates(id)
			if len(u) != 1 || u[0].Status != uptime.DeliveryPending || u[0].NextAt.Sub(t0) != tc.want {
				t.Fatalf("updates = %+v, want a retry in %s", u, tc.want)
			}
		})
	}
}

// TestWebhookReceiverDownThenBack: a receiver down for an hour gets every
// alert once it is back, each target's in order, and a redelivery after a
// lost answer carries the same webhook-id.
func TestWebhookReceiverDownThenBack(t *testing.T) {
	rc := testkit.NewWebhook(t)
	var mu sync.Mutex
	down := true
	var got []testkit.Request // what the receiver processed, duplicates included
	n := 0
	rc.SetAnswer(func(r *http.Request, body []byte) int {
		mu.Lock()
		defer mu.Unlock()
		if down {
			return http.StatusServiceUnavailable
		}
		got = append(got, testkit.Request{Header: r.Header.Clone(), Body: body})
		n++
		if n%3 == 1 {
			return http.StatusInternalServerError // processed, but the answer is lost
		}
		return http.StatusOK
	})
	h := newHarness(t, Config{}, hookChannel(rc))
	var ids []int64
	// An hour of trouble: a target fails every 5 minutes and recovers 2
	// minutes later; the last one stays down.
	for i := range 12 {
		target := fmt.Sprintf("t%02d", i)
		ids = append(ids, h.opened(int64(i+1), target, "hook"))
		for range 2 {
			h.clk.Advance(time.Minute)
			h.cycle()
		}
		if i < 11 {
			ids = append(ids, h.resolved(int64(i+1), target, "hook"))
		}
		for range 3 {
			h.clk.Advance(time.Minute)
			h.cycle()
		}
	}
	if len(rc.Received()) != 0 {
		t.Fatal("the receiver was down")
	}
	mu.Lock()
	down = false
	mu.Unlock()
	for range 150 {
		h.clk.Advance(time.Minute)
		h.cycle()
	}
	for _, id := range ids {
		if d := h.out.delivery(id); d.Status != uptime.DeliveryDelivered {
			t.Errorf("delivery %d (%s %s): %s, %s", id, d.Event.Type, d.Event.Target, d.Status, d.LastError)
		}
	}
	// De-duplicate by webhook-id, as a receiver would.
	seen := map[string]bool{}
	events := map[string][]string{} // target → event types in arrival order
	dups := 0
	for _, r := range got {
		id := r.Header.Get("webhook-id")
		if seen[id] {
			dups++
			continue
		}
		seen[id] = true
		var env struct {
			Type uptime.EventType `json:"type"`
			Data struct {
				Target  string `json:"target"`
				Targets []struct {
					Target string `json:"target"`
				} `json:"targets"`
			} `json:"data"`
		}
		if err := json.Unmarshal(r.Body, &env); err != nil {
			t.Fatal(err)
		}
		if env.Data.Target != "" {
			events[env.Data.Target] = append(events[env.Data.Target], string(env.Type))
		}
		for _, tg := range env.Data.Targets {
			events[tg.Target] = append(events[tg.Target], string(env.Type))
		}
	}
	if dups == 0 {
		t.Error("no redelivery happened; the test lost its point")
	}
	for i := range 12 {
		target := fmt.Sprintf("t%02d", i)
		want := "incident.opened,incident.resolved"
		if i == 11 {
			want = "incident.opened"
		}
		if g := strings.Join(events[target], ","); g != want {
			t.Errorf("%s received %s, want %s", target, g, want)
		}
	}
}

// TestWebhookLeaksNoSecret: with a secret URL path and query, a signing
// secret and a receiver that echoes the request, nothing secret reaches a
// stored error, the log, Test's error or a payload.
func TestWebhookLeaksNoSecret(t *testing.T) {
	const (
		pathSecret  = "PATHSECRET9f8e7d"
		querySecret = "QUERYSECRET1a2b3c"
		signing     = "whsec_U0lHTklOR1NFQ1JFVExFQUtMRUFLTEVBSw=="
	)
	echo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.WriteHeader(http.StatusInternalServerError)
		fmt.Fprintf(w, "%s %s %v %s", r.Method, r.URL, r.Header, body)
	}))
	defer echo.Close()
	closed, _ := net.Listen("tcp", "127.0.0.1:0")
	deadAddr := closed.Addr().String()
	closed.Close()
	suffix := "/hook/" + pathSecret + "?token=" + querySecret
	channels := []uptime.Channel{
		{Name: "echo", Kind: "webhook", URL: uptime.Secret(echo.URL + suffix), Secret: signing},
		{Name: "down", Kind: "webhook", URL: uptime.Secret("http://" + deadAddr + suffix), Secret: signing},
		{Name: "userinfo", Kind: "webhook", URL: uptime.Secret("http://user:" + pathSecret + "@" + deadAddr + "/x"), Secret: signing},
	}
	h := newHarness(t, Config{}, channels...)
	var texts []string
	for _, c := range channels {
		h.out.add(uptime.Event{Type: uptime.EventStable, At: t0, Target: "api"}, c.Name, t0)
		if err := h.d.Test(context.Background(), c); err == nil {
			t.Errorf("%s: Test succeeded", c.Name)
		} else {
			texts = append(texts, err.Error())
		}
	}
	h.cycle()
	for _, d := range h.out.all() {
		if d.LastError == "" {
			t.Errorf("delivery to %s did not fail", d.Channel)
		}
		texts = append(texts, d.LastError)
	}
	bad := uptime.Channel{Name: "x", Kind: "webhook", URL: "ftp://h/" + pathSecret, Secret: "whsec_" + querySecret + "!"}
	if err := h.d.Validate(&bad); err != nil {
		texts = append(texts, err.Error())
	}
	secrets := []string{pathSecret, querySecret, signing, strings.TrimPrefix(signing, "whsec_")}
	assertNoLeak(t, "webhook", texts, h.logs.String(), secrets)
}

func TestWebhookValidate(t *testing.T) {
	d := New(newOutbox(), Config{})
	cases := []struct {
		name   string
		c      uptime.Channel
		fields []string
	}{
		{"ok", uptime.Channel{Kind: "webhook", URL: "https://example.com/hook", Secret: testSecret}, nil},
		{"unsigned", uptime.Channel{Kind: "webhook", URL: "http://10.0.0.1:9000/hook"}, nil},
		{"no url", uptime.Channel{Kind: "webhook"}, []string{"url"}},
		{"not http", uptime.Channel{Kind: "webhook", URL: "ftp://example.com/"}, []string{"url"}},
		{"no prefix", uptime.Channel{Kind: "webhook", URL: "https://e/x", Secret: "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}, []string{"secret"}},
		{"bad base64", uptime.Channel{Kind: "webhook", URL: "https://e/x", Secret: "whsec_not base64!"}, []string{"secret"}},
		{"token", uptime.Channel{Kind: "webhook", URL: "https://e/x", Token: "xoxb-1", Channel: "C1"}, []string{"token", "channel"}},
		{"api_url", uptime.Channel{Kind: "webhook", URL: "https://e/x", APIURL: "https://slack.example.com/api/"}, []string{"api_url"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			assertFields(t, d.Validate(&tc.c), tc.fields)
		})
	}
}

// TestMessageID: the webhook-id is the delivery's own uid, or for a group
// one id of all its uids: the same for the same deliveries, different
// when the group differs.
func TestMessageID(t *testing.T) {
	d := func(id int64, uid string) uptime.Delivery { return uptime.Delivery{ID: id, UID: uid} }
	a := d(1, "0195c2a4-7f00-7000-8000-00000000000a")
	b := d(2, "0195c2a4-7f00-7000-8000-00000000000b")
	c := d(3, "0195c2a4-7f00-7000-8000-00000000000c")
	if got := messageID([]uptime.Delivery{a}); got != "msg_"+a.UID {
		t.Errorf("lone delivery: %q", got)
	}
	// Another database's delivery 1 is another message.
	if messageID([]uptime.Delivery{a}) == messageID([]uptime.Delivery{d(1, "0195c2a4-7f00-7000-8000-0000000000ff")}) {
		t.Error("two deliveries with the same id but different uids share a webhook-id")
	}
	ab := messageID([]uptime.Delivery{a, b})
	if ab != messageID([]uptime.Delivery{a, b}) {
		t.Error("a group's id is not stable")
	}
	for name, other := range map[string][]uptime.Delivery{
		"first alone":   {a},
		"one more":      {a, b, c},
		"other partner": {a, c},
	} {
		if messageID(other) == ab {
			t.Errorf("%s: same id as the group of a and b", name)
		}
	}
	if !strings.HasPrefix(ab, "msg_") || len(ab) > 40 {
		t.Errorf("group id %q: want msg_ and a short hash", ab)
	}
}
