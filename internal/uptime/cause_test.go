package uptime

import "testing"

func TestAttribute(t *testing.T) {
	peers := map[string]Peer{
		"postgres-main": {Down: true},
		"redis":         {},
		"auth":          {Down: true, Cause: "postgres-main"},
		"queue":         {Down: true},
		"kafka":         {Failing: true},
		"etcd":          {Failing: true},
		"gateway":       {Down: true, Cause: "etcd", CauseSuspected: true},
	}
	lookup := func(name string) (Peer, bool) { p, ok := peers[name]; return p, ok }
	down := func(names ...string) []Component {
		var cs []Component
		for _, n := range names {
			cs = append(cs, Component{Name: n, Status: StatusDown})
		}
		return cs
	}
	for _, tc := range []struct {
		name      string
		dependsOn []string
		mapping   map[string]string
		failing   []Component
		want      Attribution
	}{
		{name: "declared dependency down", dependsOn: []string{"postgres-main"}, want: Attribution{Cause: "postgres-main"}},
		{name: "declared dependency up: no cause", dependsOn: []string{"redis"}},
		{name: "unknown declared dependency: no cause", dependsOn: []string{"gone"}},
		{name: "first down dependency in declared order", dependsOn: []string{"redis", "queue", "postgres-main"}, want: Attribution{Cause: "queue"}},
		{name: "declared dependency failing below its threshold: suspected", dependsOn: []string{"redis", "kafka"}, want: Attribution{Cause: "kafka", Suspected: true}},
		{name: "first failing dependency in declared order", dependsOn: []string{"etcd", "kafka"}, want: Attribution{Cause: "etcd", Suspected: true}},
		{name: "a down dependency wins over an earlier failing one", dependsOn: []string{"kafka", "queue"}, want: Attribution{Cause: "queue"}},
		{name: "a failing dependency wins over a component", dependsOn: []string{"kafka"}, failing: down("postgres-main"), want: Attribution{Cause: "kafka", Suspected: true}},
		{name: "declared dependency wins over a component", dependsOn: []string{"queue"}, failing: down("postgres-main"), want: Attribution{Cause: "queue"}},
		{name: "dependency down with its own cause: the root", dependsOn: []string{"auth"}, want: Attribution{Cause: "postgres-main"}},
		{name: "dependency down with a suspected cause: the root, suspected", dependsOn: []string{"gateway"}, want: Attribution{Cause: "etcd", Suspected: true}},
		{name: "component mapped to a target", mapping: map[string]string{"db": "postgres-main"}, failing: down("db"), want: Attribution{Cause: "postgres-main"}},
		{name: "component mapped to a target that is up: suspected", mapping: map[string]string{"cache": "redis"}, failing: down("cache"), want: Attribution{Cause: "redis", Suspected: true}},
		{name: "component named like a target", failing: down("redis"), want: Attribution{Cause: "redis", Suspected: true}},
		{name: "component naming a target down with a cause: the root", failing: down("auth"), want: Attribution{Cause: "postgres-main"}},
		{name: "unknown component: its name", failing: down("database"), want: Attribution{Cause: "database"}},
		{name: "unknown component mapped: the mapped name", mapping: map[string]string{"db": "pg-replica"}, failing: down("db"), want: Attribution{Cause: "pg-replica"}},
		{name: "a target wins over an unknown component", failing: down("aaa", "redis"), want: Attribution{Cause: "redis", Suspected: true}},
		{name: "several unknown components: the first by name", failing: down("zeta", "database", "mq"), want: Attribution{Cause: "database"}},
		{name: "several targets: the first by name", failing: down("redis", "queue"), want: Attribution{Cause: "queue"}},
		{name: "component naming the target itself is not its cause", failing: down("api")},
		{name: "depending on itself is not a cause", dependsOn: []string{"api"}},
		{name: "nothing failing: no cause", dependsOn: []string{"redis"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tg := Target{Name: "api", DependsOn: tc.dependsOn, Components: tc.mapping}
			if got := Attribute(&tg, tc.failing, lookup); got != tc.want {
				t.Errorf("Attribute = %+v, want %+v", got, tc.want)
			}
		})
	}
}
