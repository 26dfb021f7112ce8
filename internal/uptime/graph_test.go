package uptime

import (
	"errors"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestFindCycle(t *testing.T) {
	tests := []struct {
		name  string
		graph map[string][]string
		want  []string
	}{
		{"empty", nil, nil},
		{"a chain", map[string][]string{"api": {"db"}, "web": {"api"}, "db": nil}, nil},
		{"a diamond is no cycle", map[string][]string{"a": {"b", "c"}, "b": {"d"}, "c": {"d"}}, nil},
		{"unknown names are leaves", map[string][]string{"a": {"ghost"}}, nil},
		{"self loop", map[string][]string{"a": {"a"}}, []string{"a", "a"}},
		{"two", map[string][]string{"a": {"b"}, "b": {"a"}}, []string{"a", "b", "a"}},
		{"three behind a tail", map[string][]string{"x": {"a"}, "a": {"b"}, "b": {"c"}, "c": {"a"}}, []string{"a", "b", "c", "a"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, FindCycle(tt.graph)); diff != "" {
				t.Errorf("cycle (-want +got):\n%s", diff)
			}
		})
	}
}

func TestFindCycleDeepChain(t *testing.T) {
	g := map[string][]string{}
	for i := range 10000 {
		g[fmt.Sprint("n", i)] = []string{fmt.Sprint("n", i+1)}
	}
	if c := FindCycle(g); c != nil {
		t.Fatalf("a 10,000-long chain has no cycle, got %v", c)
	}
	g["n10000"] = []string{"n0"}
	if c := FindCycle(g); len(c) != 10002 {
		t.Fatalf("closing the chain: cycle of %d names, want 10002", len(c))
	}
}

func TestCycleError(t *testing.T) {
	var v *ValidationError
	err := CycleError([]string{"a", "b", "a"})
	if !errors.As(err, &v) || v.Errors[0].Field != "depends_on" || v.Errors[0].Problem != "would create a dependency cycle: a → b → a" {
		t.Fatalf("got %v", err)
	}
}
