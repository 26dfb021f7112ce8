// Package notify delivers alerts: it reads due deliveries from the outbox,
// drops or mutes what should not be sent, groups openings, renders one
// message per channel kind and sends it, with retries and backoff.
//
// A channel kind is one file (slack.go, webhook.go) that registers its
// validator and sender with register.
package notify

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/lookout/lookout/internal/uptime"
)

// Outbox is what the dispatcher needs of the store. Every method takes ctx
// first and returns a wrapped error when the store fails; none returns a
// nil slice with a nil error to mean "failed".
type Outbox interface {
	// ClaimDeliveries returns up to limit pending deliveries due by now,
	// ordered by id, and leases them until now+lease. It never returns a
	// delivery while an earlier delivery for the same target and channel
	// is unfinished. Event, IncidentResolvedAt and Thread are filled.
	ClaimDeliveries(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]uptime.Delivery, error)
	// ClaimPending leases and returns every pending, unleased delivery of
	// eventType to the channel whose event happened by now, even one whose
	// group_wait has not passed, under the same ordering rule. With cause
	// set, only those of incidents attributed to cause, and of the target
	// named cause when its own incident has none.
	ClaimPending(ctx context.Context, channel string, eventType uptime.EventType, cause string, now time.Time, lease time.Duration) ([]uptime.Delivery, error)
	// AttributeIncidents decides again what each open incident is
	// attributed to, from the targets' current states, records the
	// causes that changed and returns them by incident id.
	AttributeIncidents(ctx context.Context, ids []int64) (map[int64]uptime.Attribution, error)
	// FinishDelivery records the outcome of handling a claimed delivery
	// and releases its lease.
	FinishDelivery(ctx context.Context, id int64, u uptime.DeliveryUpdate) error
	// EnqueueReminder schedules an incident.reminder of the incident to the
	// channel at at. It is a no-op when the incident is resolved or a
	// reminder of it to the channel is already pending.
	EnqueueReminder(ctx context.Context, incidentID int64, channel string, at time.Time) error
	// Alerted reports whether the incident's opening or one of its
	// reminders was delivered to the channel.
	Alerted(ctx context.Context, incidentID int64, channel string) (bool, error)
	// ListChannels returns every channel with its real secrets.
	ListChannels(ctx context.Context) ([]uptime.Channel, error)
	ListSilences(ctx context.Context) ([]uptime.Silence, error)
	ListMaintenance(ctx context.Context) ([]uptime.Maintenance, error)
}

// Config configures a Dispatcher. The zero value of each field is a usable
// default.
type Config struct {
	// Logger receives one line per outcome; nil discards.
	Logger *slog.Logger
	// Now is the clock for scheduling and message times; nil is time.Now.
	Now func() time.Time
	// DashboardURL is the base of links in messages ("http://127.0.0.1:8080").
	DashboardURL string
	// HTTPClient sends every request. nil is a client with a 10s timeout
	// per request that does not follow redirects (a signed body must not
	// be re-posted elsewhere) and honours HTTPS_PROXY and friends, since a
	// self-hosted monitor often reaches Slack only through a proxy.
	HTTPClient *http.Client
	// SlackAPIURL replaces Slack's Web API base URL (a fake Slack in tests);
	// "" is the real one.
	SlackAPIURL string
	// PollInterval is how often the outbox is read; Kick reads it sooner.
	// Default 1s.
	PollInterval time.Duration
	// Lease is how long a claimed delivery is ours. Default 1m.
	Lease time.Duration
	// MaxAge is how long after its event a delivery is retried before it
	// is given up as dead. Default 72h.
	MaxAge time.Duration
	// Workers caps the sends in flight across channels. Default 8.
	Workers int
}

const (
	defaultPollInterval = time.Second
	defaultLease        = time.Minute
	defaultMaxAge       = 72 * time.Hour
	defaultWorkers      = 8
	defaultHTTPTimeout  = 10 * time.Second
	claimLimit          = 100
)

