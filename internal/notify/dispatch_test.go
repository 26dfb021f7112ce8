package notify

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/slack-go/slack"

	"github.com/lookout/lookout/internal/testkit"
	"github.com/lookout/lookout/internal/uptime"
)

// TestGroupingFiveOpenings: five targets opening within group_wait make one
// webhook listing them all.
func TestGroupingFiveOpenings(t *testing.T) {
	rc := testkit.NewWebhook(t)
	h := newHarness(t, Config{}, hookChannel(rc))
	var ids []int64
	for i, name := range []string{"a", "b", "c", "d", "e"} {
		ids = append(ids, h.opened(int64(i+1), name, "hook"))
		h.clk.Advance(time.Second)
		h.cycle() // none is due yet
	}
	if n := len(rc.Received()); n != 0 {
		t.Fatalf("%d sent before group_wait", n)
	}
	h.clk.Advance(5 * time.Second)
	h.cycle()
	got := rc.Received()
	if len(got) != 1 {
		t.Fatalf("%d messages, want 1", len(got))
	}
	var env struct {
		Type string `json:"type"`
		Data struct {
			Target  string `json:"target"`
			Targets []struct {
				Target     string `json:"target"`
				IncidentID int64  `json:"incident_id"`
			} `json:"targets"`
		} `json:"data"`
	}
	if err := json.Unmarshal(got[0].Body, &env); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tg := range env.Data.Targets {
		names = append(names, tg.Target)
	}
	if env.Type != "incident.opened" || env.Data.Target != "" || strings.Join(names, ",") != "a,b,c,d,e" {
		t.Errorf("body = %s", got[0].Body)
	}
	var group []uptime.Delivery
	for _, id := range ids {
		group = append(group, h.out.delivery(id))
	}
	if id := got[0].Header.Get("webhook-id"); id != messageID(group) || !strings.HasPrefix(id, "msg_") {
		t.Errorf("webhook-id = %q, want %q", id, messageID(group))
	}
	for _, id := range ids {
		if d := h.out.delivery(id); d.Status != uptime.DeliveryDelivered {
			t.Errorf("delivery %d: %s", id, d.Status)
		}
	}
	if st := h.d.Stats(); st.Delivered != 5 {
		t.Errorf("stats = %+v", st)
	}
}

// TestOpenResolveWithinGroupWaitSendsNothing: a blip shorter than
// group_wait is never alerted, neither its opening nor its resolution.
func TestOpenResolveWithinGroupWaitSendsNothing(t *testing.T) {
	rc := testkit.NewWebhook(t)
	h := newHarness(t, Config{}, hookChannel(rc))
	open := h.opened(1, "api", "hook")
	h.clk.Advance(3 * time.Second)
	res := h.resolved(1, "api", "hook")
	for range 3 {
		h.clk.Advance(10 * time.Second)
		h.cycle()
	}
	if n := len(rc.Received()); n != 0 {
		t.Fatalf("%d messages sent", n)
	}
	for id, reason := range map[int64]string{open: "resolved within group_wait", res: "the incident was not alerted here"} {
		d := h.out.delivery(id)
		if d.Status != uptime.DeliverySkipped || d.Reason != reason || d.Attempts != 0 {
			t.Errorf("delivery %d: %s %q after %d attempts, want skipped %q", id, d.Status, d.Reason, d.Attempts, reason)
		}
	}
	if st := h.d.Stats(); st != (Stats{Skipped: 2}) {
		t.Errorf("stats = %+v", st)
	}
}

// TestOpeningSentBeforeResolvedIsSentAfterAnOutage: an incident longer
// than group_wait is alerted even when its resolution is known by send
// time (the receiver was down); then its resolution follows.
func TestOpeningSentBeforeResolvedIsSentAfterAnOutage(t *testing.T) {
	rc := testkit.NewWebhook(t)
	h := newHarness(t, Config{}, hookChannel(rc))
	open := h.opened(1, "api", "hook")
	h.clk.Advance(time.Minute)
	res := h.resolved(1, "api", "hook")
	h.cycle()
	h.cycle()
	if a, b := h.out.delivery(open), h.out.delivery(res); a.Status != uptime.DeliveryDelivered || b.Status != uptime.DeliveryDelivered {
		t.Fatalf("opening %s, resolution %s", a.Status, b.Status)
	}
	if got := rc.Received(); len(got) != 2 || !strings.Contains(string(got[1].Body), `"incident.resolved"`) || !strings.Contains(string(got[1].Body), `"duration":"2m30s"`) {
		t.Errorf("received %d, last %s", len(got), got[len(got)-1].Body)
	}
}

