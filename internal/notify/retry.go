package notify

import (
	"context"
	"errors"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/slack-go/slack"

	"github.com/lookout/lookout/internal/uptime"
)

// Retry policy.
const (
	backoffBase = 5 * time.Second
	backoffCap  = time.Hour
	// jitter spreads retries of many deliveries by ±20 %.
	jitter = 0.2
	// maxPermanentAttempts is how often an error that will not heal by
	// itself (a 4xx) is tried before the delivery is dead: a receiver being
	// redeployed sometimes answers 404 for a moment.
	maxPermanentAttempts = 3
)

// sendError is a failed send whose text is safe to store and show: a
// sender builds it from what it knows is not secret. The cause is kept for
// classification only and never printed.
type sendError struct {
	msg        string
	err        error
	status     int           // HTTP status, when there was an answer
	retryAfter time.Duration // the receiver's Retry-After, if any
}

func (e *sendError) Error() string { return e.msg }
func (e *sendError) Unwrap() error { return e.err }

// verdict is what to do about a failed send.
type verdict struct {
	retryable  bool
	retryAfter time.Duration
}

// classify says whether a failed send is worth retrying: network errors,
// timeouts, 5xx, 408, 425 and 429 are; other answers are not. What it does
// not recognise it retries, since giving up loses an alert.
func classify(err error) verdict {
	var se *sendError
	if errors.As(err, &se) && se.status != 0 {
		return verdict{retryable: retryableStatus(se.status), retryAfter: se.retryAfter}
	}
	var rl *slack.RateLimitedError
	if errors.As(err, &rl) {
		return verdict{retryable: true, retryAfter: rl.RetryAfter}
	}
	var sc slack.StatusCodeError
	if errors.As(err, &sc) {
		return verdict{retryable: retryableStatus(sc.Code)}
	}
	var sr slack.SlackErrorResponse
	if errors.As(err, &sr) {
		return verdict{retryable: slackRetryable[sr.Err]}
	}
	return verdict{retryable: true}
}

func retryableStatus(code int) bool {
	switch code {
	case http.StatusRequestTimeout, http.StatusTooEarly, http.StatusTooManyRequests:
		return true
	}
	return code >= 500
}

// slackRetryable are the Web API's error codes that heal by themselves.
var slackRetryable = map[string]bool{
	"ratelimited": true, "rate_limited": true, "internal_error": true, "fatal_error": true,
	"service_unavailable": true, "request_timeout": true, "team_added_to_org": true,
}

// backoff is the wait before attempt+1: 5s doubling per attempt up to 1h,
// ±20 % so that a burst of failures does not retry in lockstep.
func backoff(attempt int) time.Duration {
	d := backoffBase
	for i := 1; i < attempt && d < backoffCap; i++ {
		d *= 2
	}
	d = min(d, backoffCap)
	f := 1 - jitter + 2*jitter*rand.Float64()
	return time.Duration(float64(d) * f)
}

// parseRetryAfter reads a Retry-After header: delay-seconds or an HTTP
// date. It returns 0 when absent or unreadable.
func parseRetryAfter(h string, now time.Time) time.Duration {
	h = strings.TrimSpace(h)
	if h == "" {
		return 0
	}
	if s, err := strconv.Atoi(h); err == nil {
		if s < 0 {
			return 0
		}
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(h); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// netError describes a failed round trip without the request's URL (which
// may be a credential): "post: dial tcp 10.0.0.1:443: connect: refused".
func netError(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	var ne net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return "timed out: " + err.Error()
	}
	return err.Error()
}

// safeError is the text of a failed send fit for the delivery log, the log
// and the API: the sender's safe message, with every secret of the channel
// scrubbed again in case a receiver echoed one back.
func safeError(err error, c uptime.Channel) string {
	var se *sendError
	msg := ""
	switch {
	case errors.As(err, &se):
		msg = se.msg
	default:
		msg = netError(err)
	}
	return uptime.Truncate(scrub(msg, c), 2*uptime.MaxErrorLen)
}

// scrub replaces every secret of c found in s, in the forms a server might
// echo it (raw, URL-escaped, the webhook URL's path and query).
func scrub(s string, c uptime.Channel) string {
	var secrets []string
	add := func(v string) {
		if len(v) >= 4 {
			secrets = append(secrets, v, url.QueryEscape(v), url.PathEscape(v))
		}
	}
	add(c.URL.Reveal())
	add(c.Token.Reveal())
	add(c.Secret.Reveal())
	add(strings.TrimPrefix(c.Secret.Reveal(), "whsec_"))
	if u, err := url.Parse(c.URL.Reveal()); err == nil {
		if len(u.Path) > 1 {
			add(u.Path)
			add(u.EscapedPath())
		}
		add(u.RawQuery)
		if p, ok := u.User.Password(); ok {
			add(p)
		}
	}
	for _, v := range secrets {
		s = strings.ReplaceAll(s, v, uptime.Redacted)
	}
	return s
}

// limiter spaces the sends to one destination by a minimum gap, in real
// time: Slack allows about one message per second per channel or webhook.
type limiter struct {
	mu   sync.Mutex
	next map[string]time.Time
	// now and sleep keep the time: time.Now and a timer, which tests replace.
	now   func() time.Time
	sleep func(ctx context.Context, d time.Duration) error
}

func newLimiter() *limiter {
	return &limiter{next: map[string]time.Time{}, now: time.Now, sleep: sleep}
}

// wait reserves the next slot of key and waits for it, or for ctx.
func (l *limiter) wait(ctx context.Context, key string, gap time.Duration) error {
	if gap <= 0 {
		return nil
	}
	l.mu.Lock()
	now := l.now()
	at := l.next[key]
	if at.Before(now) {
		at = now
	}
	l.next[key] = at.Add(gap)
	if len(l.next) > 1000 {
		for k, t := range l.next {
			if t.Before(now) {
				delete(l.next, k)
			}
		}
	}
	l.mu.Unlock()
	if wait := at.Sub(now); wait > 0 {
		return l.sleep(ctx, wait)
	}
	return nil
}

// sleep waits for d to pass, or for ctx and returns its error.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
