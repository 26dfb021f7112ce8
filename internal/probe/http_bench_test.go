package probe

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/lookout/lookout/internal/uptime"
)

// BenchmarkHTTPCheck measures one http check against a loopback server
// over a kept-alive connection, the common case of the check loop: the
// Prober's own work, the server's included.
func BenchmarkHTTPCheck(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"status":"UP","components":{"db":{"status":"UP"},"diskSpace":{"status":"UP"}}}`)
	}))
	defer srv.Close()
	p := New(Options{})
	target := uptime.Target{Name: "t", Kind: "http", URL: srv.URL + "/health", Timeout: uptime.Duration(5 * time.Second),
		HTTP: &uptime.HTTPOptions{Headers: map[string]string{"Accept": "application/json"}, BodyContains: "UP"}}
	target.Normalize()
	if err := p.Validate(&target); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if r := p.Check(b.Context(), target); r.Status != uptime.StatusUp {
			b.Fatalf("check: %s %s", r.Status, r.Error)
		}
	}
}
