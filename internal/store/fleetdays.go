package store

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/lookout/lookout/internal/uptime"
)

// everyTarget narrows a rollup read to the targets' rows, read target by
// target through the rollups' key: for days, cheaper than their index by
// day, whose rows come in day order and need sorting by target.
const everyTarget = `target_id IN (SELECT id FROM targets)`

// EachDailyTally hands fn each target's day rollups from the day of from
// to the day before to's (whole UTC days, rolled up) added up, by target
// id, in id order; a target without rollups there is left out. t is
// reused: fn copies what it keeps. A window whose days are all rolled up
// (before the watermark's day) is read once and then kept: its rollups no
// longer change, but for a target's removal, which empties what is kept.
// Errors are the database's.
func (db *DB) EachDailyTally(ctx context.Context, from, to time.Time, fn func(id int64, t *uptime.Tally)) error {
	from, to = uptime.Day.Bucket(from), uptime.Day.Bucket(to)
	if !from.Before(to) {
		return nil
	}
	key := [2]int64{from.UnixMilli(), to.UnixMilli()}
	if sums := db.days.get(key); sums != nil {
		return sums.each(fn)
	}
	w, err := db.Watermark(ctx)
	if err != nil {
		return err
	}
	gen := db.days.generation()
	sums := &daySums{}
	var t uptime.Tally
	id := int64(0)
	done := func() {
		if id != 0 {
			sums.add(id, &t)
			fn(id, &t)
		}
	}
	err = db.scanRollups(ctx, targetRollups, everyTarget, nil, uptime.Day, from, to, func(sid int64, r *uptime.Rollup) {
		if sid != id {
			done()
			id, t = sid, uptime.Tally{}
		}
		t.Merge(&r.Tally)
	})
	if err != nil {
		return fmt.Errorf("read day rollups: %w", err)
	}
	done()
	if !to.After(uptime.Day.Bucket(w)) {
		db.days.put(key, sums, gen)
	}
	return nil
}

// dayCache keeps every target's sum over a few windows of whole days that
// are rolled up (EachDailyTally): the last ones asked for.
type dayCache struct {
	mu   sync.Mutex
	sums map[[2]int64]*daySums
	keys [][2]int64 // oldest first
	gen  int        // counts clear: a read from before a clear is not kept
}

// dayCacheWindows is how many windows are kept: trends asks for two at a
// time, the day's and the day before's linger a while.
const dayCacheWindows = 8

func (c *dayCache) get(key [2]int64) *daySums {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sums[key]
}

func (c *dayCache) generation() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gen
}

// put keeps sums, read while the cache was at generation gen.
func (c *dayCache) put(key [2]int64, sums *daySums, gen int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen || c.sums[key] != nil {
		return
	}
	if c.sums == nil {
		c.sums = map[[2]int64]*daySums{}
	}
	if len(c.keys) == dayCacheWindows {
		delete(c.sums, c.keys[0])
		c.keys = slices.Delete(c.keys, 0, 1)
	}
	c.sums[key] = sums
	c.keys = append(c.keys, key)
}

// clear forgets every window: a target was removed.
func (c *dayCache) clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sums, c.keys = nil, nil
	c.gen++
}

// daySums is every target's sum over a window, each tally packed: its
// histogram encoded, a few dozen bytes rather than 2 KiB.
type daySums struct {
	ids     []int64
	tallies []packedTally
}

type packedTally struct {
	up, degraded, down, unknown                      int
	upT, degradedT, downT, unknownT, maintT, pausedT time.Duration
	latMin, latMax, latSum                           time.Duration
	hist                                             []byte
}

func (s *daySums) add(id int64, t *uptime.Tally) {
	hist, _ := t.Latency.MarshalBinary()
	s.ids = append(s.ids, id)
	s.tallies = append(s.tallies, packedTally{t.Up, t.Degraded, t.Down, t.Unknown,
		t.UpTime, t.DegradedTime, t.DownTime, t.UnknownTime, t.MaintenanceTime, t.PausedTime,
		t.LatencyMin, t.LatencyMax, t.LatencySum, hist})
}

// each hands fn every target's sum, unpacked into one reused Tally.
func (s *daySums) each(fn func(id int64, t *uptime.Tally)) error {
	var t uptime.Tally
	for i, id := range s.ids {
		p := &s.tallies[i]
		t = uptime.Tally{Up: p.up, Degraded: p.degraded, Down: p.down, Unknown: p.unknown,
			UpTime: p.upT, DegradedTime: p.degradedT, DownTime: p.downT, UnknownTime: p.unknownT,
			MaintenanceTime: p.maintT, PausedTime: p.pausedT, LatencyMin: p.latMin, LatencyMax: p.latMax, LatencySum: p.latSum}
		if err := t.Latency.UnmarshalBinary(p.hist); err != nil {
			return err // not reached: the encoding is ours
		}
		fn(id, &t)
	}
	return nil
}
