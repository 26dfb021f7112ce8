package uptime

import "slices"

// Peer is what the cause rule needs to know of another registered target.
type Peer struct {
	// Down says the target's judged status is down (and it is not paused).
	Down bool
	// Failing says its latest check failed although it is not down yet: it
	// is below its failure threshold. Such a dependency is a suspected
	// cause: it is likely to be down by the time anyone is told.
	Failing bool
	// Cause is what the target's own open incident is attributed to, if
	// known: a dependent of a dependent is grouped under the root.
	Cause string
	// CauseSuspected says Cause is itself only suspected.
	CauseSuspected bool
}

// Attribution is what an incident is attributed to.
type Attribution struct {
	// Cause is the target or component name, "" when none.
	Cause string
	// Suspected says the cause is a registered target that is not down
	// (yet): its latest check failed, or a dependent's health document
	// reports it failing. Its own incident may open any moment.
	Suspected bool
}

// Attribute decides what an outage of t is attributed to, given the
// components its failing check reported down and a way to look other
// targets up by name. In order:
//
//  1. the first declared dependency (t.DependsOn, in declared order) that
//     is down; else the first whose latest check failed (suspected);
//  2. the first failing component that names a registered target — mapped
//     through t.Components, or of exactly that target's name — whether or
//     not that target is down yet: the dependent reports it failing
//     (suspected while it is not down);
//  3. the first failing component, as mapped through t.Components when it
//     is, so that targets reporting the same unregistered component are
//     grouped under its name;
//
// where "first" is in order of the (mapped) name, so that the choice does
// not depend on the order of the health document;
//
// and no cause when none applies. When the target found in 1 or 2 is itself
// down with a cause, that cause is returned instead, so that a chain of
// dependents is grouped under its root. t itself is never its own cause.
func Attribute(t *Target, failing []Component, lookup func(name string) (Peer, bool)) Attribution {
	root := func(name string, p Peer) Attribution {
		if p.Down && p.Cause != "" && p.Cause != t.Name {
			return Attribution{Cause: p.Cause, Suspected: p.CauseSuspected}
		}
		return Attribution{Cause: name, Suspected: !p.Down}
	}
	suspect := ""
	var suspectPeer Peer
	for _, d := range t.DependsOn {
		if d == t.Name {
			continue
		}
		p, ok := lookup(d)
		switch {
		case !ok:
		case p.Down:
			return root(d, p)
		case p.Failing && suspect == "":
			suspect, suspectPeer = d, p
		}
	}
	if suspect != "" {
		return root(suspect, suspectPeer)
	}
	if len(failing) == 0 {
		return Attribution{}
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
		return Attribution{}
	}
	slices.Sort(names)
	for _, name := range names {
		if p, ok := lookup(name); ok {
			return root(name, p)
		}
	}
	return Attribution{Cause: names[0]}
}
