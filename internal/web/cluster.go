package web

import (
	"net/http"
	"time"

	"github.com/lookout/lookout/internal/uptime"
)

// clusterView is the body of GET /api/v1/cluster.
type clusterView struct {
	Self      string          `json:"self"`
	Shards    int             `json:"shards"`
	LeaseTTL  uptime.Duration `json:"lease_ttl"`
	Instances []instanceView  `json:"instances"`
}

type instanceView struct {
	ID          string    `json:"id"`
	Address     string    `json:"address"`
	Version     string    `json:"version"`
	StartedAt   time.Time `json:"started_at"`
	HeartbeatAt time.Time `json:"heartbeat_at"`
	Alive       bool      `json:"alive"`
	Shards      int       `json:"shards"`
	Targets     int       `json:"targets"`
}

// handleCluster lists the instances sharing the database: which are
// alive, and the shards and targets each holds.
func (s *Server) handleCluster(w http.ResponseWriter, r *http.Request) {
	var c uptime.Cluster
	if s.cfg.Cluster != nil {
		var err error
		if c, err = s.cfg.Cluster(r.Context()); err != nil {
			s.writeError(w, r, err)
			return
		}
	}
	v := clusterView{Self: c.Self, Shards: c.Shards, LeaseTTL: uptime.Duration(c.TTL), Instances: []instanceView{}}
	for _, in := range c.Instances {
		v.Instances = append(v.Instances, instanceView{ID: in.ID, Address: in.Address, Version: in.Version,
			StartedAt: in.StartedAt.UTC(), HeartbeatAt: in.HeartbeatAt.UTC(), Alive: in.Alive,
			Shards: in.Shards, Targets: in.Targets})
	}
	s.writeJSON(w, r, http.StatusOK, v)
}
