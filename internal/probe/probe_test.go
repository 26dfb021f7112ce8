package probe

import (
	"context"
	"testing"

	"github.com/lookout/lookout/internal/uptime"
)

// TestCheckOwnTroubleIsUnknown covers checks that fail for Lookout's own
// reasons: they are unknown with class internal, never the target's failure.
func TestCheckOwnTroubleIsUnknown(t *testing.T) {
	regMu.Lock()
	kinds["x-panics"] = Kind{Name: "x-panics", Validate: validateTCP,
		Check: func(context.Context, *Prober, *uptime.Target, *uptime.Result) { panic("boom") }}
	regMu.Unlock()
	t.Cleanup(func() {
		regMu.Lock()
		delete(kinds, "x-panics")
		regMu.Unlock()
	})

	tests := []struct{ kind, err string }{
		{"x-unknown", `unknown kind "x-unknown"`},
		{"x-panics", "internal error in the check"},
	}
	for _, tt := range tests {
		r := New(Options{}).Check(context.Background(), uptime.Target{Name: "t", Kind: tt.kind, URL: "a:1"})
		if r.Status != uptime.StatusUnknown || r.ErrorClass != uptime.ClassInternal || r.Error != tt.err {
			t.Errorf("kind %s: got %s/%s %q, want unknown/internal %q", tt.kind, r.Status, r.ErrorClass, r.Error, tt.err)
		}
	}
}
