package store

import (
	"context"
	"errors"
	"testing"

	"github.com/lookout/lookout/internal/uptime"
)

// testDependencyCycles checks that every way of writing a target refuses a
// depends_on that closes a cycle, naming it, and writes nothing then.
func testDependencyCycles(t *testing.T, e *env) {
	ctx := context.Background()
	withDeps := func(name string, deps ...string) *uptime.Target {
		tg := newTarget(name, nil)
		tg.DependsOn = deps
		return tg
	}
	for _, tg := range []*uptime.Target{withDeps("db"), withDeps("cdn"), withDeps("api", "db"), withDeps("web", "api", "cdn")} {
		if err := e.CreateTarget(ctx, tg); err != nil {
			t.Fatalf("create %s: %v", tg.Name, err)
		}
	}
	wantCycle := func(t *testing.T, err error, cycle string) {
		t.Helper()
		var v *uptime.ValidationError
		if !errors.As(err, &v) || v.Errors[0].Field != "depends_on" || v.Errors[0].Problem != "would create a dependency cycle: "+cycle {
			t.Fatalf("got %v, want the cycle %s on depends_on", err, cycle)
		}
	}

	// put: db → web → api → db
	_, _, err := e.PutTarget(ctx, withDeps("db", "web"))
	wantCycle(t, err, "api → db → web → api")
	// update: db → api
	_, err = e.UpdateTarget(ctx, "db", func(tg *uptime.Target) error { tg.DependsOn = []string{"api"}; return nil })
	wantCycle(t, err, "api → db → api")
	// create: nothing can depend on a name not yet registered, so only a
	// self-reference closes a cycle (validation refuses it first too).
	err = e.CreateTarget(ctx, withDeps("loop", "loop"))
	wantCycle(t, err, "loop → loop")

	got, err := e.GetTarget(ctx, "db")
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Target.DependsOn) != 0 {
		t.Errorf("a refused write changed db's dependencies to %v", got.Target.DependsOn)
	}
	// A dependency on a leaf, or a diamond, is fine.
	if _, _, err := e.PutTarget(ctx, withDeps("db", "cdn")); err != nil {
		t.Errorf("db → cdn: %v", err)
	}
	if _, _, err := e.PutTarget(ctx, withDeps("web", "api", "db")); err != nil {
		t.Errorf("a diamond web → api → db, web → db: %v", err)
	}
}