// Dispatcher delivers the outbox. It is safe for concurrent use; Run is
// called once.
type Dispatcher struct {
	out     Outbox
	cfg     Config
	log     *slog.Logger
	now     func() time.Time
	http    *http.Client
	kick    chan struct{}
	workers chan struct{} // a slot per send in flight
	limiter *limiter
	// noRateLimit lifts the per-destination gap (tests).
	noRateLimit bool

	mu       sync.Mutex
	lanes    map[string]*lane // by channel name: each channel's jobs in order
	inFlight map[int64]bool   // delivery ids queued or being sent
	lanesWG  sync.WaitGroup

	stats counters
}

// New returns a Dispatcher reading out.
func New(out Outbox, cfg Config) *Dispatcher {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.HTTPClient == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		cfg.HTTPClient = &http.Client{
			Timeout:   defaultHTTPTimeout,
			Transport: t,
			CheckRedirect: func(*http.Request, []*http.Request) error {
				return http.ErrUseLastResponse
			},
		}
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = defaultPollInterval
	}
	if cfg.Lease <= 0 {
		cfg.Lease = defaultLease
	}
	if cfg.MaxAge <= 0 {
		cfg.MaxAge = defaultMaxAge
	}
	if cfg.Workers <= 0 {
		cfg.Workers = defaultWorkers
	}
	return &Dispatcher{
		out:      out,
		cfg:      cfg,
		log:      cfg.Logger,
		now:      cfg.Now,
		http:     cfg.HTTPClient,
		kick:     make(chan struct{}, 1),
		workers:  make(chan struct{}, cfg.Workers),
		limiter:  newLimiter(),
		lanes:    map[string]*lane{},
		inFlight: map[int64]bool{},
	}
}

// Run delivers until ctx is done, then waits for the sends in flight (each
// bounded by the HTTP client's timeout), leaves queued deliveries to their
// lease, and returns nil.
func (d *Dispatcher) Run(ctx context.Context) error {
	t := time.NewTicker(d.cfg.PollInterval)
	defer t.Stop()
	for {
		d.poll(ctx)
		select {
		case <-ctx.Done():
			d.lanesWG.Wait()
			return nil
		case <-t.C:
		case <-d.kick:
		}
	}
}

// Drain claims the deliveries due now, once, and waits until each claimed
// one is handled: sent, muted, skipped, or left pending for a retry. It is
// for a caller that drives the dispatcher step by step instead of Run, on
// its own clock (Config.Now).
func (d *Dispatcher) Drain(ctx context.Context) {
	d.poll(ctx)
	d.lanesWG.Wait()
}

// readFailed logs an outbox read of a poll that failed. Once ctx is done the
// failure is Run's end, the query interrupted by it, whatever words the
// driver used ("interrupted (9)" rather than ctx's error): that is logged at
// debug. Before, it is the store's failure, an error.
func (d *Dispatcher) readFailed(ctx context.Context, msg string, err error) {
	if ctx.Err() != nil {
		d.log.Debug(msg+": stopping", "err", err)
		return
	}
	d.log.Error(msg, "err", err)
}

// Kick tells the dispatcher that new deliveries were written. It never
// blocks.
func (d *Dispatcher) Kick() {
	select {
	case d.kick <- struct{}{}:
	default:
	}
}

// Validate checks the kind-specific fields of a channel (the shared ones
// are uptime.Channel.Validate's). It returns a *uptime.ValidationError
// naming each bad field ("kind" for an unknown kind), or nil.
func (d *Dispatcher) Validate(c *uptime.Channel) error {
	k, ok := lookup(c.Kind)
	if !ok {
		return uptime.Invalid("kind", fmt.Sprintf("unknown kind %q (known: %v)", c.Kind, kinds()))
	}
	return k.validate(c)
}

