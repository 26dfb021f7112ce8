package uptime

import "time"

// Shards is how many shards the targets are divided into when several
// instances share one database: an instance leases shards, not targets,
// so the lease table stays small and checking a lease is one short read.
const Shards = 256

// ShardOf is the shard of the target with this id: the top 8 bits of
// the id times 2^64/φ (Fibonacci hashing), which scatters consecutive ids
// over the shards, so that whichever shards an instance holds, it gets
// about its share of the targets, however few there are.
func ShardOf(targetID int64) int {
	return int(uint64(targetID) * 0x9E3779B97F4A7C15 >> 56)
}

// LeaseRequest is one turn of an instance's lease loop.
type LeaseRequest struct {
	// Address and Version describe the instance in the cluster view.
	Address, Version string
	// TTL is how long a lease lasts unrenewed, and how recent a heartbeat
	// must be for its instance to count as alive.
	TTL time.Duration
	// ClaimExpired lets the turn take shards whose lease another instance
	// let run out. An instance that has just got its database back holds
	// off for a while, so that the others, cut off too, renew their own
	// first.
	ClaimExpired bool
}

// Leases is what an instance holds after a turn of its lease loop.
type Leases struct {
	// Held maps each shard the instance holds to the epoch it holds it
	// under: a number that grows each time the shard changes hands.
	Held map[int]int64
	// Live counts the instances alive, this one included.
	Live int
	// Share is the most shards the instance should hold: Shards divided
	// by Live, rounded up.
	Share int
	// Rejoined is set when the instance's own heartbeat had run out
	// before this turn: it was cut off from the database for a while.
	Rejoined bool
}

// Instance is one instance of a cluster, as its view lists it.
type Instance struct {
	ID, Address, Version   string
	StartedAt, HeartbeatAt time.Time
	// Alive is set while its heartbeat is recent.
	Alive bool
	// Shards and Targets count what it holds.
	Shards, Targets int
}

// Cluster is the instances sharing a database, as seen by one of them.
type Cluster struct {
	// Self is the id of the instance answering.
	Self string
	// Shards is how many shards the targets are leased in; 0 when the
	// instance runs alone (on SQLite) and checks every target.
	Shards int
	// TTL is how long a lease lasts unrenewed.
	TTL time.Duration
	// Instances lists them by id, dead ones too for a while.
	Instances []Instance
}
