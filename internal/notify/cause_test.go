package notify

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/lookout/lookout/internal/testkit"
	"github.com/lookout/lookout/internal/uptime"
)

// causedOpened adds an incident.opened of target attributed to cause now.
func (h *harness) causedOpened(incident int64, target, cause, channel string) int64 {
	return h.out.add(uptime.Event{
		Type: uptime.EventIncidentOpened, At: h.clk.Now(), Since: h.clk.Now().Add(-30 * time.Second),
		Error: "GET /health: 503 Service Unavailable", ErrorClass: uptime.ClassStatus, Failures: 1,
		IncidentID: incident, Target: target, Cause: cause,
		Components: []uptime.Component{{Name: "database", Status: uptime.StatusDown}},
	}, channel, h.clk.Now())
}

// causedResolved resolves the incident, attributed to cause, now.
func (h *harness) causedResolved(incident int64, target, cause, channel string) int64 {
	h.out.resolve(incident, h.clk.Now())
	return h.out.add(uptime.Event{
		Type: uptime.EventIncidentResolved, At: h.clk.Now(), Since: h.clk.Now().Add(-time.Minute),
		IncidentID: incident, Target: target, Cause: cause,
	}, channel, h.clk.Now())
}

// hookMessage is what a test reads of a webhook body.
type hookMessage struct {
	Type string `json:"type"`
	Data struct {
		Target  string `json:"target"`
		Cause   string `json:"cause"`
		Targets []struct {
			Target string `json:"target"`
			Cause  string `json:"cause"`
		} `json:"targets"`
	} `json:"data"`
}

func (m hookMessage) names() []string {
	if m.Data.Target != "" {
		return []string{m.Data.Target}
	}
	var out []string
	for _, t := range m.Data.Targets {
		out = append(out, t.Target)
	}
	return out
}

func messages(t *testing.T, rc *testkit.Webhook) []hookMessage {
	t.Helper()
	var out []hookMessage
	for _, r := range rc.Received() {
		var m hookMessage
		if err := json.Unmarshal(r.Body, &m); err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
	}
	return out
}

// TestTenDependentsOneMessage: ten services reporting the same failing
// component, registered as a target or not, make one opened message naming
// the cause and the ten, one reminder, then one resolved message.
func TestTenDependentsOneMessage(t *testing.T) {
	for _, registered := range []bool{false, true} {
		t.Run(fmt.Sprintf("cause registered %v", registered), func(t *testing.T) {
			rc := testkit.NewWebhook(t)
			h := newHarness(t, Config{}, hookChannel(rc))
			var services []string
			if registered {
				h.opened(100, "database", "hook")
				h.clk.Advance(500 * time.Millisecond)
			}
			for i := range 10 {
				name := fmt.Sprintf("svc-%02d", i)
				services = append(services, name)
				h.causedOpened(int64(i+1), name, "database", "hook")
				h.clk.Advance(300 * time.Millisecond)
				h.cycle()
			}
			h.clk.Advance(10 * time.Second)
			h.cycle()
			h.cycle()
			want := services
			if registered {
				want = append([]string{"database"}, services...)
			}
			// lastIs checks that n messages came, the last one of type typ,
			// caused by database and naming want.
			lastIs := func(n int, typ string) {
				t.Helper()
				got := messages(t, rc)
				if len(got) != n || got[n-1].Type != typ || got[n-1].Data.Cause != "database" {
					t.Fatalf("messages %+v, want %d, the last one %s caused by database", got, n, typ)
				}
				if diff := cmp.Diff(want, got[n-1].names()); diff != "" {
					t.Errorf("targets of the %s (-want +got):\n%s", typ, diff)
				}
			}
			lastIs(1, "incident.opened")

			// Their reminders fall due together: one message too.
			h.clk.Advance(4*time.Hour + time.Second)
			h.cycle()
			lastIs(2, "incident.reminder")

			h.clk.Advance(5 * time.Minute)
			if registered {
				h.resolved(100, "database", "hook")
				h.clk.Advance(time.Second)
			}
			for i, name := range services {
				h.causedResolved(int64(i+1), name, "database", "hook")
				h.clk.Advance(200 * time.Millisecond)
				h.cycle()
			}
			for range 3 {
				h.clk.Advance(10 * time.Second)
				h.cycle()
			}
			lastIs(3, "incident.resolved")
			for _, d := range h.out.all() {
				if d.Event.Type != uptime.EventIncidentReminder && d.Status != uptime.DeliveryDelivered {
					t.Errorf("delivery %d of %s %s: %s %q", d.ID, d.Event.Type, d.Event.Target, d.Status, d.Reason)
				}
			}
		})
	}
}

// TestOneMessagePerCause: openings within group_wait make one message per
// cause, and one for those with none, as before causes.
func TestOneMessagePerCause(t *testing.T) {
	rc := testkit.NewWebhook(t)
	h := newHarness(t, Config{}, hookChannel(rc))
	h.causedOpened(1, "api", "pg", "hook")
	h.opened(2, "lonely", "hook")
	h.causedOpened(3, "cart", "redis", "hook")
	h.causedOpened(4, "web", "pg", "hook")
	h.opened(5, "pg", "hook")
	h.opened(6, "solo", "hook")
	h.causedOpened(7, "search", "redis", "hook")
	h.clk.Advance(11 * time.Second)
	h.cycle()
	var got []string
	for _, m := range messages(t, rc) {
		got = append(got, m.Data.Cause+": "+strings.Join(m.names(), ","))
	}
	want := []string{"pg: api,web,pg", ": lonely,solo", "redis: cart,search"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("messages cause: targets (-want +got):\n%s", diff)
	}
}

