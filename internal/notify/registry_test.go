package notify

import (
	"bytes"
	"flag"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/lookout/lookout/internal/uptime"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

// samples are one message of every kind a channel renders, with fixed
// times so that their payloads are stable.
func samples() map[string]message {
	since := t0.Add(-3 * time.Minute)
	labels := map[string]string{"env": "prod", "team": "core"}
	open := uptime.Event{
		Type: uptime.EventIncidentOpened, At: t0, Since: since, Error: `GET /health: 503 Service Unavailable <html>`,
		ErrorClass: uptime.ClassStatus, Failures: 3, IncidentID: 41, Target: "api", Labels: labels,
		Components: []uptime.Component{{Name: "db", Status: uptime.StatusDown, Output: "connection pool exhausted"}},
		Cause:      "postgres",
	}
	base := message{Channel: "ops", ID: "msg_0195c2a4-7f00-7000-8000-000000000007", Attempt: t0.Add(time.Second), Dashboard: "http://127.0.0.1:8080"}
	with := func(typ uptime.EventType, evs ...uptime.Event) message {
		m := base
		m.Type, m.Events = typ, evs
		return m
	}
	var group []uptime.Event
	for i, name := range []string{"api", "web", "billing", "search", "auth"} {
		e := open
		e.Target, e.IncidentID, e.Components, e.Cause = name, int64(41+i), nil, ""
		e.At = t0.Add(time.Duration(i) * time.Second)
		e.Error = "dial tcp 10.0.0." + string(rune('1'+i)) + ":443: i/o timeout"
		e.ErrorClass = uptime.ClassTimeout
		group = append(group, e)
	}
	reminder := open
	reminder.Type, reminder.At = uptime.EventIncidentReminder, t0.Add(4*time.Hour)
	resolved := uptime.Event{Type: uptime.EventIncidentResolved, At: t0.Add(12*time.Minute + 30*time.Second), Since: since, Failures: 9, IncidentID: 41, Target: "api", Labels: labels}
	// A database and three services that report it failing.
	cause := uptime.Event{Type: uptime.EventIncidentOpened, At: t0, Since: since,
		Error: "dial tcp 10.0.0.9:5432: connect: connection refused", ErrorClass: uptime.ClassRefused, Failures: 3,
		IncidentID: 40, Target: "postgres-main", Labels: labels}
	caused := []uptime.Event{cause}
	for i, name := range []string{"api", "web", "billing"} {
		e := open
		e.Target, e.IncidentID, e.Cause = name, int64(41+i), "postgres-main"
		e.At = t0.Add(time.Duration(i+1) * time.Second)
		caused = append(caused, e)
	}
	var reminded []uptime.Event
	for _, e := range caused {
		e.Type, e.At = uptime.EventIncidentReminder, e.At.Add(4*time.Hour)
		reminded = append(reminded, e)
	}
	var recovered []uptime.Event
	for i, e := range caused {
		recovered = append(recovered, uptime.Event{Type: uptime.EventIncidentResolved, At: t0.Add(12*time.Minute + time.Duration(i)*time.Second),
			Since: e.Since, Failures: 9, IncidentID: e.IncidentID, Target: e.Target, Labels: labels, Cause: e.Cause})
	}
	byCause := func(typ uptime.EventType, evs []uptime.Event) message {
		m := with(typ, evs...)
		m.Cause = "postgres-main"
		return m
	}
	page := uptime.SLOBurn{Severity: "page", Objective: 0.999, Threshold: 14.4, BudgetSpent: 0.0283,
		Long: uptime.Burn{Window: uptime.Duration(time.Hour), Rate: 20.4}, Short: uptime.Burn{Window: uptime.Duration(5 * time.Minute), Rate: 36}}
	ticket := uptime.SLOBurn{Severity: "ticket", Objective: 0.9995, Threshold: 6, BudgetSpent: 0.0734,
		Long: uptime.Burn{Window: uptime.Duration(6 * time.Hour), Rate: 8.81}, Short: uptime.Burn{Window: uptime.Duration(30 * time.Minute), Rate: 10.03}}
	calm := page
	calm.Long.Rate, calm.Short.Rate, calm.BudgetSpent = 416.67, 3.2, 0.5787
	return map[string]message{
		"opened":         with(uptime.EventIncidentOpened, open),
		"grouped":        with(uptime.EventIncidentOpened, group...),
		"cause_opened":   byCause(uptime.EventIncidentOpened, caused),
		"cause_reminder": byCause(uptime.EventIncidentReminder, reminded),
		"cause_resolved": byCause(uptime.EventIncidentResolved, recovered),
		"reminder":       with(uptime.EventIncidentReminder, reminder),
		"resolved":       with(uptime.EventIncidentResolved, resolved),
		"flapping":       with(uptime.EventFlapping, uptime.Event{Type: uptime.EventFlapping, At: t0, Since: t0.Add(-20 * time.Minute), Target: "api", Labels: labels}),
		"stable":         with(uptime.EventStable, uptime.Event{Type: uptime.EventStable, At: t0, Target: "api", Labels: labels}),
		"cert_expiring": with(uptime.EventCertExpiring, uptime.Event{Type: uptime.EventCertExpiring, At: t0,
			Since: t0.Add(6*24*time.Hour + 5*time.Hour), Error: uptime.CertExpiryText(t0.Add(6*24*time.Hour+5*time.Hour), t0),
			Target: "api", Labels: labels}),
		"test":          with(uptime.EventChannelTest, uptime.Event{Type: uptime.EventChannelTest, At: t0}),
		"slo_burn":      with(uptime.EventSLOBurn, uptime.Event{Type: uptime.EventSLOBurn, At: t0, Target: "api", Labels: labels, SLO: &page}),
		"slo_ticket":    with(uptime.EventSLOBurn, uptime.Event{Type: uptime.EventSLOBurn, At: t0, Target: "api", Labels: labels, SLO: &ticket}),
		"slo_recovered": with(uptime.EventSLORecovered, uptime.Event{Type: uptime.EventSLORecovered, At: t0.Add(25 * time.Minute), Since: t0, Target: "api", Labels: labels, SLO: &calm}),
		"slo_ended": with(uptime.EventSLORecovered, uptime.Event{Type: uptime.EventSLORecovered, At: t0.Add(time.Hour), Since: t0, Target: "api", Labels: labels,
			SLO: &uptime.SLOBurn{Severity: "page"}}),
	}
}

// TestEveryKindIsComplete keeps "a channel kind is one file plus its
// test": every kind has a validator, a sender, a renderer, a golden file
// per message kind and a leaks-no-secret test.
func TestEveryKindIsComplete(t *testing.T) {
	names := kinds()
	if len(names) < 2 {
		t.Fatalf("kinds = %v, want slack and webhook at least", names)
	}
	for _, name := range names {
		k, _ := lookup(name)
		if k.validate == nil || k.send == nil || k.render == nil {
			t.Errorf("kind %q lacks a validator, sender or renderer", name)
		}
		for s := range samples() {
			if _, err := os.Stat(goldenPath(name, s)); err != nil {
				t.Errorf("kind %q has no golden file for %s: %v", name, s, err)
			}
		}
		f, err := parser.ParseFile(token.NewFileSet(), name+"_test.go", nil, 0)
		if err != nil {
			t.Errorf("kind %q: %v", name, err)
			continue
		}
		want := "Test" + strings.ToUpper(name[:1]) + name[1:] + "LeaksNoSecret"
		if f.Scope.Lookup(want) == nil {
			t.Errorf("kind %q has no %s in %s_test.go", name, want, name)
		}
	}
}

func TestRegisterRefusesBadKinds(t *testing.T) {
	s, _ := lookup("slack")
	for name, k := range map[string]kind{
		"duplicate":    s,
		"no name":      {validate: s.validate, send: s.send, render: s.render},
		"no validator": {name: "x1", send: s.send, render: s.render},
		"no sender":    {name: "x2", validate: s.validate, render: s.render},
		"no renderer":  {name: "x3", validate: s.validate, send: s.send},
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: register did not panic", name)
				}
			}()
			register(k)
		}()
	}
}

func goldenPath(kind, sample string) string {
	return filepath.Join("testdata", kind+"_"+sample+".golden")
}

// TestGolden pins every kind's payload for every message kind; run with
// -update to rewrite them after a deliberate change.
func TestGolden(t *testing.T) {
	for _, name := range kinds() {
		k, _ := lookup(name)
		for s, m := range samples() {
			t.Run(name+"/"+s, func(t *testing.T) {
				got, err := k.render(m)
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, '\n')
				path := goldenPath(name, s)
				if *update {
					if err := os.WriteFile(path, got, 0o644); err != nil {
						t.Fatal(err)
					}
					return
				}
				want, err := os.ReadFile(path)
				if err != nil {
					t.Fatalf("%v (run go test -update)", err)
				}
				if !bytes.Equal(got, want) {
					t.Errorf("%s differs (-want +got):\n%s", path, cmp.Diff(string(want), string(got)))
				}
			})
		}
	}
}
