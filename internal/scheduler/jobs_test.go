package scheduler

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/lookout/lookout/internal/testkit"
)

func TestRunJobs(t *testing.T) {
	var logs testkit.LogBuffer
	log := testkit.TextLogger(&logs)
	ctx, cancel := context.WithCancel(context.Background())
	var ran, failed atomic.Int32
	done := make(chan struct{})
	go func() {
		defer close(done)
		err := RunJobs(ctx, []Job{
			{Name: "count", Schedule: "@every 1s", Run: func(context.Context) error { ran.Add(1); return nil }},
			{Name: "fail", Schedule: "@every 1s", Run: func(context.Context) error { failed.Add(1); return errors.New("disk on fire") }},
		}, log)
		if err != nil {
			t.Errorf("RunJobs: %v", err)
		}
	}()
	testkit.WaitFor(t, func() bool { return ran.Load() > 0 && failed.Load() > 0 }, testkit.Waiting("both jobs to run"))
	cancel()
	<-done
	if !strings.Contains(logs.String(), `msg="job failed" job=fail err="disk on fire"`) {
		t.Errorf("a failing job is not logged as an error:\n%s", logs.String())
	}
}

func TestRunJobsRefusesABadSchedule(t *testing.T) {
	err := RunJobs(context.Background(), []Job{{Name: "rollup", Schedule: "every minute"}}, slog.New(slog.DiscardHandler))
	if err == nil || !strings.Contains(err.Error(), "job rollup") {
		t.Errorf("err = %v, want the job named", err)
	}
}
