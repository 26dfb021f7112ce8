package main

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/lookout/lookout/internal/testkit"
)

// TestOneAlertForASharedCause is the root-cause scenario: ten services whose
// health documents report a shared database, and one real outage of it. On
// call must get one opened message naming the cause and the ten dependents,
// then one resolved message, not eleven pages.
func TestOneAlertForASharedCause(t *testing.T) {
	t.Parallel()
	for _, registered := range []bool{true, false} {
		name := "database registered as a target"
		if !registered {
			name = "database known only as a component"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			testSharedCause(t, registered)
		})
	}
}

func testSharedCause(t *testing.T, registered bool) {
	bin := binary(t)
	rc, hookURL, secret := webhookSink(t)

	var dbDown atomic.Bool
	db := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if dbDown.Load() {
			http.Error(w, "connection refused by database", http.StatusServiceUnavailable)
		}
	}))
	defer db.Close()
	service := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if dbDown.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = io.WriteString(w, `{"status":"DOWN","components":{"database":{"status":"DOWN","details":{"error":"connection refused"}},"diskSpace":{"status":"UP"}}}`)
			return
		}
		_, _ = io.WriteString(w, `{"status":"UP","components":{"database":{"status":"UP"},"diskSpace":{"status":"UP"}}}`)
	}))
	defer service.Close()

	in := start(t, bin, filepath.Join(t.TempDir(), "lookout.db"))
	in.do(t, "POST", "/api/v1/channels", `{"name":"oncall","kind":"webhook","url":"`+hookURL+`","secret":"`+secret+`","default":true,"group_wait":"3s"}`, http.StatusCreated)
	if registered {
		in.do(t, "PUT", "/api/v1/targets/database", `{"url":"`+db.URL+`","interval":"1s","failure_threshold":1}`, http.StatusCreated)
	}
	var services []string
	for i := range 10 {
		n := fmt.Sprintf("svc-%02d", i)
		services = append(services, n)
		in.do(t, "PUT", "/api/v1/targets/"+n, `{"url":"`+service.URL+`/`+n+`","interval":"1s","failure_threshold":1}`, http.StatusCreated)
	}
	if registered {
		// svc-00 declares the database; the database cannot depend back on it.
		in.do(t, "PUT", "/api/v1/targets/svc-00", `{"url":"`+service.URL+`/svc-00","interval":"1s","failure_threshold":1,"depends_on":["database"]}`, http.StatusOK)
		problem := string(in.do(t, "PUT", "/api/v1/targets/database", `{"url":"`+db.URL+`","interval":"1s","failure_threshold":1,"depends_on":["svc-00"]}`, http.StatusBadRequest))
		if !strings.Contains(problem, `"field":"depends_on"`) || !strings.Contains(problem, "database → svc-00 → database") {
			t.Errorf("a cycle was not refused naming it: %s", problem)
		}
	}
	// Every target is checked up at least once before the outage.
	checked := services
	if registered {
		checked = append(slices.Clip(services), "database")
	}
	testkit.WaitFor(t, func() bool {
		for _, n := range checked {
			if len(in.results(t, n)) == 0 {
				return false
			}
		}
		return true
	}, func() string { return fmt.Sprintf("not every target of %v was checked\n%s", checked, in.logs) })
	dbDown.Store(true)
	opened := waitMessage(t, rc, "incident.opened", in.logs.String)
	if opened.Data["cause"] != "database" {
		t.Errorf("opened message cause %v, want database: %+v", opened.Data["cause"], opened.Data)
	}
	affected := targetsOf(opened.Data)
	for _, s := range services {
		if !slices.Contains(affected, s) {
			t.Errorf("opened message does not list %s among %v", s, affected)
		}
	}
	// While it lasts, a dependent's state names the cause too.
	var svc struct {
		State struct {
			Status string `json:"status"`
			Cause  string `json:"cause"`
		} `json:"state"`
	}
	mustJSON(t, in.do(t, "GET", "/api/v1/targets/svc-03", "", 200), &svc)
	if svc.State.Status != "down" || svc.State.Cause != "database" {
		t.Errorf("svc-03's state %+v while the database is down, want down with cause database", svc.State)
	}
	// Any straggler's opening would be in the outbox by now: wait until
	// none is left to send, rather than for a while.
	in.settled(t, "incident.opened")
	dbDown.Store(false)
	waitMessage(t, rc, "incident.resolved", in.logs.String)
	in.settled(t, "incident.resolved")

	counts := map[string]int{}
	for _, m := range rc.Messages(t) {
		counts[m.Type]++
	}
	if counts["incident.opened"] != 1 || counts["incident.resolved"] != 1 {
		t.Errorf("got %v messages, want exactly one opened and one resolved", counts)
		for _, m := range rc.Messages(t) {
			t.Logf("%s cause=%v target=%v targets=%v", m.Type, m.Data["cause"], m.Data["target"], targetsOf(m.Data))
		}
	}

	// Every dependent's incident records the cause.
	var page struct {
		Incidents []struct {
			Target string `json:"target"`
			Cause  string `json:"cause"`
		} `json:"incidents"`
	}
	mustJSON(t, in.do(t, "GET", "/api/v1/incidents", "", 200), &page)
	for _, inc := range page.Incidents {
		if slices.Contains(services, inc.Target) && inc.Cause != "database" {
			t.Errorf("incident of %s records cause %q, want database", inc.Target, inc.Cause)
		}
	}
	in.stop(t)
}

// targetsOf lists the target names a webhook message's data covers.
func targetsOf(data map[string]any) []string {
	var out []string
	if s, ok := data["target"].(string); ok && s != "" {
		out = append(out, s)
	}
	if list, ok := data["targets"].([]any); ok {
		for _, it := range list {
			switch v := it.(type) {
			case string:
				out = append(out, v)
			case map[string]any:
				if s, ok := v["target"].(string); ok {
					out = append(out, s)
				}
			}
		}
	}
	return out
}
