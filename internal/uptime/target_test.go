package uptime

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func valid() Target {
	t := Target{Name: "api", URL: "http://127.0.0.1/health"}
	t.Normalize()
	return t
}

func TestNormalizeDefaults(t *testing.T) {
	tg := Target{Name: "api", URL: "http://x"}
	tg.Normalize()
	if tg.Kind != "http" || tg.Interval.D() != 30*time.Second || tg.Timeout.D() != 10*time.Second ||
		tg.FailureThreshold != 3 || tg.SuccessThreshold != 1 || len(tg.TLSExpiryWarn) != 3 {
		t.Errorf("defaults: %+v", tg)
	}
	short := Target{Name: "api", URL: "http://x", Interval: Duration(5 * time.Second)}
	short.Normalize()
	if short.Timeout.D() != 4*time.Second {
		t.Errorf("default timeout for a 5s interval is %s, want 4s (80%%)", short.Timeout)
	}
	cron := Target{Name: "api", URL: "http://x", Schedule: "@hourly"}
	cron.Normalize()
	if cron.Interval != 0 || cron.Timeout.D() != 10*time.Second {
		t.Errorf("a scheduled target got interval %s timeout %s", cron.Interval, cron.Timeout)
	}
}

// A zero sent for a field whose zero Normalize would replace is refused,
// naming the field; the same zero left out is not.
func TestRefuseGivenZeros(t *testing.T) {
	sent := func(names ...string) func(string) bool {
		return func(f string) bool { return slices.Contains(names, f) }
	}
	zero := Target{Name: "api", URL: "http://x"}
	all := []string{"interval", "timeout", "failure_threshold", "success_threshold"}
	if got := fields(t, zero.RefuseGivenZeros(sent(all...))); !slices.Equal(got, all) {
		t.Errorf("zeros sent: problems with %v, want %v", got, all)
	}
	if err := zero.RefuseGivenZeros(sent()); err != nil {
		t.Errorf("zeros left out: %v", err)
	}
	set := valid()
	if err := set.RefuseGivenZeros(sent(all...)); err != nil {
		t.Errorf("values sent: %v", err)
	}
}

func TestTargetValidate(t *testing.T) {
	tests := []struct {
		name  string
		edit  func(*Target)
		field string
	}{
		{"empty name", func(t *Target) { t.Name = "" }, "name"},
		{"uppercase name", func(t *Target) { t.Name = "API" }, "name"},
		{"too long name", func(t *Target) { t.Name = strings.Repeat("a", 64) }, "name"},
		{"no url", func(t *Target) { t.URL = " " }, "url"},
		{"interval under a second", func(t *Target) {
			t.Interval = Duration(500 * time.Millisecond)
			t.Timeout = Duration(100 * time.Millisecond)
		}, "interval"},
		{"timeout not under interval", func(t *Target) { t.Timeout = t.Interval }, "timeout"},
		{"interval and schedule", func(t *Target) { t.Schedule = "@hourly" }, "schedule"},
		{"zero failure threshold", func(t *Target) { t.FailureThreshold = 0 }, "failure_threshold"},
		{"slo of one", func(t *Target) { t.SLO = 1 }, "slo"},
		{"negative degraded latency", func(t *Target) { t.DegradedLatency = -1 }, "degraded_latency"},
		{"bad label name", func(t *Target) { t.Labels = map[string]string{"1x": "y"} }, "labels"},
		{"self dependency", func(t *Target) { t.DependsOn = []string{"api"} }, "depends_on[0]"},
		{"bad channel name", func(t *Target) { t.Channels = []string{"Ops!"} }, "channels[0]"},
		{"component mapped to a bad name", func(t *Target) { t.Components = map[string]string{"db": "Bad Name"} }, "components"},
		{"negative expiry warning", func(t *Target) { t.TLSExpiryWarn = []int{-1} }, "tls_expiry_warn[0]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tg := valid()
			tt.edit(&tg)
			var v *ValidationError
			if err := tg.Validate(); !errors.As(err, &v) || v.Errors[0].Field != tt.field {
				t.Fatalf("got %v, want a problem with %s", err, tt.field)
			}
		})
	}
	ok := valid()
	if err := ok.Validate(); err != nil {
		t.Fatalf("a valid target: %v", err)
	}
}