// TestSilenceMutes: a matching active silence mutes and says which; a
// channel test is never muted.
func TestSilenceMutes(t *testing.T) {
	rc := testkit.NewWebhook(t)
	h := newHarness(t, Config{}, hookChannel(rc))
	h.out.silences = []uptime.Silence{
		{ID: 11, Matchers: map[string]string{"env": "staging"}, StartsAt: t0.Add(-time.Hour), EndsAt: t0.Add(time.Hour), Comment: "other env"},
		{ID: 12, Matchers: map[string]string{"env": "prod"}, StartsAt: t0.Add(-time.Hour), EndsAt: t0.Add(time.Hour), Comment: "deploy of v2"},
	}
	open := h.opened(1, "api", "hook")
	test := h.out.add(uptime.Event{Type: uptime.EventChannelTest, At: t0, Labels: map[string]string{"env": "prod"}}, "hook", t0)
	h.clk.Advance(10 * time.Second)
	h.cycle()
	d := h.out.delivery(open)
	if d.Status != uptime.DeliveryMuted || d.Reason != "silenced by silence 12: deploy of v2" || d.Attempts != 0 {
		t.Errorf("opening: %s %q (%d attempts)", d.Status, d.Reason, d.Attempts)
	}
	if d := h.out.delivery(test); d.Status != uptime.DeliveryDelivered {
		t.Errorf("test: %s %q", d.Status, d.Reason)
	}
	if r := h.out.reminders; len(r) != 1 || r[0].incident != 1 || !r[0].at.Equal(t0.Add(time.Hour)) {
		t.Errorf("reminders %+v, want one of incident 1 when the silence ends, %v", r, t0.Add(time.Hour))
	}
	if st := h.d.Stats(); st.Muted != 1 || st.Delivered != 1 {
		t.Errorf("stats = %+v", st)
	}
}

// TestIncidentOutlastingItsSilence: an incident whose opening a silence
// muted is heard of when the silence ends ("still down"), and its
// resolution follows; one that a second silence covers waits for that one.
func TestIncidentOutlastingItsSilence(t *testing.T) {
	rc := testkit.NewWebhook(t)
	h := newHarness(t, Config{}, hookChannel(rc))
	h.out.silences = []uptime.Silence{
		{ID: 1, Matchers: map[string]string{"env": "prod"}, StartsAt: t0.Add(-time.Minute), EndsAt: t0.Add(time.Hour)},
		{ID: 2, Matchers: map[string]string{"team": "core"}, StartsAt: t0.Add(30 * time.Minute), EndsAt: t0.Add(2 * time.Hour)},
	}
	open := h.opened(1, "api", "hook")
	h.clk.Advance(10 * time.Second)
	h.cycle()
	if d := h.out.delivery(open); d.Status != uptime.DeliveryMuted {
		t.Fatalf("opening %s, want muted", d.Status)
	}
	// At t0+1h the first silence ends, but the second holds until t0+2h.
	h.clk.Advance(t0.Add(time.Hour).Sub(h.clk.Now()))
	h.cycle()
	if n := len(rc.Received()); n != 0 {
		t.Fatalf("%d messages while silenced", n)
	}
	h.clk.Advance(time.Hour)
	h.cycle()
	got := rc.Received()
	if len(got) != 1 || !strings.Contains(string(got[0].Body), `"type":"incident.reminder"`) {
		t.Fatalf("after the silences, received %d: %v; want one reminder", len(got), got)
	}
	h.clk.Advance(time.Minute)
	h.resolved(1, "api", "hook")
	h.cycle()
	got = rc.Received()
	if len(got) != 2 || !strings.Contains(string(got[1].Body), `"type":"incident.resolved"`) {
		t.Errorf("received %d, want the reminder then the resolution", len(got))
	}
	if r := h.out.reminders; len(r) != 3 || !r[2].at.Equal(t0.Add(2*time.Hour+4*time.Hour)) {
		t.Errorf("reminders %+v, want at the silences' ends and then every repeat_interval", r)
	}
}

