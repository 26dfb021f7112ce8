package main

import (
	"context"
	"io"
	"testing"
	"time"

	"github.com/lookout/lookout/internal/testkit"
)

// The bench runs several instances on PostgreSQL, which share the checks.
func TestBenchInstances(t *testing.T) {
	if testing.Short() {
		t.Skip("runs real checks for a few seconds; skipped with -short")
	}
	t.Parallel()
	rep, err := bench(context.Background(), benchOpts{targets: 60, interval: time.Second, duration: time.Second,
		workers: 16, listeners: 1, instances: 2, db: testkit.PostgresDSN(t)}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Instances != 2 || len(rep.ChecksByInstance) != 2 || rep.Achieved == 0 {
		t.Fatalf("report %+v, want two instances' checks", rep)
	}
	for i, n := range rep.ChecksByInstance {
		if n == 0 || n == rep.Achieved {
			t.Errorf("instance %d made %d of the %d checks, want a share", i+1, n, rep.Achieved)
		}
	}
}
