package notify

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/lookout/lookout/internal/uptime"
)

func slackHook(f *fakeSlack) uptime.Channel {
	return uptime.Channel{Name: "ops", Kind: "slack", URL: uptime.Secret(f.srv.URL + "/hooks/T000/B000/XXXX")}
}

func slackBot(name string) uptime.Channel {
	return uptime.Channel{Name: name, Kind: "slack", Token: "xoxb-1-test", Channel: "C0ALERTS"}
}

// TestSlackFailuresAreRetried: a 429 waits for its Retry-After, a 500,
// a timeout and a dropped connection retry with backoff; both the incoming
// webhook and the bot are covered.
func TestSlackFailuresAreRetried(t *testing.T) {
	cases := []struct {
		name    string
		fail    func(w http.ResponseWriter, r *http.Request)
		minWait time.Duration
		maxWait time.Duration
		errHas  string
	}{
		{"429 retry-after", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Retry-After", "2")
			w.WriteHeader(http.StatusTooManyRequests)
		}, 2 * time.Second, 2 * time.Second, "rate limited, retry after 2s"},
		{"500", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusInternalServerError)
		}, 4 * time.Second, 6 * time.Second, "answered 500"},
		{"timeout", func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
			case <-time.After(3 * time.Second):
			}
		}, 4 * time.Second, 6 * time.Second, "timed out"},
		{"connection closed", func(w http.ResponseWriter, r *http.Request) {
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				conn.Close()
			}
		}, 4 * time.Second, 6 * time.Second, "EOF"},
	}
	for _, tc := range cases {
		for _, mode := range []string{"webhook", "bot"} {
			t.Run(tc.name+"/"+mode, func(t *testing.T) {
				t.Parallel()
				f := newFakeSlack(t)
				c := slackHook(f)
				if mode == "bot" {
					c = slackBot("ops")
				}
				h := newHarness(t, Config{SlackAPIURL: f.srv.URL + "/api/", HTTPClient: &http.Client{Timeout: 300 * time.Millisecond}}, c)
				f.setFail(func(w http.ResponseWriter, r *http.Request, n int) bool {
					if n == 1 {
						tc.fail(w, r)
						return true
					}
					return false
				})
				id := h.out.add(uptime.Event{Type: uptime.EventFlapping, At: t0, Since: t0.Add(-time.Hour), Target: "api"}, "ops", t0)
				h.cycle()
				u := h.out.updates(id)
				if len(u) != 1 || u[0].Status != uptime.DeliveryPending || !u[0].Attempted {
					t.Fatalf("updates = %+v, want one pending attempt", u)
				}
				if wait := u[0].NextAt.Sub(t0); wait < tc.minWait || wait > tc.maxWait {
					t.Errorf("retry in %s, want %s..%s", wait, tc.minWait, tc.maxWait)
				}
				if !strings.Contains(u[0].Error, tc.errHas) {
					t.Errorf("error %q does not say %q", u[0].Error, tc.errHas)
				}
				h.clk.Advance(tc.minWait - time.Second)
				h.cycle()
				if n := len(h.out.updates(id)); n != 1 {
					t.Fatalf("retried before its time: %d updates", n)
				}
				h.clk.Advance(tc.maxWait)
				h.cycle()
				if got := h.out.delivery(id); got.Status != uptime.DeliveryDelivered || got.Attempts != 2 {
					t.Fatalf("after retry: status %s, %d attempts", got.Status, got.Attempts)
				}
				if st := h.d.Stats(); st.Retried != 1 || st.Delivered != 1 {
					t.Errorf("stats = %+v", st)
				}
			})
		}
	}
}