// TestMuteEnd: a muted alert is retried when the last of the silences and
// maintenance windows muting it now ends; those not begun or for other
// labels do not count.
func TestMuteEnd(t *testing.T) {
	labels := map[string]string{"env": "prod", "team": "core"}
	w := &world{silences: []uptime.Silence{
		{ID: 1, Matchers: map[string]string{"env": "prod"}, StartsAt: t0.Add(-time.Hour), EndsAt: t0.Add(30 * time.Minute)},
		{ID: 2, Matchers: map[string]string{"team": "core"}, StartsAt: t0.Add(-time.Minute), EndsAt: t0.Add(time.Hour)},
		{ID: 3, Matchers: map[string]string{"env": "prod"}, StartsAt: t0.Add(time.Minute), EndsAt: t0.Add(5 * time.Hour)},
		{ID: 4, Matchers: map[string]string{"env": "dev"}, StartsAt: t0.Add(-time.Hour), EndsAt: t0.Add(6 * time.Hour)},
	}}
	if got := muteEnd(w, labels, t0); !got.Equal(t0.Add(time.Hour)) {
		t.Errorf("silences: mute ends %v, want %v", got, t0.Add(time.Hour))
	}
	// t0 is 09:26:53 UTC: today's occurrence of this window ends at 11:00.
	w.maint = []uptime.Maintenance{
		{ID: 5, Matchers: map[string]string{"team": "core"}, Schedule: "0 9 * * *", Duration: uptime.Duration(2 * time.Hour)},
		{ID: 6, Matchers: map[string]string{"team": "core"}, Schedule: "0 10 * * *", Duration: uptime.Duration(3 * time.Hour)},
		{ID: 7, Matchers: map[string]string{"team": "core"}, StartsAt: t0.Add(time.Microsecond), EndsAt: t0.Add(10 * time.Hour)},
	}
	if got, want := muteEnd(w, labels, t0), time.Date(2026, 3, 14, 11, 0, 0, 0, time.UTC); !got.Equal(want) {
		t.Errorf("with maintenance: mute ends %v, want %v", got, want)
	}
	if got := muteEnd(w, map[string]string{"env": "qa"}, t0); !got.IsZero() {
		t.Errorf("nothing mutes these labels, yet the mute ends %v", got)
	}
}

// TestScreenedOutcomes: what is finished without a send, and why.
func TestScreenedOutcomes(t *testing.T) {
	t.Run("suppressed", func(t *testing.T) {
		rc := testkit.NewWebhook(t)
		h := newHarness(t, Config{}, hookChannel(rc))
		id := h.out.add(uptime.Event{Type: uptime.EventIncidentOpened, At: t0, Since: t0, IncidentID: 1, Target: "api",
			Suppressed: uptime.SuppressedFlapping}, "hook", t0)
		h.clk.Advance(10 * time.Second)
		h.cycle()
		if d := h.out.delivery(id); d.Status != uptime.DeliverySkipped || d.Reason != "suppressed: "+uptime.SuppressedFlapping {
			t.Errorf("%s %q, want skipped as suppressed", d.Status, d.Reason)
		}
		if n, r := len(rc.Received()), h.out.reminders; n != 0 || len(r) != 0 {
			t.Errorf("%d sent, reminders %+v; want none", n, r)
		}
	})
	t.Run("unknown kind", func(t *testing.T) {
		h := newHarness(t, Config{}, uptime.Channel{Name: "teams", Kind: "teams", URL: "https://teams.example/hook"})
		id := h.out.add(uptime.Event{Type: uptime.EventStable, At: t0, Target: "api"}, "teams", t0)
		h.cycle()
		if d := h.out.delivery(id); d.Status != uptime.DeliveryDead || d.Reason != `unknown channel kind "teams"` {
			t.Errorf("%s %q, want dead for its kind", d.Status, d.Reason)
		}
		if st := h.d.Stats(); st != (Stats{Dead: 1}) {
			t.Errorf("stats = %+v", st)
		}
	})
	t.Run("reminder of a resolved incident", func(t *testing.T) {
		// A reminder leased when its incident resolved is left pending by
		// the store; when its lease runs out it is skipped, not sent.
		rc := testkit.NewWebhook(t)
		h := newHarness(t, Config{}, hookChannel(rc))
		h.opened(1, "api", "hook")
		h.clk.Advance(10 * time.Second)
		h.cycle()
		h.clk.Advance(4 * time.Hour)
		lost, _ := h.out.ClaimDeliveries(context.Background(), h.clk.Now(), time.Minute, 10)
		if len(lost) != 1 || lost[0].Event.Type != uptime.EventIncidentReminder {
			t.Fatalf("claimed %+v, want the reminder", lost)
		}
		h.resolved(1, "api", "hook")
		h.clk.Advance(2 * time.Minute)
		h.cycle()
		h.cycle()
		if d := h.out.delivery(lost[0].ID); d.Status != uptime.DeliverySkipped || d.Reason != "incident resolved" {
			t.Errorf("reminder %s %q, want skipped", d.Status, d.Reason)
		}
		got := rc.Received()
		if len(got) != 2 || !strings.Contains(string(got[1].Body), `"type":"incident.resolved"`) {
			t.Errorf("received %d, want the opening then the resolution", len(got))
		}
	})
}

