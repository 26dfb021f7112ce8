package store

import (
	"context"
	"fmt"
	"time"

	"github.com/lookout/lookout/internal/uptime"
)

// HistoryImport is history to import: every target's checks over whole
// UTC days, as ImportHistory asks for them.
type HistoryImport struct {
	// From and To are midnights (UTC): the days [From, To) are imported.
	From, To time.Time
	// MinutesFrom is where the minute rollups start being written: those
	// of earlier days are computed (their hours add them up) but would be
	// past their retention. Zero writes them all.
	MinutesFrom time.Time
	// Points returns the target's checks in the day starting at day,
	// sorted by time. It is asked once for each target and day, day by
	// day; the slice is not kept, but its times are cut to the millisecond
	// and its latencies to the microsecond, in place, as storing them
	// would.
	Points func(t *uptime.Target, day time.Time) []uptime.Point
	// Progress, when set, is told of each day written.
	Progress func(day time.Time)
}

// ImportHistory writes the rollups of every target, and the fleet's, over
// the days of h, as the rollup job (RollUp) would have written them had
// the checks been stored: each day is one of the job's steps, fed with
// the day's checks instead of reading them. The watermark moves to h.To,
// day by day. It writes no results: store the checks from h.To on (and,
// so that the first one has its predecessor, those of the two intervals
// before it), and RollUp carries on from h.To as if it had rolled up the
// days itself. Targets need to exist first; paused spans and maintenance
// windows are left out as the job leaves them out.
//
// Errors: a *uptime.ValidationError when From and To are not midnights in
// order or the history does not start at the watermark (what is rolled up
// already is never written again), an error naming a day's checks outside
// it, else the database's.
func (db *DB) ImportHistory(ctx context.Context, h HistoryImport) error {
	day := 24 * time.Hour
	if !h.From.Equal(uptime.Day.Bucket(h.From)) || !h.To.Equal(uptime.Day.Bucket(h.To)) || !h.From.Before(h.To) {
		return uptime.Invalid("from", "From and To must be midnights (UTC), From first")
	}
	w, err := db.Watermark(ctx)
	if err != nil {
		return err
	}
	if !w.IsZero() && !w.Equal(h.From) {
		return uptime.Invalid("from", fmt.Sprintf("history is rolled up to %s: an import starts there", w.Format(time.RFC3339)))
	}
	all, err := db.rollupSeries(ctx)
	if err != nil {
		return fmt.Errorf("import history: %w", err)
	}
	// Each target's last check so far: the predecessor of its next day's
	// first, as the job would find it stored.
	last := make(map[int64]uptime.Point, len(all))
	for d := h.From; d.Before(h.To); d = d.Add(day) {
		src := func(_ context.Context, s *series, from, to time.Time, _ time.Duration) (uptime.Point, []uptime.Point, error) {
			if s.component != 0 {
				return uptime.Point{}, nil, nil
			}
			pts := h.Points(s.target, from)
			n := len(pts)
			if n == 0 {
				return uptime.Point{}, nil, nil
			}
			if pts[0].At.Before(from) || !pts[n-1].At.Before(to) {
				return uptime.Point{}, nil, fmt.Errorf("the checks of %q are not all within the day", s.target.Name)
			}
			for i := range pts {
				pts[i].At, pts[i].Latency = pts[i].At.Truncate(time.Millisecond), pts[i].Latency.Truncate(time.Microsecond)
			}
			prev := last[s.target.ID]
			last[s.target.ID] = pts[n-1]
			return prev, pts, nil
		}
		if err := db.rollUpStep(ctx, all, d, d.Add(day), src, !d.Before(h.MinutesFrom)); err != nil {
			return fmt.Errorf("import the history of %s: %w", d.Format(time.DateOnly), err)
		}
		if h.Progress != nil {
			h.Progress(d)
		}
	}
	return nil
}