// Test sends a channel.test message to c now and waits for the answer. Its
// error is safe to show to the user: it holds no secret and no Slack
// webhook URL. An invalid channel is a *uptime.ValidationError.
func (d *Dispatcher) Test(ctx context.Context, c uptime.Channel) error {
	c.Normalize()
	if err := d.Validate(&c); err != nil {
		return err
	}
	k, _ := lookup(c.Kind)
	now := d.now()
	m := message{
		Type:      uptime.EventChannelTest,
		Events:    []uptime.Event{{Type: uptime.EventChannelTest, At: now}},
		Channel:   c.Name,
		ID:        "msg_test_" + uuid.NewString(),
		Attempt:   now,
		Dashboard: d.cfg.DashboardURL,
	}
	if err := d.limiter.wait(ctx, k.rateKey(c), k.minGap); err != nil {
		return fmt.Errorf("send test to %s: %w", c.Name, err)
	}
	if _, err := k.send(ctx, d, c, m); err != nil {
		return fmt.Errorf("send test to %s: %s", c.Name, safeError(err, c))
	}
	return nil
}

// Outcome names, the fixed label values of lookout_notifications_total.
const (
	OutcomeDelivered = "delivered"
	OutcomeRetried   = "retried"
	OutcomeDead      = "dead"
	OutcomeMuted     = "muted"
	OutcomeSkipped   = "skipped"
)

// Outcomes lists every outcome name.
var Outcomes = []string{OutcomeDelivered, OutcomeRetried, OutcomeDead, OutcomeMuted, OutcomeSkipped}

// Stats counts deliveries by outcome since New; a grouped message counts
// once per delivery in it.
type Stats struct {
	Delivered, Retried, Dead, Muted, Skipped uint64
}

// ByOutcome returns the counts keyed by the names in Outcomes.
func (s Stats) ByOutcome() map[string]uint64 {
	return map[string]uint64{
		OutcomeDelivered: s.Delivered, OutcomeRetried: s.Retried, OutcomeDead: s.Dead,
		OutcomeMuted: s.Muted, OutcomeSkipped: s.Skipped,
	}
}

type counters struct{ delivered, retried, dead, muted, skipped atomic.Uint64 }

// Stats returns the outcome counters.
func (d *Dispatcher) Stats() Stats {
	return Stats{
		Delivered: d.stats.delivered.Load(), Retried: d.stats.retried.Load(), Dead: d.stats.dead.Load(),
		Muted: d.stats.muted.Load(), Skipped: d.stats.skipped.Load(),
	}
}

// kind is one kind of channel.
type kind struct {
	name string
	// validate checks the kind's fields of a normalised channel and
	// returns a *uptime.ValidationError naming each bad field, or nil.
	validate func(c *uptime.Channel) error
	// send delivers one message. Its error may hold anything the library
	// said; the dispatcher classifies it and makes it safe with safeError.
	send func(ctx context.Context, d *Dispatcher, c uptime.Channel, m message) (result, error)
	// render returns the payload send would post, for golden files. It
	// sees no channel, so no payload can carry a channel's secret.
	render func(m message) ([]byte, error)
	// minGap is the least time between two sends to one destination.
	minGap time.Duration
}

// rateKey identifies the destination a kind's rate limit applies to: two
// channels posting to the same Slack webhook share it. Kept in memory only.
func (k kind) rateKey(c uptime.Channel) string {
	return k.name + "\x00" + c.URL.Reveal() + "\x00" + c.Token.Reveal() + "\x00" + c.Channel
}

// result is what a successful send reports back.
type result struct {
	// Thread is the Slack ts of a posted opening.
	Thread string
}

var (
	regMu    sync.RWMutex
	registry = map[string]kind{}
)

// register adds a channel kind; it panics on a duplicate or incomplete
// kind, a programming error found at start-up.
func register(k kind) {
	regMu.Lock()
	defer regMu.Unlock()
	if k.name == "" || k.validate == nil || k.send == nil || k.render == nil {
		panic(fmt.Sprintf("notify: kind %q registered without a name, validator, sender or renderer", k.name))
	}
	if _, dup := registry[k.name]; dup {
		panic(fmt.Sprintf("notify: kind %q registered twice", k.name))
	}
	registry[k.name] = k
}

func lookup(name string) (kind, bool) {
	regMu.RLock()
	defer regMu.RUnlock()
	k, ok := registry[name]
	return k, ok
}

// kinds returns the registered kind names, sorted.
func kinds() []string {
	regMu.RLock()
	defer regMu.RUnlock()
	names := make([]string, 0, len(registry))
	for n := range registry {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}
