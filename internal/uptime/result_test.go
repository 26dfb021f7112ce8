package uptime

import (
	"strings"
	"testing"
)

// A failure of Lookout's own (class internal) is no verdict on the target;
// every other class is a failed check.
func TestResultFail(t *testing.T) {
	for class := ClassTimeout; class <= ClassInternal; class++ {
		var r Result
		r.Fail(class, "boom %d", 7)
		want := StatusDown
		if class == ClassInternal {
			want = StatusUnknown
		}
		if r.Status != want || r.ErrorClass != class || r.Error != "boom 7" {
			t.Errorf("Fail(%s): %s/%s %q, want %s/%s \"boom 7\"", class, r.Status, r.ErrorClass, r.Error, want, class)
		}
	}
	var r Result
	r.Fail(ClassStatus, "%s", strings.Repeat("x", MaxErrorLen+10))
	if len(r.Error) > MaxErrorLen {
		t.Errorf("error of %d bytes, want at most %d", len(r.Error), MaxErrorLen)
	}
}