// TestLeaseRanOutBeforeSend: a delivery whose lease ran out while it
// waited in its lane is left for the next claim, never sent on a lease
// another instance may hold.
func TestLeaseRanOutBeforeSend(t *testing.T) {
	rc := testkit.NewWebhook(t)
	h := newHarness(t, Config{Lease: time.Nanosecond}, hookChannel(rc))
	id := h.out.add(uptime.Event{Type: uptime.EventStable, At: t0, Target: "api"}, "hook", t0)
	h.cycle()
	if n := len(rc.Received()); n != 0 {
		t.Errorf("%d sent on a lost lease", n)
	}
	if d, u := h.out.delivery(id), h.out.updates(id); d.Status != uptime.DeliveryPending || len(u) != 0 {
		t.Errorf("delivery %s with updates %+v, want it pending and untouched", d.Status, u)
	}
	if !strings.Contains(h.logs.String(), "lease ran out before send") {
		t.Errorf("the log does not say so:\n%s", h.logs.String())
	}
}

// TestCronMaintenanceMutes: a recurring window mutes while an occurrence
// lasts, and only then.
func TestCronMaintenanceMutes(t *testing.T) {
	rc := testkit.NewWebhook(t)
	h := newHarness(t, Config{}, hookChannel(rc))
	// t0 is 09:26:53 UTC; the window opens daily at 09:00 for an hour.
	h.out.maint = []uptime.Maintenance{{ID: 3, Name: "nightly backup", Matchers: map[string]string{"team": "core"},
		Schedule: "0 9 * * *", Duration: uptime.Duration(time.Hour)}}
	first := h.opened(1, "api", "hook")
	h.clk.Advance(10 * time.Second)
	h.cycle()
	if d := h.out.delivery(first); d.Status != uptime.DeliveryMuted || d.Reason != "maintenance 3 (nightly backup)" {
		t.Errorf("inside the window: %s %q", d.Status, d.Reason)
	}
	if r, end := h.out.reminders, time.Date(2026, 3, 14, 10, 0, 0, 0, time.UTC); len(r) != 1 || !r[0].at.Equal(end) {
		t.Errorf("reminders %+v, want one when the occurrence ends, %v", r, end)
	}
	h.clk.Advance(time.Hour)
	second := h.opened(2, "web", "hook")
	h.clk.Advance(10 * time.Second)
	h.cycle()
	if d := h.out.delivery(second); d.Status != uptime.DeliveryDelivered {
		t.Errorf("after the window: %s %q", d.Status, d.Reason)
	}
}