// TestSlackBotThreads: the opening's ts is recorded; the reminder and the
// resolution reply in its thread, and the opening is updated to resolved.
// The channel is given by name, as people do; chat.update wants its id.
// The bot is pointed at the fake by its own api_url, which wins over the
// dispatcher's SlackAPIURL.
func TestSlackBotThreads(t *testing.T) {
	f, elsewhere := newFakeSlack(t), newFakeSlack(t)
	c := slackBot("ops")
	c.Channel = "#alerts"
	c.APIURL = f.srv.URL + "/api"
	c.GroupWait = uptime.WaitFor(5 * time.Second)
	c.RepeatInterval = uptime.Duration(time.Hour)
	h := newHarness(t, Config{SlackAPIURL: elsewhere.srv.URL + "/api/"}, c)
	t.Cleanup(func() {
		if calls := elsewhere.recorded(); len(calls) != 0 {
			t.Errorf("%d calls went to the dispatcher's SlackAPIURL, not the channel's api_url", len(calls))
		}
	})

	open := h.opened(1, "api", "ops")
	h.clk.Advance(5 * time.Second)
	h.cycle()
	calls := f.recorded()
	if len(calls) != 1 || calls[0].Path != "/api/chat.postMessage" || calls[0].Form.Get("thread_ts") != "" {
		t.Fatalf("calls = %+v", calls)
	}
	if calls[0].Header.Get("Authorization") != "Bearer xoxb-1-test" && calls[0].Form.Get("token") != "xoxb-1-test" {
		t.Errorf("the token was not sent")
	}
	ts := "1773480413.000001"
	if got := h.out.updates(open); len(got) != 1 || got[0].Thread != ts {
		t.Fatalf("opening's update = %+v, want thread %s", got, ts)
	}
	if len(h.out.reminders) != 1 || !h.out.reminders[0].at.Equal(t0.Add(5*time.Second+time.Hour)) {
		t.Fatalf("reminders = %+v", h.out.reminders)
	}

	h.clk.Advance(time.Hour)
	h.cycle()
	calls = f.recorded()
	if len(calls) != 2 || calls[1].Form.Get("thread_ts") != ts || !strings.Contains(calls[1].Form.Get("text"), "still down") {
		t.Fatalf("reminder call = %+v", calls[1:])
	}
	if len(h.out.reminders) != 2 {
		t.Errorf("no reminder after the reminder: %+v", h.out.reminders)
	}

	h.clk.Advance(time.Minute)
	res := h.resolved(1, "api", "ops")
	h.cycle()
	calls = f.recorded()
	if len(calls) != 4 {
		t.Fatalf("calls after resolve = %d, want reply and update", len(calls))
	}
	reply, upd := calls[2], calls[3]
	if reply.Path != "/api/chat.postMessage" || reply.Form.Get("thread_ts") != ts || !strings.Contains(reply.Form.Get("text"), "back up") {
		t.Errorf("reply = %+v", reply.Form)
	}
	if upd.Path != "/api/chat.update" || upd.Form.Get("ts") != ts || upd.Form.Get("channel") != "C0ALERTS" || !strings.Contains(upd.Form.Get("text"), "resolved") {
		t.Errorf("update = %+v", upd.Form)
	}
	if got := h.out.delivery(res); got.Status != uptime.DeliveryDelivered {
		t.Errorf("resolved delivery = %s", got.Status)
	}
	// The reminder pending when it resolved is dropped.
	h.clk.Advance(2 * time.Hour)
	h.cycle()
	if n := len(f.recorded()); n != 4 {
		t.Errorf("%d calls after the resolution, want none", n-4)
	}
}

// TestSlackGroupsOpenings: five openings within group_wait are one
// message; a resolution of one of them replies in its thread but leaves
// the grouped parent alone.
func TestSlackGroupsOpenings(t *testing.T) {
	f := newFakeSlack(t)
	c := slackBot("ops")
	h := newHarness(t, Config{SlackAPIURL: f.srv.URL + "/api/"}, c)
	var ids []int64
	for i, name := range []string{"a", "b", "c", "d", "e"} {
		ids = append(ids, h.opened(int64(i+1), name, "ops"))
		h.clk.Advance(2 * time.Second)
	}
	h.cycle() // t0+10s: the first is due, the others join it
	calls := f.recorded()
	if len(calls) != 1 {
		t.Fatalf("%d messages, want 1", len(calls))
	}
	if text := calls[0].Form.Get("text"); !strings.Contains(text, "5 targets are down: a, b, c, d, e") {
		t.Errorf("text = %q", text)
	}
	for _, id := range ids {
		if d := h.out.delivery(id); d.Status != uptime.DeliveryDelivered {
			t.Errorf("delivery %d: %s", id, d.Status)
		}
	}
	h.clk.Advance(time.Minute)
	h.resolved(3, "c", "ops")
	h.cycle()
	calls = f.recorded()
	if len(calls) != 2 || calls[1].Path != "/api/chat.postMessage" || calls[1].Form.Get("thread_ts") != "1773480413.000001" {
		t.Fatalf("after resolving one: %+v", calls[1:])
	}
}