// TestResolutionsWithoutCauseUnchanged: without a cause a resolution is
// due at once and sent alone, even next to another's.
func TestResolutionsWithoutCauseUnchanged(t *testing.T) {
	rc := testkit.NewWebhook(t)
	h := newHarness(t, Config{}, hookChannel(rc))
	h.opened(1, "a", "hook")
	h.opened(2, "b", "hook")
	h.clk.Advance(11 * time.Second)
	h.cycle()
	ra := h.resolved(1, "a", "hook")
	rb := h.resolved(2, "b", "hook")
	if d := h.out.delivery(ra); !d.NextAt.Equal(h.clk.Now()) {
		t.Errorf("resolution without cause due at %v, want at once", d.NextAt)
	}
	h.cycle()
	got := messages(t, rc)
	if len(got) != 3 || !slices.Equal(got[1].names(), []string{"a"}) || !slices.Equal(got[2].names(), []string{"b"}) || got[1].Data.Cause != "" {
		t.Errorf("messages %+v, want the grouped opening then one resolution each", got)
	}
	if h.out.delivery(rb).Status != uptime.DeliveryDelivered {
		t.Errorf("b's resolution: %+v", h.out.delivery(rb))
	}
}

// TestSlackCauseThread: a bot posts a cause's opening once, replies with
// one resolution in its thread and leaves the grouped parent alone.
func TestSlackCauseThread(t *testing.T) {
	f := newFakeSlack(t)
	h := newHarness(t, Config{SlackAPIURL: f.srv.URL + "/api/"}, slackBot("ops"))
	h.opened(1, "postgres-main", "ops")
	for i, name := range []string{"api", "web", "billing"} {
		h.causedOpened(int64(i+2), name, "postgres-main", "ops")
	}
	h.clk.Advance(10 * time.Second)
	h.cycle()
	calls := f.recorded()
	if len(calls) != 1 {
		t.Fatalf("%d messages, want 1", len(calls))
	}
	if text := calls[0].Form.Get("text"); text != "🔴 postgres-main down — 3 dependents affected: api, web, billing" {
		t.Errorf("text = %q", text)
	}
	h.clk.Advance(time.Hour)
	h.resolved(1, "postgres-main", "ops")
	for i, name := range []string{"api", "web", "billing"} {
		h.causedResolved(int64(i+2), name, "postgres-main", "ops")
	}
	h.cycle() // nothing due yet: the resolutions wait group_wait
	h.clk.Advance(10 * time.Second)
	h.cycle()
	calls = f.recorded()
	if len(calls) != 2 || calls[1].Path != "/api/chat.postMessage" || calls[1].Form.Get("thread_ts") != "1773480413.000001" ||
		calls[1].Form.Get("text") != "✅ postgres-main recovered — 3 dependents back up: api, web, billing" {
		t.Fatalf("after the recovery: %+v", calls[1:])
	}
}

// TestOpeningsWaitForTheirSuspectedCause: dependents whose threshold was
// crossed before their cause's are held while the cause is only suspected,
// then go out in one message with the cause's own opening; a cause that
// never opens holds them one group_wait at most.
func TestOpeningsWaitForTheirSuspectedCause(t *testing.T) {
	for _, causeOpens := range []bool{true, false} {
		t.Run(fmt.Sprintf("cause opens %v", causeOpens), func(t *testing.T) {
			rc := testkit.NewWebhook(t)
			h := newHarness(t, Config{}, hookChannel(rc))
			services := []string{"svc-00", "svc-01", "svc-02"}
			for i, name := range services {
				h.opened(int64(i+1), name, "hook")
				h.out.attribute(int64(i+1), uptime.Attribution{Cause: "database", Suspected: true})
			}
			h.clk.Advance(10 * time.Second)
			h.cycle()
			if got := messages(t, rc); len(got) != 0 {
				t.Fatalf("sent %+v while the cause is only suspected", got)
			}
			for _, d := range h.out.all() {
				if d.Status != uptime.DeliveryPending || !d.NextAt.Equal(h.clk.Now().Add(holdStep)) {
					t.Errorf("held opening of %s: %s due %v, want pending due in %s", d.Event.Target, d.Status, d.NextAt, holdStep)
				}
			}
			want := services
			cause := "database"
			if causeOpens {
				h.clk.Advance(3 * time.Second)
				h.opened(100, "database", "hook")
				for i := range services {
					h.out.attribute(int64(i+1), uptime.Attribution{Cause: "database"})
				}
				want = append(slices.Clip(services), "database")
				h.clk.Advance(time.Second)
			} else {
				h.clk.Advance(9 * time.Second)
				h.cycle()
				if got := messages(t, rc); len(got) != 0 {
					t.Fatalf("sent %+v before the hold ran out", got)
				}
				h.clk.Advance(time.Second)
			}
			h.cycle()
			got := messages(t, rc)
			if len(got) != 1 || got[0].Type != "incident.opened" || got[0].Data.Cause != cause {
				t.Fatalf("messages %+v, want one opening caused by %s", got, cause)
			}
			if diff := cmp.Diff(want, got[0].names()); diff != "" {
				t.Errorf("targets of the opening (-want +got):\n%s", diff)
			}
		})
	}
}