func TestMaintenanceActive(t *testing.T) {
	prod := map[string]string{"env": "prod"}
	m := func(schedule string, d time.Duration) uptime.Maintenance {
		return uptime.Maintenance{Matchers: prod, Schedule: schedule, Duration: uptime.Duration(d)}
	}
	at := func(s string) time.Time {
		tm, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return tm
	}
	oneOff := uptime.Maintenance{Matchers: prod, StartsAt: at("2026-03-14T09:00:00Z"), EndsAt: at("2026-03-14T10:00:00Z")}
	cases := []struct {
		name   string
		m      uptime.Maintenance
		labels map[string]string
		t      string
		want   bool
	}{
		{"one-off inside", oneOff, prod, "2026-03-14T09:30:00Z", true},
		{"one-off start", oneOff, prod, "2026-03-14T09:00:00Z", true},
		{"one-off end", oneOff, prod, "2026-03-14T10:00:00Z", false},
		{"one-off other labels", oneOff, map[string]string{"env": "dev"}, "2026-03-14T09:30:00Z", false},
		{"no matchers", uptime.Maintenance{StartsAt: oneOff.StartsAt, EndsAt: oneOff.EndsAt}, prod, "2026-03-14T09:30:00Z", false},
		{"cron inside", m("0 2 * * *", time.Hour), prod, "2026-03-14T02:59:59Z", true},
		{"cron at start", m("0 2 * * *", time.Hour), prod, "2026-03-14T02:00:00Z", true},
		{"cron at end", m("0 2 * * *", time.Hour), prod, "2026-03-14T03:00:00Z", false},
		{"cron before", m("0 2 * * *", time.Hour), prod, "2026-03-14T01:59:59Z", false},
		{"cron across midnight", m("30 23 * * *", time.Hour), prod, "2026-03-15T00:15:00Z", true},
		{"cron weekly, other day", m("0 2 * * 0", 3*time.Hour), prod, "2026-03-14T03:00:00Z", false},
		{"cron descriptor", m("@daily", 30*time.Minute), prod, "2026-03-14T00:10:00Z", true},
		{"cron time zone", m("CRON_TZ=Europe/Berlin 0 3 * * *", time.Hour), prod, "2026-03-14T02:30:00Z", true},
		{"cron no duration", m("0 2 * * *", 0), prod, "2026-03-14T02:30:00Z", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := MaintenanceActive(tc.m, tc.labels, at(tc.t)); got != tc.want {
				t.Errorf("MaintenanceActive = %v, want %v", got, tc.want)
			}
		})
	}
}

// TestRemindersEnqueued: a delivered opening schedules a reminder at
// repeat_interval, and so does each delivered reminder.
func TestRemindersEnqueued(t *testing.T) {
	rc := testkit.NewWebhook(t)
	c := hookChannel(rc)
	c.RepeatInterval = uptime.Duration(30 * time.Minute)
	h := newHarness(t, Config{}, c)
	h.opened(7, "api", "hook")
	h.clk.Advance(10 * time.Second)
	h.cycle()
	want := []reminderRec{{7, "hook", t0.Add(10*time.Second + 30*time.Minute)}}
	if diff := cmp.Diff(want, h.out.reminders, cmp.AllowUnexported(reminderRec{})); diff != "" {
		t.Fatalf("reminders (-want +got):\n%s", diff)
	}
	h.clk.Advance(30 * time.Minute)
	h.cycle()
	want = append(want, reminderRec{7, "hook", t0.Add(10*time.Second + time.Hour)})
	if diff := cmp.Diff(want, h.out.reminders, cmp.AllowUnexported(reminderRec{})); diff != "" {
		t.Fatalf("reminders (-want +got):\n%s", diff)
	}
	got := rc.Received()
	if len(got) != 2 || !strings.Contains(string(got[1].Body), `"type":"incident.reminder"`) {
		t.Fatalf("received %d: %s", len(got), got[len(got)-1].Body)
	}
}

// TestChannelDeletedIsSkipped: a delivery to a channel that is gone is
// finished, not retried.
func TestChannelDeletedIsSkipped(t *testing.T) {
	h := newHarness(t, Config{})
	id := h.out.add(uptime.Event{Type: uptime.EventStable, At: t0, Target: "api"}, "gone", t0)
	h.cycle()
	if d := h.out.delivery(id); d.Status != uptime.DeliverySkipped || d.Reason != "channel deleted" {
		t.Errorf("%s %q", d.Status, d.Reason)
	}
}

