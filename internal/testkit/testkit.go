// Package testkit holds what the tests of several packages share: a
// settable clock, a log buffer, waiting for a condition with a deadline,
// HTTP endpoints that stand in for alert receivers, and databases at the
// latest schema version (SQLite files copied from one migrated once,
// PostgreSQL schemas migrated once and reset between tests).
//
// Only _test.go files may import it, which internal/imports_test.go
// enforces; it imports only the standard library and internal/uptime, so
// that any package's tests can use it without an import cycle.
package testkit

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"
)

// Clock is a clock that only the test moves, to inject as a
// `now func() time.Time`. It is safe for concurrent use.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a clock standing at t.
func NewClock(t time.Time) *Clock { return &Clock{t: t} }

// Now returns the clock's time; it never fails.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock d on (back when d is negative).
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// Set moves the clock to t.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// LogBuffer collects log output that a logger writes while the test reads
// it. It is safe for concurrent use; the zero value is empty and ready.
type LogBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p; it never fails.
func (l *LogBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// String returns everything written so far.
func (l *LogBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// JSONLogger returns a logger writing JSON records of every level to w.
func JSONLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// TextLogger returns a logger writing key=value records of every level to w.
func TextLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// WaitLimit bounds WaitFor: long enough for a loaded CI machine running
// the race detector, short enough that a hung test fails rather than
// running into go test's own timeout.
const WaitLimit = 30 * time.Second

// WaitFor polls cond until it holds, at first every millisecond and then
// less often, up to every 50 ms. If cond still does not hold after
// WaitLimit, it fails the test (t.Fatalf) with what describe says then, so
// call it from the test's own goroutine.
func WaitFor(t testing.TB, cond func() bool, describe func() string) {
	t.Helper()
	waitFor(t, WaitLimit, cond, describe)
}

func waitFor(t testing.TB, limit time.Duration, cond func() bool, describe func() string) {
	t.Helper()
	deadline := time.Now().Add(limit)
	pause := time.Millisecond
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited %s in vain: %s", limit, describe())
		}
		time.Sleep(pause)
		pause = min(2*pause, 50*time.Millisecond)
	}
}

// Waiting returns a describe function for WaitFor that says what the test
// waited for, formatted as by fmt.Sprintf.
func Waiting(format string, args ...any) func() string {
	return func() string { return "waiting for " + fmt.Sprintf(format, args...) }
}
