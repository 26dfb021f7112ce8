package scheduler

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestRunJobs(t *testing.T) {
	var logs bytes.Buffer
	var mu sync.Mutex
	log := slog.New(slog.NewTextHandler(&lockedWriter{w: &logs, mu: &mu}, &slog.HandlerOptions{Level: slog.LevelDebug}))
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
	deadline := time.Now().Add(10 * time.Second)
	for ran.Load() == 0 || failed.Load() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the jobs did not run within 10s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	<-done
	mu.Lock()
	defer mu.Unlock()
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

type lockedWriter struct {
	w  *bytes.Buffer
	mu *sync.Mutex
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