// TestGivesUpAfterMaxAge: a retryable failure is dead once the event is
// older than MaxAge.
func TestGivesUpAfterMaxAge(t *testing.T) {
	rc := testkit.NewWebhook(t)
	rc.SetAnswer(func(*http.Request, []byte) int { return http.StatusBadGateway })
	h := newHarness(t, Config{MaxAge: 3 * time.Hour}, hookChannel(rc))
	id := h.out.add(uptime.Event{Type: uptime.EventStable, At: t0, Target: "api"}, "hook", t0)
	for range 30 {
		h.cycle()
		h.clk.Advance(15 * time.Minute)
	}
	d := h.out.delivery(id)
	if d.Status != uptime.DeliveryDead || d.Reason != "gave up after "+strconv.Itoa(d.Attempts)+" attempts over 3h" {
		t.Errorf("%s %q after %d attempts", d.Status, d.Reason, d.Attempts)
	}
	if st := h.d.Stats(); st.Dead != 1 || st.Retried != uint64(d.Attempts-1) {
		t.Errorf("stats = %+v", st)
	}
}

func TestBackoff(t *testing.T) {
	for attempt, base := range map[int]time.Duration{1: 5 * time.Second, 2: 10 * time.Second, 3: 20 * time.Second, 8: 640 * time.Second, 10: 2560 * time.Second, 11: time.Hour, 40: time.Hour} {
		for range 50 {
			d := backoff(attempt)
			if lo, hi := time.Duration(float64(base)*0.8), time.Duration(float64(base)*1.2); d < lo || d > hi {
				t.Fatalf("backoff(%d) = %s, want %s..%s", attempt, d, lo, hi)
			}
		}
	}
}

// TestClassify: network trouble, 5xx, 408, 425, 429 and the Slack
// errors that heal are retried, with the receiver's wait when it gave one;
// other answers are not.
func TestClassify(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want verdict
	}{
		{"503", &sendError{status: 503}, verdict{retryable: true}},
		{"429 with Retry-After", &sendError{status: 429, retryAfter: 7 * time.Second}, verdict{retryable: true, retryAfter: 7 * time.Second}},
		{"425", &sendError{status: http.StatusTooEarly}, verdict{retryable: true}},
		{"404", &sendError{status: 404}, verdict{}},
		{"network", &sendError{msg: "refused", err: errors.New("connect: connection refused")}, verdict{retryable: true}},
		{"slack rate limited", slackError("x", &slack.RateLimitedError{RetryAfter: 3 * time.Second}), verdict{retryable: true, retryAfter: 3 * time.Second}},
		{"slack 502", slackError("x", slack.StatusCodeError{Code: 502}), verdict{retryable: true}},
		{"slack 403", slackError("x", slack.StatusCodeError{Code: 403}), verdict{}},
		{"slack internal_error", slackError("x", slack.SlackErrorResponse{Err: "internal_error"}), verdict{retryable: true}},
		{"slack channel_not_found", slackError("x", slack.SlackErrorResponse{Err: "channel_not_found"}), verdict{}},
		{"unknown", errors.New("boom"), verdict{retryable: true}},
	} {
		if got := classify(tc.err); got != tc.want {
			t.Errorf("%s: classify = %+v, want %+v", tc.name, got, tc.want)
		}
	}
}

func TestParseRetryAfter(t *testing.T) {
	for h, want := range map[string]time.Duration{
		"":     0,
		"2":    2 * time.Second,
		"-1":   0,
		"soon": 0,
		t0.Add(90 * time.Second).Format(http.TimeFormat): 90 * time.Second,
		t0.Add(-time.Hour).Format(http.TimeFormat):       0,
	} {
		if got := parseRetryAfter(h, t0); got != want {
			t.Errorf("parseRetryAfter(%q) = %s, want %s", h, got, want)
		}
	}
}

