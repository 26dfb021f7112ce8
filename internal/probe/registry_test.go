package probe

import (
	"os"
	"testing"
)

// TestEveryKindIsComplete keeps the rule that a check kind is one file plus
// its test: every registered kind has a validator, a check, and a
// <kind>_test.go beside it.
func TestEveryKindIsComplete(t *testing.T) {
	names := Kinds()
	if len(names) == 0 {
		t.Fatal("no kind registered")
	}
	for _, name := range names {
		k, ok := lookup(name)
		if !ok || k.Name != name {
			t.Errorf("kind %q: listed but not found under its name", name)
			continue
		}
		if k.Validate == nil {
			t.Errorf("kind %q has no validator", name)
		}
		if k.Check == nil {
			t.Errorf("kind %q has no check", name)
		}
		if _, err := os.Stat(name + "_test.go"); err != nil {
			t.Errorf("kind %q has no %s_test.go: %v", name, name, err)
		}
	}
}

func TestRegisterRefusesBadKinds(t *testing.T) {
	mustPanic := func(name string, k Kind) {
		t.Helper()
		defer func() {
			if recover() == nil {
				t.Errorf("%s: Register did not panic", name)
			}
		}()
		Register(k)
	}
	http, _ := lookup("http")
	mustPanic("duplicate", http)
	mustPanic("no name", Kind{Validate: http.Validate, Check: http.Check})
	mustPanic("no validator", Kind{Name: "x-no-validator", Check: http.Check})
	mustPanic("no check", Kind{Name: "x-no-check", Validate: http.Validate})
}
