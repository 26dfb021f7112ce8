package uptime

import "testing"

// Consecutive ids spread over the shards, so that a few targets are
// shared about evenly among instances holding ranges of shards.
func TestShardOf(t *testing.T) {
	per := make([]int, Shards)
	for id := int64(1); id <= 100*Shards; id++ {
		s := ShardOf(id)
		if s < 0 || s >= Shards {
			t.Fatalf("shard of %d is %d, out of [0, %d)", id, s, Shards)
		}
		per[s]++
	}
	for s, n := range per {
		if n < 90 || n > 110 {
			t.Errorf("shard %d has %d of 25,600 consecutive ids, want about 100", s, n)
		}
	}
	// 300 targets over three thirds of the shards: about 100 each.
	thirds := [3]int{}
	for id := int64(1); id <= 300; id++ {
		thirds[ShardOf(id)*3/Shards]++
	}
	for i, n := range thirds {
		if n < 80 || n > 120 {
			t.Errorf("third %d of the shards has %d of 300 targets, want about 100", i, n)
		}
	}
}
