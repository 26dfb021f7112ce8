package scheduler

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/robfig/cron/v3"
)

// Job is housekeeping run on a cron schedule: rolling history up, pruning
// it. A handful of jobs use robfig/cron's runner; targets never do (one
// cron entry per target would re-sort every entry on every wake).
type Job struct {
	Name string
	// Schedule is a cron expression or a descriptor such as "@every 1m",
	// as ValidateSchedule takes, in UTC.
	Schedule string
	// Run does the work once. Its error is logged; the job runs again at
	// its next time.
	Run func(ctx context.Context) error
}

// RunJobs runs the jobs on their schedules until ctx is done, then waits
// for the runs in flight, whose ctx is then done too. A job still running
// when its next time comes skips that time. A schedule that does not parse
// is an error before anything runs.
func RunJobs(ctx context.Context, jobs []Job, log *slog.Logger) error {
	c := cron.New(cron.WithLocation(time.UTC), cron.WithChain(cron.SkipIfStillRunning(cron.DiscardLogger)))
	for _, j := range jobs {
		sched, _, err := parseSchedule(j.Schedule)
		if err != nil {
			return fmt.Errorf("job %s: %w", j.Name, err)
		}
		c.Schedule(sched, cron.FuncJob(func() {
			start := time.Now()
			if err := j.Run(ctx); err != nil {
				if ctx.Err() != nil {
					log.Debug("job stopped", "job", j.Name, "err", err)
					return
				}
				log.Error("job failed", "job", j.Name, "err", err, "duration_ms", time.Since(start).Milliseconds())
				return
			}
			log.Debug("job done", "job", j.Name, "duration_ms", time.Since(start).Milliseconds())
		}))
	}
	c.Start()
	<-ctx.Done()
	<-c.Stop().Done()
	return nil
}