func TestRedactedAndKeepSecrets(t *testing.T) {
	tg := valid()
	tg.URL = "https://user:hunter2@api.test/health?token=abc&x=1"
	tg.HTTP = &HTTPOptions{Headers: map[string]string{"Authorization": "Bearer xyz", "Accept": "application/json"}}
	red := tg.Redacted()
	b, _ := json.Marshal(red)
	for _, secret := range []string{"hunter2", "abc", "xyz"} {
		if strings.Contains(string(b), secret) {
			t.Errorf("redacted target shows %q: %s", secret, b)
		}
	}
	if red.HTTP.Headers["Accept"] != "application/json" || tg.HTTP.Headers["Authorization"] != "Bearer xyz" {
		t.Errorf("redaction changed the wrong things: %+v / original %+v", red.HTTP.Headers, tg.HTTP.Headers)
	}
	back := red
	back.HTTP = &HTTPOptions{Headers: map[string]string{"Authorization": Redacted, "Accept": "text/plain"}}
	back.KeepSecrets(&tg)
	if back.URL != tg.URL || back.HTTP.Headers["Authorization"] != "Bearer xyz" || back.HTTP.Headers["Accept"] != "text/plain" {
		t.Errorf("KeepSecrets: url %q headers %v", back.URL, back.HTTP.Headers)
	}
	moved := red
	moved.URL = strings.Replace(red.URL, "api.test", "evil.test", 1)
	moved.KeepSecrets(&tg)
	if strings.Contains(moved.URL, "hunter2") {
		t.Errorf("a changed host got the old password: %s", moved.URL)
	}
}

func TestRedactURL(t *testing.T) {
	for in, want := range map[string]string{
		"postgres://app:pw@db:5432/x?sslmode=disable": "postgres://app:***@db:5432/x?sslmode=disable",
		"host=db user=app password=pw dbname=x":       "host=db user=app password=*** dbname=x",
		"app:pw@tcp(db:3306)/x":                       "app:***@tcp(db:3306)/x",
		"http://api.test/?api_key=k":                  "http://api.test/?api_key=***",
		"http://api.test/health":                      "http://api.test/health",
	} {
		if got := RedactURL(in); got != want {
			t.Errorf("RedactURL(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSecretNeverShows(t *testing.T) {
	s := Secret("whsec_abc")
	b, _ := json.Marshal(struct{ S Secret }{s})
	if strings.Contains(string(b), "abc") || s.String() != Redacted || s.Reveal() != "whsec_abc" {
		t.Errorf("secret shows: %s %s", b, s)
	}
}

func TestSameSpec(t *testing.T) {
	a, b := valid(), valid()
	b.ID, b.CreatedAt = 7, time.Now()
	if !a.SameSpec(&b) {
		t.Error("identity and timestamps made specs differ")
	}
	b.Labels = map[string]string{"team": "x"}
	if a.SameSpec(&b) {
		t.Error("a label change went unnoticed")
	}
}

// References lists what a write adds, in field order; what the stored
// target already named is not listed again.
func TestReferences(t *testing.T) {
	tg := valid()
	tg.Channels = []string{"ops", "pager"}
	tg.DependsOn = []string{"db"}
	tg.Components = map[string]string{"cache": "redis", "database": "db"}
	all := []Reference{
		{Field: "channels[0]", Channel: true, Name: "ops"},
		{Field: "channels[1]", Channel: true, Name: "pager"},
		{Field: "depends_on[0]", Name: "db"},
		{Field: "components", Name: "redis", Component: "cache"},
		{Field: "components", Name: "db", Component: "database"},
	}
	if diff := cmp.Diff(all, tg.References(nil)); diff != "" {
		t.Errorf("new target (-want +got):\n%s", diff)
	}
	old := valid()
	old.Channels = []string{"pager"}
	old.DependsOn = []string{"db"}
	old.Components = map[string]string{"cache": "memcached", "database": "db"}
	want := []Reference{all[0], all[3]}
	if diff := cmp.Diff(want, tg.References(&old)); diff != "" {
		t.Errorf("over a stored target (-want +got):\n%s", diff)
	}

	missing := func(r Reference) (bool, error) { return r.Name == "db", nil }
	err := tg.CheckReferences(nil, missing)
	if got := fields(t, err); !slices.Equal(got, []string{"channels[0]", "channels[1]", "components"}) {
		t.Errorf("missing references: problems with %v", got)
	}
	boom := errors.New("store down")
	if err := tg.CheckReferences(nil, func(Reference) (bool, error) { return false, boom }); !errors.Is(err, boom) {
		t.Errorf("a failing lookup gave %v, want its error", err)
	}
}
