package notify

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/lookout/lookout/internal/testkit"
	"github.com/lookout/lookout/internal/uptime"
)

// stallingOutbox is a memOutbox whose claim and channel reads can be made
// to fail: fail returns the read's error, or nil to read as usual.
type stallingOutbox struct {
	*memOutbox
	claim, channels func(ctx context.Context) error
}

func (o stallingOutbox) ClaimDeliveries(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]uptime.Delivery, error) {
	if o.claim != nil {
		if err := o.claim(ctx); err != nil {
			return nil, err
		}
	}
	return o.memOutbox.ClaimDeliveries(ctx, now, lease, limit)
}

func (o stallingOutbox) ListChannels(ctx context.Context) ([]uptime.Channel, error) {
	if o.channels != nil {
		if err := o.channels(ctx); err != nil {
			return nil, err
		}
	}
	return o.memOutbox.ListChannels(ctx)
}

// stall is a read that waits for its context's end, then fails as SQLite
// does when a query is interrupted: not with the context's error.
func stall(entered chan<- struct{}) func(context.Context) error {
	return func(ctx context.Context) error {
		select {
		case entered <- struct{}{}:
		default:
		}
		<-ctx.Done()
		return errors.New("interrupted (9)")
	}
}

func errorLines(logs string) []string {
	var out []string
	for line := range strings.SplitSeq(logs, "\n") {
		if strings.Contains(line, `"level":"ERROR"`) {
			out = append(out, line)
		}
	}
	return out
}

// A read that Run's own cancellation interrupts is the end of Run, not a
// store failure: a clean stop logs no error. A read that fails while Run
// runs is one.
func TestStopInterruptingAReadLogsNoError(t *testing.T) {
	for _, tc := range []struct {
		name  string
		stall func(o *stallingOutbox, entered chan<- struct{})
	}{
		{"claim deliveries", func(o *stallingOutbox, e chan<- struct{}) { o.claim = stall(e) }},
		{"load channels", func(o *stallingOutbox, e chan<- struct{}) { o.channels = stall(e) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rc := testkit.NewWebhook(t)
			h := newHarness(t, Config{}, hookChannel(rc))
			h.opened(1, "api", "hook")
			h.clk.Advance(time.Minute) // past group_wait: due
			out := &stallingOutbox{memOutbox: h.out}
			entered := make(chan struct{}, 1)
			tc.stall(out, entered)
			d := New(out, h.d.cfg)

			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- d.Run(ctx) }()
			<-entered
			cancel()
			if err := <-done; err != nil {
				t.Fatalf("Run = %v, want nil", err)
			}
			if lines := errorLines(h.logs.String()); len(lines) > 0 {
				t.Errorf("a stop logged errors:\n%s", strings.Join(lines, "\n"))
			}
			if !strings.Contains(h.logs.String(), tc.name+": stopping") {
				t.Errorf("the interrupted read is not logged at debug:\n%s", h.logs)
			}
			d.mu.Lock()
			held := len(d.inFlight)
			d.mu.Unlock()
			if held != 0 {
				t.Errorf("%d deliveries still held after the stop", held)
			}
		})
	}
}

func TestFailedReadWhileRunningIsAnError(t *testing.T) {
	for _, tc := range []struct {
		name string
		fail func(o *stallingOutbox)
	}{
		{"claim deliveries", func(o *stallingOutbox) { o.claim = func(context.Context) error { return errors.New("disk I/O error") } }},
		{"load channels", func(o *stallingOutbox) {
			o.channels = func(context.Context) error { return errors.New("disk I/O error") }
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, Config{}, uptime.Channel{Name: "hook", Kind: "webhook", URL: "http://127.0.0.1:1/hook"})
			h.opened(1, "api", "hook")
			h.clk.Advance(time.Minute)
			out := &stallingOutbox{memOutbox: h.out}
			tc.fail(out)
			d := New(out, h.d.cfg)
			d.poll(context.Background())
			d.lanesWG.Wait()
			lines := errorLines(h.logs.String())
			if len(lines) != 1 || !strings.Contains(lines[0], `"msg":"`+tc.name+`"`) || !strings.Contains(lines[0], "disk I/O error") {
				t.Errorf("error lines %q, want one for %s", lines, tc.name)
			}
		})
	}
}
