package web

import (
	"encoding/json"
	"testing"

	"github.com/lookout/lookout/internal/uptime"
)

// parseTarget is the API's path from bytes to a valid target, without a server.
func parseTarget(b []byte) (uptime.Target, error) {
	t, err := decodeTarget(b)
	if err != nil {
		return t, err
	}
	return t, testValidate(&t)
}

func FuzzDecodeTarget(f *testing.F) {
	for _, s := range []string{
		`{"name":"a","url":"http://x"}`,
		`{"name":"payments-api","kind":"http","url":"https://u:p@pay/health","interval":"15s","timeout":"5s","http":{"method":"get","headers":{"Authorization":"Bearer x"},"expect_status":["200-299",301],"follow_redirects":false},"labels":{"team":"payments"},"depends_on":["db"],"slo":0.999}`,
		`{"name":"db","kind":"postgres","url":"host=db password=x","schedule":"@every 5m","tls_expiry_warn":[],"degraded_latency":"300ms"}`,
		`{"name":"dns","kind":"dns","url":"example.com","dns":{"record":"A","expect":["1.2.3.4"]},"tcp":{"send":"x"}}`,
		`{"name":"a","url":"x","state":{"status":"up"},"created_at":"2025-01-01T00:00:00Z"}`,
		`{"interval":30}`, `[]`, `null`, `{"http":{"expect_status":"600"}}`, `{"a":1} x`, "",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		tg, err := parseTarget(b)
		if err != nil {
			return
		}
		out, err := json.Marshal(tg)
		if err != nil {
			t.Fatalf("valid target does not marshal: %v", err)
		}
		again, err := parseTarget(out)
		if err != nil {
			t.Fatalf("re-marshalled target %s is refused: %v", out, err)
		}
		if !tg.SameSpec(&again) {
			t.Fatalf("round trip changed the target:\n first %s\nsecond %s", out, mustJSON(t, again))
		}
	})
}

func mustJSON(t *testing.T, v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
