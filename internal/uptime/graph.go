package uptime

import (
	"slices"
	"strings"
)

// FindCycle returns a dependency cycle in graph (target → the targets it
// depends on) as the path that closes it, such as [a b c a], or nil when
// there is none. Names the graph does not define are leaves. The result is
// deterministic: nodes are visited in sorted order.
func FindCycle(graph map[string][]string) []string {
	const (
		unseen = iota
		onPath
		done
	)
	state := make(map[string]int, len(graph))
	var path []string
	var visit func(n string) []string
	visit = func(n string) []string {
		switch state[n] {
		case onPath:
			i := slices.Index(path, n)
			return append(slices.Clone(path[i:]), n)
		case done:
			return nil
		}
		state[n] = onPath
		path = append(path, n)
		deps := slices.Clone(graph[n])
		slices.Sort(deps)
		for _, d := range deps {
			if c := visit(d); c != nil {
				return c
			}
		}
		path = path[:len(path)-1]
		state[n] = done
		return nil
	}
	names := make([]string, 0, len(graph))
	for n := range graph {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		if c := visit(n); c != nil {
			return c
		}
	}
	return nil
}

// CycleError reports a dependency cycle as a validation error on depends_on.
func CycleError(cycle []string) error {
	return Invalid("depends_on", "would create a dependency cycle: "+strings.Join(cycle, " → "))
}