// TestRunDoesNotWaitOnSlowReceivers: a receiver that does not answer
// holds up neither other channels nor Kick, and shutdown waits for the send
// in flight.
func TestRunDoesNotWaitOnSlowReceivers(t *testing.T) {
	entered, release := make(chan struct{}, 2), make(chan struct{})
	var slowDone atomic.Bool
	slow := testkit.NewWebhook(t)
	slow.SetAnswer(func(*http.Request, []byte) int {
		entered <- struct{}{}
		<-release
		slowDone.Store(true)
		return http.StatusOK
	})
	releaseOnce := sync.OnceFunc(func() { close(release) })
	t.Cleanup(releaseOnce) // before the receiver closes, should the test end early
	fast := testkit.NewWebhook(t)
	slowC := hookChannel(slow)
	slowC.Name = "slow"
	h := newHarness(t, Config{PollInterval: time.Hour, HTTPClient: &http.Client{Timeout: testkit.WaitLimit}}, slowC, hookChannel(fast))
	ctx, cancel := context.WithCancel(context.Background())
	// done says whether the slow send had finished when Run returned.
	done := make(chan bool, 1)
	go func() {
		if err := h.d.Run(ctx); err != nil {
			t.Errorf("Run = %v", err)
		}
		done <- slowDone.Load()
	}()

	h.out.add(uptime.Event{Type: uptime.EventStable, At: t0, Target: "a"}, "slow", t0)
	h.out.add(uptime.Event{Type: uptime.EventStable, At: t0, Target: "b"}, "slow", t0)
	for range 100 {
		h.d.Kick() // never blocks
	}
	<-entered // the slow channel's first send is in flight
	h.out.add(uptime.Event{Type: uptime.EventStable, At: t0, Target: "c"}, "hook", t0)
	h.d.Kick()
	testkit.WaitFor(t, func() bool { return len(fast.Received()) == 1 }, testkit.Waiting("the fast channel's message"))
	cancel()
	releaseOnce()
	if finished := <-done; !finished {
		t.Error("Run returned before the send in flight finished")
	}
	if st := h.d.Stats(); st.Delivered != 2 {
		t.Errorf("stats = %+v: want the fast one and the slow one in flight", st)
	}
}

// The limiter's real sleep ends with its context, and otherwise after its
// time.
func TestSleep(t *testing.T) {
	if err := sleep(context.Background(), time.Millisecond); err != nil {
		t.Errorf("sleep = %v, want nil", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := sleep(ctx, time.Hour); !errors.Is(err, context.Canceled) {
		t.Errorf("sleep with a done context = %v, want context.Canceled", err)
	}
}

func TestStatsKeys(t *testing.T) {
	got := Stats{Delivered: 1, Retried: 2, Dead: 3, Muted: 4, Skipped: 5}.ByOutcome()
	want := map[string]uint64{"delivered": 1, "retried": 2, "dead": 3, "muted": 4, "skipped": 5}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Error(diff)
	}
	if len(Outcomes) != len(want) {
		t.Errorf("Outcomes = %v", Outcomes)
	}
}

// TestSilenceKeepsTheResolutionOfWhatWasSent: a silence set after an
// incident was alerted does not hold back its resolution; an incident that
// opened and resolved inside the silence stays unheard of.
func TestSilenceKeepsTheResolutionOfWhatWasSent(t *testing.T) {
	rc := testkit.NewWebhook(t)
	h := newHarness(t, Config{}, hookChannel(rc))
	h.opened(1, "api", "hook")
	h.clk.Advance(10 * time.Second)
	h.cycle()
	if n := len(rc.Received()); n != 1 {
		t.Fatalf("%d messages, want the opening", n)
	}
	h.out.mu.Lock()
	h.out.silences = []uptime.Silence{{ID: 7, Matchers: map[string]string{"env": "prod"},
		StartsAt: h.clk.Now(), EndsAt: h.clk.Now().Add(time.Hour), Comment: "working on it"}}
	h.out.mu.Unlock()
	h.clk.Advance(time.Minute)
	quiet := h.opened(2, "web", "hook")
	h.clk.Advance(time.Minute)
	h.cycle()
	res := h.resolved(1, "api", "hook")
	unheard := h.resolved(2, "web", "hook")
	h.cycle()
	if d := h.out.delivery(res); d.Status != uptime.DeliveryDelivered {
		t.Errorf("resolution of the alerted incident: %s %q, want delivered", d.Status, d.Reason)
	}
	if d := h.out.delivery(quiet); d.Status != uptime.DeliveryMuted {
		t.Errorf("opening inside the silence: %s %q, want muted", d.Status, d.Reason)
	}
	if d := h.out.delivery(unheard); d.Status != uptime.DeliverySkipped || d.Reason != "the incident was not alerted here" {
		t.Errorf("resolution of the muted incident: %s %q, want skipped", d.Status, d.Reason)
	}
	got := rc.Received()
	if len(got) != 2 || !strings.Contains(string(got[1].Body), `"incident.resolved"`) || !strings.Contains(string(got[1].Body), `"target":"api"`) {
		t.Errorf("received %d messages, want the opening and api's resolution", len(got))
	}
}
