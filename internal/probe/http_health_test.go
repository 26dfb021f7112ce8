package probe

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/lookout/lookout/internal/uptime"
)

// TestHTTPHealthDocuments checks that the HTTP verdict and the health
// document's verdict combine, worst wins, and that components are recorded.
func TestHTTPHealthDocuments(t *testing.T) {
	const springDown = `{"status":"DOWN","components":{"db":{"status":"DOWN"},"diskSpace":{"status":"UP"}}}`
	const springUpDBDown = `{"status":"UP","components":{"db":{"status":"DOWN"}}}`
	const ietfWarn = `{"status":"warn","checks":{"cache:latency":[{"status":"warn","observedValue":250,"observedUnit":"ms"}]}}`
	tests := []struct {
		name       string
		code       int
		ctype      string
		body       string
		format     string
		wantStatus uptime.Status
		wantClass  uptime.ErrorClass
		wantError  string
		wantComps  int
	}{
		{"200 whose document says down fails as assertion", 200, "application/json", springDown, "", uptime.StatusDown, uptime.ClassAssertion, "health document says down: db", 2},
		{"503 whose document says up is still down", 503, "application/json", `{"status":"UP"}`, "", uptime.StatusDown, uptime.ClassStatus, "status 503, expected 2xx", 0},
		{"warn document makes a success degraded", 200, "application/health+json", ietfWarn, "", uptime.StatusDegraded, uptime.ClassNone, "", 1},
		{"the document's own up verdict wins over a down component", 200, "application/json", springUpDBDown, "", uptime.StatusUp, uptime.ClassNone, "", 1},
		{"health_format none ignores the document", 200, "application/json", springDown, "none", uptime.StatusUp, uptime.ClassNone, "", 0},
		{"a body that is no health document leaves the verdict alone", 200, "application/json", `{"items":[1,2,3]}`, "", uptime.StatusUp, uptime.ClassNone, "", 0},
		{"a 200 claiming health+json that does not parse is degraded", 200, "application/health+json", `{"status":"pass",`, "", uptime.StatusDegraded, uptime.ClassAssertion, "health document does not parse: the JSON ends before the document does", 0},
		{"a 200 claiming health+json without a status is degraded", 200, "application/health+json; charset=utf-8", `{"uptime":12}`, "", uptime.StatusDegraded, uptime.ClassAssertion, `health document does not parse: it has no "status" Lookout recognises`, 0},
		{"a 200 that starts as a health document but breaks is degraded", 200, "application/json", `{"status":"UP","components":{"db":{"status":UP}}}`, "", uptime.StatusDegraded, uptime.ClassAssertion, "health document does not parse: invalid JSON at byte 45: invalid character 'U' looking for beginning of value", 0},
		{"a 503 whose document does not parse keeps its own failure", 503, "application/health+json", `{"status":`, "", uptime.StatusDown, uptime.ClassStatus, "status 503, expected 2xx", 0},
		{"a broken document under health_format none is not read", 200, "application/health+json", `{"status":`, "none", uptime.StatusUp, uptime.ClassNone, "", 0},
		{"broken JSON that is no health document leaves the verdict alone", 200, "application/json", `{"items":[1,2`, "", uptime.StatusUp, uptime.ClassNone, "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Type", tt.ctype)
				w.WriteHeader(tt.code)
				_, _ = w.Write([]byte(tt.body))
			}))
			defer srv.Close()
			r := check(t, srv.URL, &uptime.HTTPOptions{HealthFormat: tt.format})
			if r.Status != tt.wantStatus || r.ErrorClass != tt.wantClass || r.Error != tt.wantError {
				t.Errorf("got %s/%s %q, want %s/%s %q", r.Status, r.ErrorClass, r.Error, tt.wantStatus, tt.wantClass, tt.wantError)
			}
			if len(r.Components) != tt.wantComps {
				t.Errorf("got %d components %+v, want %d", len(r.Components), r.Components, tt.wantComps)
			}
		})
	}
}
