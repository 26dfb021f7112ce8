package web

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

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
		`{"name":"a","url":"x","name":"b"}`, `{"name":"a","URL":"x","url":"y"}`, `{"name":"a","url":"x","labels":{"k":"1","k":"2"}}`,
		`{"name":"a","url":"x","interval":"0s"}`,
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
		// The same document with one of its members sent again, in
		// another case or not, is refused naming that member.
		var members map[string]json.RawMessage
		if err := json.Unmarshal(out, &members); err != nil {
			t.Fatal(err)
		}
		keys := slices.Sorted(maps.Keys(members))
		k := keys[len(b)%len(keys)]
		twice := k
		if len(b)%2 == 1 {
			twice = strings.ToUpper(k)
		}
		dup := slices.Concat(out[:len(out)-1], []byte(`,"`+twice+`":`), members[k], []byte(`}`))
		_, err = parseTarget(dup)
		var v *uptime.ValidationError
		if !errors.As(err, &v) || v.Errors[0].Field != k {
			t.Fatalf("%s with %q sent twice: got %v, want a problem naming %s", out, twice, err, k)
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

// FuzzSync feeds sync bodies to the decoding and validation in front of
// the store: never a panic, every refusal a validation error, and what is
// accepted is the owner's, once per name, each entry valid.
func FuzzSync(f *testing.F) {
	for _, s := range []string{
		`{"owner":"team-a","targets":[{"name":"a","url":"http://x"},{"name":"b","url":"http://y","depends_on":["a"]}]}`,
		`{"owner":"team-a","prune":false,"dry_run":true,"targets":[],"channels":[{"name":"ops","kind":"webhook","url":"https://h.example.com"}]}`,
		`{"owner":"x","targets":[{"name":"a","url":"http://x","labels":{"owner":"y"}}]}`,
		`{"owner":"x","targets":[{"name":"a","url":"http://x"},{"name":"a","url":"http://x"}]}`,
		`{"owner":"x","targets":[{"name":"a","url":"http://x","name":"b"}]}`,
		`{"owner":"x","owner":"y"}`, `{"owner":""}`, `{"targets":null}`, `[]`, `null`, `{"owner":"x","targets":{}}`, "",
	} {
		f.Add([]byte(s))
	}
	s := New(Config{Validate: testValidate, ValidateMaintenance: testValidateMaintenance},
		newFakeStore(time.Now), &fakeScheduler{}, &fakeNotifier{})
	f.Fuzz(func(t *testing.T, b []byte) {
		rep, err := s.Sync(context.Background(), b)
		var verr *uptime.ValidationError
		if err != nil {
			if !errors.As(err, &verr) {
				t.Fatalf("refused with %T %v, want a validation error", err, err)
			}
			return
		}
		if !uptime.ValidName(rep.Owner) {
			t.Fatalf("accepted owner %q", rep.Owner)
		}
		if rep.Targets != nil {
			seen := map[string]bool{}
			for _, name := range rep.Targets.Created {
				if seen[name] {
					t.Fatalf("%q accepted twice", name)
				}
				seen[name] = true
			}
		}
	})
}
