package web

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/lookout/lookout/internal/uptime"
)

func TestCluster(t *testing.T) {
	started := time.Date(2025, 3, 4, 5, 0, 0, 0, time.FixedZone("CET", 3600))
	e := newEnv(t, func(c *Config) {
		c.Cluster = func(context.Context) (uptime.Cluster, error) {
			return uptime.Cluster{Self: "a", Shards: 256, TTL: time.Second, Instances: []uptime.Instance{
				{ID: "a", Address: "http://a:8080", Version: "v1", StartedAt: started, HeartbeatAt: started.Add(time.Hour), Alive: true, Shards: 128, Targets: 50},
				{ID: "b", StartedAt: started, HeartbeatAt: started, Shards: 128, Targets: 49},
			}}, nil
		}
	})
	var v struct {
		Self      string `json:"self"`
		Shards    int    `json:"shards"`
		LeaseTTL  string `json:"lease_ttl"`
		Instances []struct {
			ID          string `json:"id"`
			Address     string `json:"address"`
			StartedAt   string `json:"started_at"`
			HeartbeatAt string `json:"heartbeat_at"`
			Alive       bool   `json:"alive"`
			Shards      int    `json:"shards"`
			Targets     int    `json:"targets"`
		} `json:"instances"`
	}
	r := e.do("GET", "/api/v1/cluster", "")
	if r.status != http.StatusOK {
		t.Fatalf("GET /api/v1/cluster: %d %s", r.status, r.body)
	}
	decodeInto(t, r.body, &v)
	if v.Self != "a" || v.Shards != 256 || v.LeaseTTL != "1s" || len(v.Instances) != 2 {
		t.Fatalf("cluster %+v", v)
	}
	a, b := v.Instances[0], v.Instances[1]
	if a.ID != "a" || a.Address != "http://a:8080" || !a.Alive || a.Shards != 128 || a.Targets != 50 ||
		a.StartedAt != "2025-03-04T04:00:00Z" || a.HeartbeatAt != "2025-03-04T05:00:00Z" {
		t.Errorf("instance a %+v", a)
	}
	if b.ID != "b" || b.Alive || b.Targets != 49 {
		t.Errorf("instance b %+v", b)
	}

	// Without a cluster (a lone instance on SQLite): an empty list.
	e = newEnv(t)
	r = e.do("GET", "/api/v1/cluster", "")
	decodeInto(t, r.body, &v)
	if r.status != http.StatusOK || v.Instances == nil || len(v.Instances) != 0 {
		t.Errorf("no cluster: %d %s", r.status, r.body)
	}
}
