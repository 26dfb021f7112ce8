package store

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/lookout/lookout/internal/uptime"
)

// Whole days that are rolled up (before the watermark's day) no longer
// change: a day rollup is written once, when its day is complete, and kept
// forever. So the sum of a stretch of them, a target's or every target's,
// is read once and then kept, packed, until a target is removed. Uptime
// over a year is then the hours and minutes at its edges and one kept sum,
// not 365 rows; trends' two weeks of every target, two kept sums a target.

// everyTarget narrows a rollup read to the targets' rows, read target by
// target through the rollups' key: for days, cheaper than their index by
// day, whose rows come in day order and need sorting by target.
const everyTarget = `target_id IN (SELECT id FROM targets)`

// EachDailyTally hands fn each target's day rollups from the day of from
// to the day before to's (whole UTC days, rolled up) added up, by target
// id, in id order; a target without rollups there is left out. t is
// reused: fn copies what it keeps. A window whose days are all rolled up
// is read once and then kept (see daySums). Errors are the database's.
func (db *DB) EachDailyTally(ctx context.Context, from, to time.Time, fn func(id int64, t *uptime.Tally)) error {
	from, to = uptime.Day.Bucket(from), uptime.Day.Bucket(to)
	if !from.Before(to) {
		return nil
	}
	key := dayKey{targetRollups.name, 0, from.UnixMilli(), to.UnixMilli()}
	if sums := db.days.get(key); sums != nil {
		sums.each(fn)
		return nil
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

// daySum hands fn a series' day rollups over [from, to), whole days before
// the watermark's, added up into one (its Start is from), read once and
// then kept.
func (db *DB) daySum(ctx context.Context, s *series, from, to time.Time, fn func(r *uptime.Rollup)) error {
	tab := s.table()
	key := dayKey{tab.name, s.id(), from.UnixMilli(), to.UnixMilli()}
	r := &uptime.Rollup{Start: from}
	sums := db.days.get(key)
	if sums == nil {
		gen := db.days.generation()
		cond := ""
		if tab.id != "" {
			cond = tab.id + ` = $3`
		}
		err := db.scanRollups(ctx, tab, cond, s.id(), uptime.Day, from, to, func(_ int64, d *uptime.Rollup) { r.Merge(&d.Tally) })
		if err != nil {
			return err
		}
		sums = &daySums{}
		sums.add(s.id(), &r.Tally)
		db.days.put(key, sums, gen)
	} else {
		sums.unpack(0, &r.Tally)
	}
	fn(r)
	return nil
}

// dayKey names a kept sum: of one series of table over the days [from,
// to) (Unix milliseconds), or of every target of rollups, one a target,
// with id 0.
type dayKey struct {
	table    string
	id       int64
	from, to int64
}

// dayCache keeps the sums of rolled-up days asked for last, within
// dayCacheBytes.
type dayCache struct {
	mu    sync.Mutex
	sums  map[dayKey]*daySums
	keys  []dayKey // oldest first
	bytes int
	gen   int // counts clears: a read from before a clear is not kept
}

// dayCacheBytes bounds what the kept sums take: all of trends' for 50,000
// targets, or those of a year and a month of 50,000 series.
const dayCacheBytes = 16 << 20

func (c *dayCache) get(key dayKey) *daySums {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sums[key]
}

func (c *dayCache) generation() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gen
}

// put keeps sums, read while the cache was at generation gen, forgetting
// the oldest sums as the bytes need.
func (c *dayCache) put(key dayKey, sums *daySums, gen int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen || c.sums[key] != nil || sums.bytes > dayCacheBytes {
		return
	}
	if c.sums == nil {
		c.sums = map[dayKey]*daySums{}
	}
	n := 0
	for ; c.bytes+sums.bytes > dayCacheBytes; n++ {
		c.bytes -= c.sums[c.keys[n]].bytes
		delete(c.sums, c.keys[n])
	}
	c.keys = append(c.keys[n:], key)
	c.sums[key] = sums
	c.bytes += sums.bytes
}

// clear forgets every sum: a target was removed.
func (c *dayCache) clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sums, c.keys, c.bytes = nil, nil, 0
	c.gen++
}

// daySums is the sums of one or many series, each packed: its histogram
// encoded, a hundred-odd bytes rather than 2 KiB.
type daySums struct {
	ids     []int64
	tallies []packedTally
	bytes   int // about what they take
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
	s.bytes += 8 + 128 + len(hist)
}

// unpack sets t to the i-th sum, field by field: the histogram is replaced
// by its decoding, not cleared first.
func (s *daySums) unpack(i int, t *uptime.Tally) {
	p := &s.tallies[i]
	t.Up, t.Degraded, t.Down, t.Unknown = p.up, p.degraded, p.down, p.unknown
	t.UpTime, t.DegradedTime, t.DownTime, t.UnknownTime = p.upT, p.degradedT, p.downT, p.unknownT
	t.MaintenanceTime, t.PausedTime = p.maintT, p.pausedT
	t.LatencyMin, t.LatencyMax, t.LatencySum = p.latMin, p.latMax, p.latSum
	_ = t.Latency.UnmarshalBinary(p.hist) // ours: it decodes
}

// each hands fn every sum, unpacked into one reused Tally.
func (s *daySums) each(fn func(id int64, t *uptime.Tally)) {
	t := new(uptime.Tally)
	for i, id := range s.ids {
		s.unpack(i, t)
		fn(id, t)
	}
}