// TestSlackRateLimit: one message per second per Slack channel, while
// another Slack channel is served at once. The limiter's clock is the
// test's: its waits are recorded, not slept.
func TestSlackRateLimit(t *testing.T) {
	f := newFakeSlack(t)
	other := slackBot("other")
	other.Channel = "C0OTHER"
	h := newHarness(t, Config{SlackAPIURL: f.srv.URL + "/api/"}, slackBot("ops"), other)
	h.d.noRateLimit = false
	var mu sync.Mutex
	var waits []time.Duration
	h.d.limiter.now = h.clk.Now
	h.d.limiter.sleep = func(_ context.Context, d time.Duration) error {
		mu.Lock()
		defer mu.Unlock()
		waits = append(waits, d)
		return nil
	}
	for _, target := range []string{"a", "b", "c"} {
		h.out.add(uptime.Event{Type: uptime.EventFlapping, At: t0, Target: target}, "ops", t0)
	}
	h.out.add(uptime.Event{Type: uptime.EventFlapping, At: t0, Target: "x"}, "other", t0)
	h.cycle()
	sent := map[string]int{}
	for _, c := range f.recorded() {
		sent[c.Form.Get("channel")]++
	}
	if sent["C0ALERTS"] != 3 || sent["C0OTHER"] != 1 {
		t.Fatalf("messages by channel %v, want 3 to C0ALERTS and 1 to C0OTHER", sent)
	}
	// The second and third message to ops wait for their slot a second
	// apart; the first and the other channel's go at once.
	mu.Lock()
	defer mu.Unlock()
	slices.Sort(waits)
	if want := []time.Duration{time.Second, 2 * time.Second}; !slices.Equal(waits, want) {
		t.Errorf("the limiter waited %v, want %v", waits, want)
	}
}

// TestSlackLeaksNoSecret: with distinctive secrets and failures that echo
// the request back, no secret reaches a stored error, the log, Test's
// error or a payload.
func TestSlackLeaksNoSecret(t *testing.T) {
	const (
		hookPath = "/hooks/T0LEAKHOOK/B0LEAKHOOK/hooksecretLEAK"
		token    = "xoxb-LEAKTOKEN-424242"
	)
	f := newFakeSlack(t)
	f.setFail(func(w http.ResponseWriter, r *http.Request, n int) bool {
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("X-Echo", r.URL.String()+" "+r.Header.Get("Authorization"))
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = io.WriteString(w, r.URL.String()+" "+r.Header.Get("Authorization")+" "+string(body))
		return true
	})
	closed, _ := net.Listen("tcp", "127.0.0.1:0")
	deadAddr := closed.Addr().String()
	closed.Close()

	channels := []uptime.Channel{
		{Name: "hook-500", Kind: "slack", URL: uptime.Secret(f.srv.URL + hookPath)},
		{Name: "hook-down", Kind: "slack", URL: uptime.Secret("http://" + deadAddr + hookPath)},
		{Name: "hook-bad", Kind: "slack", URL: uptime.Secret("http://bad host" + hookPath)},
		{Name: "bot-500", Kind: "slack", Token: token, Channel: "C0LEAK"},
	}
	secrets := []string{hookPath, "hooksecretLEAK", token, "LEAKTOKEN"}
	h := newHarness(t, Config{SlackAPIURL: f.srv.URL + "/api/", HTTPClient: &http.Client{Timeout: time.Second}}, channels...)
	// A second dispatcher whose Web API is unreachable.
	h2 := newHarness(t, Config{SlackAPIURL: "http://" + deadAddr + "/api/"}, channels[3])

	var errs []string
	for _, c := range channels {
		h.out.add(uptime.Event{Type: uptime.EventFlapping, At: t0, Target: "api"}, c.Name, t0)
		if err := h.d.Test(context.Background(), c); err == nil {
			t.Errorf("%s: Test succeeded against a failing server", c.Name)
		} else {
			errs = append(errs, err.Error())
		}
		if err := h.d.Validate(&c); err != nil {
			errs = append(errs, err.Error())
		}
	}
	h2.out.add(uptime.Event{Type: uptime.EventFlapping, At: t0, Target: "api"}, "bot-500", t0)
	if err := h2.d.Test(context.Background(), channels[3]); err != nil {
		errs = append(errs, err.Error())
	}
	h.cycle()
	h2.cycle()
	for _, out := range []*memOutbox{h.out, h2.out} {
		for _, d := range out.all() {
			if d.LastError == "" {
				t.Errorf("delivery %d to %s did not fail", d.ID, d.Channel)
			}
			errs = append(errs, d.LastError)
		}
	}
	// Invalid configurations must not echo the secret either.
	bad := uptime.Channel{Name: "x", Kind: "slack", URL: "ftp://x" + hookPath, Token: token}
	if err := h.d.Validate(&bad); err != nil {
		errs = append(errs, err.Error())
	}
	assertNoLeak(t, "slack", errs, h.logs.String()+h2.logs.String(), secrets)
}

