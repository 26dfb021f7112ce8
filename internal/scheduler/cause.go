package scheduler

import (
	"slices"

	"github.com/lookout/lookout/internal/uptime"
)

// peer is what the cause rule needs to know of another registered target.
type peer struct {
	// down says the target's judged status is down (and it is not paused).
	down bool
	// cause is what the target's own open incident is attributed to, if
	// known: a dependent of a dependent is grouped under the root.
	cause string
}

// causeOf returns what the opening of t's incident is attributed to, given
// the components the failing check reported down and a way to look other
// targets up by name. In order:
//
//  1. the first declared dependency (t.DependsOn, in declared order) that is
//     down;
//  2. the first failing component that names a registered target — mapped
//     through t.Components, or of exactly that target's name — whether or
//     not that target is down yet: the dependent reports it failing;
//  3. the first failing component, as mapped through t.Components when it
//     is, so that targets reporting the same unregistered component are
//     grouped under its name;
//
// where "first" is in order of the (mapped) name, so that the choice does
// not depend on the order of the health document;
//
// and "" when none applies. When the target found in 1 or 2 is itself down
// with a cause, that cause is returned instead, so that a chain of
// dependents is grouped under its root. t itself is never its own cause.
func causeOf(t *uptime.Target, failing []uptime.Component, lookup func(name string) (peer, bool)) string {
	root := func(name string, p peer) string {
		if p.down && p.cause != "" && p.cause != t.Name {
			return p.cause
		}
		return name
	}
	for _, d := range t.DependsOn {
		if p, ok := lookup(d); ok && p.down && d != t.Name {
			return root(d, p)
		}
	}
	if len(failing) == 0 {
		return ""
	}
	names := make([]string, 0, len(failing))
	for _, c := range failing {
		name := c.Name
		if mapped, ok := t.Components[name]; ok && mapped != "" {
			name = mapped
		}
		if name != "" && name != t.Name {
			names = append(names, name)
		}
	}
	if len(names) == 0 {
		return ""
	}
	slices.Sort(names)
	for _, name := range names {
		if p, ok := lookup(name); ok {
			return root(name, p)
		}
	}
	return names[0]
}
