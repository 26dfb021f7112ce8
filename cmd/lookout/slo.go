package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/lookout/lookout/internal/store"
	"github.com/lookout/lookout/internal/uptime"
)

// sloJob evaluates the burn-rate alerts of every target with an objective:
// the store's tallies in, uptime.SLOState.Next, the new state and its
// events out through the outbox.
type sloJob struct {
	db    *store.DB
	rules []uptime.BurnRule
	now   func() time.Time
	log   *slog.Logger
}

// run evaluates every target once. A target that cannot be evaluated is
// left as it was and the others go on; the errors are returned together.
func (j *sloJob) run(ctx context.Context) error {
	now := j.now().UTC().Truncate(time.Millisecond)
	// Windows end with the current minute: history is counted in whole
	// minutes, so the 5 m window is the four minutes before this one and
	// this one so far, the time since the latest check included.
	end := uptime.Minute.Bucket(now).Add(time.Minute)
	targets, err := j.db.SLOTargets(ctx)
	if err != nil {
		return err
	}
	var errs []error
	for _, st := range targets {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := j.evaluate(ctx, st, now, end); err != nil && !errors.Is(err, uptime.ErrNotFound) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// evaluate runs one target's rules. A paused target with an objective is
// left as it is: its alerts go on from where they were when it is resumed.
// One whose objective was removed costs no query: what still fires ends.
func (j *sloJob) evaluate(ctx context.Context, st store.SLOTarget, now, end time.Time) error {
	t := &st.Target
	if t.Paused && t.SLO > 0 {
		return nil
	}
	p := uptime.SLOPolicy{Objective: t.SLO, Rules: j.rules}
	tallies := map[time.Duration]uptime.Tally{}
	if t.SLO > 0 {
		for _, w := range p.Windows() {
			tl, err := j.db.Tally(ctx, store.Series{Target: t.Name}, end.Add(-w), end)
			if err != nil {
				return fmt.Errorf("burn rate of target %q over %s: %w", t.Name, w, err)
			}
			tallies[w] = tl
		}
	}
	next, events := st.State.Next(tallies, p, now)
	if len(events) == 0 && next.Equal(st.State) {
		return nil
	}
	for i := range events {
		e := &events[i]
		e.TargetID, e.Target, e.Labels, e.Channels = t.ID, t.Name, t.Labels, t.Channels
	}
	ok, err := j.db.RecordSLO(ctx, t.ID, st.State, next, events)
	if err != nil || !ok {
		return err
	}
	for _, e := range events {
		j.log.Info("burn-rate alert", "target", t.Name, "event", string(e.Type), "severity", e.SLO.Severity,
			"long_burn_rate", e.SLO.Long.Rate, "short_burn_rate", e.SLO.Short.Rate, "suppressed", e.Suppressed)
	}
	return nil
}