// assertNoLeak checks that no secret is in texts (errors shown or
// stored), in logs, or in any payload the kind renders, and that the texts
// still say what happened (a receiver answered 500).
func assertNoLeak(t *testing.T, kind string, texts []string, logs string, secrets []string) {
	t.Helper()
	if !strings.Contains(strings.Join(texts, "\n"), "answered 500") {
		t.Errorf("errors do not say what happened: %q", texts)
	}
	k, ok := lookup(kind)
	if !ok {
		t.Fatalf("no kind %q", kind)
	}
	for s, m := range samples() {
		b, err := k.render(m)
		if err != nil {
			t.Fatal(s, err)
		}
		texts = append(texts, string(b))
	}
	for _, s := range secrets {
		for _, e := range texts {
			if strings.Contains(e, s) {
				t.Errorf("%q leaks %q", e, s)
			}
		}
		if strings.Contains(logs, s) {
			t.Errorf("the log leaks %q:\n%s", s, logs)
		}
	}
}

func TestSlackValidate(t *testing.T) {
	d := New(newOutbox(), Config{})
	cases := []struct {
		name   string
		c      uptime.Channel
		fields []string
	}{
		{"webhook", uptime.Channel{Kind: "slack", URL: "https://hooks.slack.com/services/T/B/X"}, nil},
		{"bot", uptime.Channel{Kind: "slack", Token: "xoxb-1", Channel: "C1"}, nil},
		{"nothing", uptime.Channel{Kind: "slack"}, []string{"url"}},
		{"both", uptime.Channel{Kind: "slack", URL: "https://h/x", Token: "xoxb-1", Channel: "C1"}, []string{"url"}},
		{"bad url", uptime.Channel{Kind: "slack", URL: "hooks.slack.com/services"}, []string{"url"}},
		{"bad token", uptime.Channel{Kind: "slack", Token: "hunter2", Channel: "C1"}, []string{"token"}},
		{"no channel", uptime.Channel{Kind: "slack", Token: "xoxb-1"}, []string{"channel"}},
		{"secret", uptime.Channel{Kind: "slack", URL: "https://h/x", Secret: "whsec_AAAA"}, []string{"secret"}},
		{"unknown kind", uptime.Channel{Kind: "teams"}, []string{"kind"}},
		{"bot with api_url", uptime.Channel{Kind: "slack", Token: "xoxb-1", Channel: "C1", APIURL: "http://127.0.0.1:9000/api/"}, nil},
		{"webhook with api_url", uptime.Channel{Kind: "slack", URL: "https://h/x", APIURL: "https://slack.example.com/api/"}, []string{"api_url"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			assertFields(t, d.Validate(&tc.c), tc.fields)
		})
	}
}

func assertFields(t *testing.T, err error, fields []string) {
	t.Helper()
	if len(fields) == 0 {
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return
	}
	var v *uptime.ValidationError
	if !errors.As(err, &v) {
		t.Fatalf("err = %v, want a *uptime.ValidationError", err)
	}
	var got []string
	for _, f := range v.Errors {
		got = append(got, f.Field)
	}
	if strings.Join(got, ",") != strings.Join(fields, ",") {
		t.Errorf("fields = %v, want %v (%v)", got, fields, err)
	}
}

// TestSlackPayloadIsValidJSONBlocks: the blocks sent to the Web API are
// the rendered ones.
func TestSlackPayloadIsValidJSONBlocks(t *testing.T) {
	f := newFakeSlack(t)
	h := newHarness(t, Config{SlackAPIURL: f.srv.URL + "/api/"}, slackBot("ops"))
	if err := h.d.Test(context.Background(), slackBot("ops")); err != nil {
		t.Fatal(err)
	}
	calls := f.recorded()
	if len(calls) != 1 {
		t.Fatalf("calls = %d", len(calls))
	}
	var blocks []map[string]any
	if err := json.Unmarshal([]byte(calls[0].Form.Get("blocks")), &blocks); err != nil || len(blocks) == 0 {
		t.Fatalf("blocks %q: %v", calls[0].Form.Get("blocks"), err)
	}
	if !strings.Contains(calls[0].Form.Get("text"), "Test message") {
		t.Errorf("text = %q", calls[0].Form.Get("text"))
	}
	text, rendered := slackRender(message{Type: uptime.EventChannelTest, Events: []uptime.Event{{Type: uptime.EventChannelTest}},
		Channel: "ops", Dashboard: h.d.cfg.DashboardURL})
	b, err := json.Marshal(rendered)
	if err != nil {
		t.Fatal(err)
	}
	var want []map[string]any
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, blocks); diff != "" {
		t.Errorf("blocks sent differ from the rendered ones (-want +got):\n%s", diff)
	}
	if got := calls[0].Form.Get("text"); got != text {
		t.Errorf("text = %q, want the rendered %q", got, text)
	}
}
