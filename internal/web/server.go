// Package web serves Lookout's HTTP API under /api/v1, its own health
// probes, /metrics, /openapi.json and the dashboard.
//
// It reads and writes through the small Store, Scheduler and Notifier
// interfaces it declares here; cmd/lookout passes the real implementations.
package web

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/lookout/lookout/internal/uptime"
)

// Store is what the API reads and writes targets, results, alert channels,
// incidents, the delivery log, silences and maintenance windows through.
type Store interface {
	// CreateTarget inserts t and sets its ID, CreatedAt and UpdatedAt. It
	// returns an error wrapping uptime.ErrConflict when the name is taken.
	CreateTarget(ctx context.Context, t *uptime.Target) error
	// PutTarget creates t or replaces the target of the same name. changed
	// is false when the stored spec was already the same (nothing written).
	PutTarget(ctx context.Context, t *uptime.Target) (created, changed bool, err error)
	// UpdateTarget runs fn on the stored target inside one transaction and
	// stores what fn leaves. It returns uptime.ErrNotFound, or fn's error as is.
	UpdateTarget(ctx context.Context, name string, fn func(*uptime.Target) error) (uptime.Target, error)
	// GetTarget returns a target and its state, or uptime.ErrNotFound.
	GetTarget(ctx context.Context, name string) (uptime.Snapshot, error)
	// ListTargets returns targets sorted by name, after f.After, at most f.Limit.
	ListTargets(ctx context.Context, f uptime.TargetFilter) ([]uptime.Snapshot, error)
	// DeleteTarget removes a target and its history, or returns uptime.ErrNotFound.
	DeleteTarget(ctx context.Context, name string) error
	// Results returns a target's raw results newest first and the cursor of
	// the next page ("" when done). A bad cursor is a *uptime.ValidationError
	// on field "cursor".
	Results(ctx context.Context, q ResultQuery) ([]uptime.Result, string, error)
	// Components returns the latest state of each component the target's
	// health documents reported, sorted by name; an empty list when none.
	// An unknown target gives uptime.ErrNotFound.
	Components(ctx context.Context, targetID int64) ([]uptime.ComponentState, error)
	// ComponentHistory returns a component's points with from <= At < to
	// (a zero bound is open), newest first, at most limit. An unknown
	// target or component gives uptime.ErrNotFound.
	ComponentHistory(ctx context.Context, targetID int64, name string, from, to time.Time, limit int) ([]uptime.ComponentPoint, error)

	// Sync makes an owner's targets and channels the lists of s in one
	// transaction (rolled back on a dry run) and returns what it did to
	// each. A name owned by another is an *uptime.ForeignError; an entry
	// that does not validate or names what does not exist, an
	// *uptime.ValidationError under "targets[i]" or "channels[i]".
	Sync(ctx context.Context, s uptime.Sync) (uptime.SyncResult, error)

	// CreateChannel inserts c and sets its CreatedAt and UpdatedAt. It
	// returns an error wrapping uptime.ErrConflict when the name is taken.
	CreateChannel(ctx context.Context, c *uptime.Channel) error
	// PutChannel creates c or replaces the channel of the same name and
	// sets c's CreatedAt and UpdatedAt as stored. changed is false when the
	// stored channel was already the same.
	PutChannel(ctx context.Context, c *uptime.Channel) (created, changed bool, err error)
	// GetChannel returns a channel with its secrets' real values, or
	// uptime.ErrNotFound.
	GetChannel(ctx context.Context, name string) (uptime.Channel, error)
	// ListChannels returns every channel, sorted by name.
	ListChannels(ctx context.Context) ([]uptime.Channel, error)
	// UpdateChannel runs fn on the stored channel inside one transaction and
	// stores what fn leaves. It returns uptime.ErrNotFound, or fn's error as is.
	UpdateChannel(ctx context.Context, name string, fn func(*uptime.Channel) error) (uptime.Channel, error)
	// DeleteChannel removes a channel, or returns uptime.ErrNotFound.
	DeleteChannel(ctx context.Context, name string) error

	// ListIncidents returns incidents newest first (by id), those with an
	// id below f.Before when it is set, at most f.Limit.
	ListIncidents(ctx context.Context, f uptime.IncidentFilter) ([]uptime.Incident, error)
	// OpenIncident returns the target's open incident, or uptime.ErrNotFound
	// when it has none.
	OpenIncident(ctx context.Context, targetID int64) (uptime.Incident, error)

	// CreateSilence inserts s and sets its ID and CreatedAt.
	CreateSilence(ctx context.Context, s *uptime.Silence) error
	// ListSilences returns every silence, expired ones included.
	ListSilences(ctx context.Context) ([]uptime.Silence, error)
	// UpdateSilence runs fn on the stored silence inside one transaction
	// and stores what fn leaves. It returns uptime.ErrNotFound, or fn's
	// error as is.
	UpdateSilence(ctx context.Context, id int64, fn func(*uptime.Silence) error) (uptime.Silence, error)
	// DeleteSilence removes a silence, or returns uptime.ErrNotFound.
	DeleteSilence(ctx context.Context, id int64) error

	// CreateMaintenance inserts m and sets its ID and CreatedAt.
	CreateMaintenance(ctx context.Context, m *uptime.Maintenance) error
	// ListMaintenance returns every maintenance window.
	ListMaintenance(ctx context.Context) ([]uptime.Maintenance, error)
	// UpdateMaintenance runs fn on the stored maintenance window inside one
	// transaction and stores what fn leaves. It returns uptime.ErrNotFound,
	// or fn's error as is.
	UpdateMaintenance(ctx context.Context, id int64, fn func(*uptime.Maintenance) error) (uptime.Maintenance, error)
	// DeleteMaintenance removes a maintenance window, or returns uptime.ErrNotFound.
	DeleteMaintenance(ctx context.Context, id int64) error

	// ListDeliveries returns the delivery log newest first (by id), those
	// with an id below f.Before when it is set, at most f.Limit.
	ListDeliveries(ctx context.Context, f uptime.DeliveryFilter) ([]uptime.Delivery, error)

	// ComponentTallies adds up the history over [from, to) of each
	// component the named target reported, by name; uptime.ErrNotFound
	// for an unknown target.
	ComponentTallies(ctx context.Context, target string, from, to time.Time) (map[string]uptime.Tally, error)
	// Tally adds up the history of the named target (component "") or one
	// of its components over [from, to), from rollups and the latest
	// checks; uptime.ErrNotFound for an unknown one.
	Tally(ctx context.Context, target, component string, from, to time.Time) (uptime.Tally, error)
	// EachTrendBucket hands fn that history in buckets of step, oldest
	// first, each once complete (b is reused); a bad step or too many
	// buckets is a *uptime.ValidationError on "step", before any bucket.
	EachTrendBucket(ctx context.Context, target, component string, from, to time.Time, step time.Duration, fn func(b *uptime.Rollup)) error
	// EachDailyTally hands fn every target's whole UTC days in [from, to)
	// added up, by target id; t is reused. It may hand ids of targets
	// removed meanwhile.
	EachDailyTally(ctx context.Context, from, to time.Time, fn func(id int64, t *uptime.Tally)) error
	// TargetNames returns the names of the targets carrying every label
	// of labels, by id.
	TargetNames(ctx context.Context, labels map[string]string) (map[int64]string, error)
	// FleetTally adds up every target's history over [from, to) as of the
	// last rollup, which it returns too.
	FleetTally(ctx context.Context, from, to time.Time) (uptime.Tally, time.Time, error)
	// StateCounts counts the targets by shown status ("paused" included).
	StateCounts(ctx context.Context) (map[string]int, error)
	// IncidentStats sums up every incident of f, its paging aside.
	IncidentStats(ctx context.Context, f uptime.IncidentFilter) (uptime.IncidentStats, error)
	// OpenIncidentCount counts the incidents still open.
	OpenIncidentCount(ctx context.Context) (int, error)
}

// Notifier knows the channel kinds: it validates their own fields and sends
// test notifications.
type Notifier interface {
	// Validate checks the fields of c's kind (an unknown kind included) and
	// returns a *uptime.ValidationError or nil.
	Validate(c *uptime.Channel) error
	// Test sends a channel.test event to c now. Its error's text is shown
	// to the client (after the channel's secret values are scrubbed from it).
	Test(ctx context.Context, c uptime.Channel) error
}

// ResultQuery selects a page of one target's raw results.
type ResultQuery struct {
	TargetID int64
	// From and To bound started_at (From inclusive, To exclusive); zero is open.
	From, To time.Time
	Limit    int
	Cursor   string
}

// Scheduler runs checks on demand. The API never tells it of a target's
// change: it writes the store, whose change feed every scheduler follows.
type Scheduler interface {
	// CheckNow runs one check of the target at once and returns its result,
	// or an error wrapping uptime.ErrNotFound when the scheduler does not know it.
	CheckNow(ctx context.Context, id int64) (uptime.Result, error)
}

// ReadyCheck is one component of /health/ready.
type ReadyCheck struct {
	// Name is the component key in the health document ("store:write").
	Name string
	// Check observes the component. status is uptime.StatusUp (pass),
	// StatusDegraded (warn) or StatusDown (fail); a non-nil err is shown as
	// the component's output, so it must not carry secrets.
	Check func(ctx context.Context) (observed any, unit string, status uptime.Status, err error)
}

// Config configures the HTTP layer.
type Config struct {
	// Token is the write token (LOOKOUT_API_TOKEN). When any token is set,
	// every /api/v1 request needs one and mutations need this one.
	Token string
	// ReadTokens may read /api/v1 but not change anything.
	ReadTokens []string
	// Validate fully validates a normalised target and returns a
	// *uptime.ValidationError; nil means uptime.Target.Validate alone.
	Validate func(t *uptime.Target) error
	// ValidateMaintenance checks what uptime.Maintenance.Validate leaves to
	// the owner of maintenance schedules (notify.ValidateMaintenance): the
	// syntax of a recurring window's schedule. It returns a
	// *uptime.ValidationError, merged with the domain's problems, or nil;
	// any other error is a 500. nil accepts any non-empty schedule.
	ValidateMaintenance func(m *uptime.Maintenance) error
	// Logger receives access and error logs; nil discards them.
	Logger *slog.Logger
	// Version is reported by /health/* and lookout_build_info.
	Version string
	// Ready are the components of /health/ready.
	Ready []ReadyCheck
	// Live returns nil while the scheduler loop is turning; nil means always live.
	Live func() error
	// Metrics is served on /metrics; nil makes a private registry.
	Metrics *Metrics
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// RequestTimeout bounds each API request; 0 means 60s. A check run by
	// POST …/check gets the target's own timeout on top.
	RequestTimeout time.Duration
	// Sessions signs dashboard viewers in; nil makes one of Token and
	// ReadTokens. Given, it must be made of the same tokens.
	Sessions *Sessions
	// Cluster describes the instances sharing the database, for
	// GET /api/v1/cluster; nil answers with no instance.
	Cluster func(ctx context.Context) (uptime.Cluster, error)
	// UI serves the dashboard's pages: /, /targets/…, /incidents…,
	// /status, /badge/…, /static/…, /login and /logout. nil serves a page
	// of links at / instead.
	UI http.Handler
}

// Server is Lookout's HTTP handler.
type Server struct {
	cfg      Config
	store    Store
	sched    Scheduler
	notifier Notifier
	log      *slog.Logger
	now      func() time.Time
	metrics  *Metrics
	validate func(t *uptime.Target) error
	auth     authenticator
	sessions *Sessions
	ready    readyCache
	draining atomic.Bool
	handler  http.Handler
}

// New returns the handler serving every route. It never fails: a nil
// Logger, Now, Validate, ValidateMaintenance or Metrics gets a working
// default. st, sch and n must not be nil.
func New(cfg Config, st Store, sch Scheduler, n Notifier) *Server {
	s := &Server{cfg: cfg, store: st, sched: sch, notifier: n}
	s.log = cfg.Logger
	if s.log == nil {
		s.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	s.now = cfg.Now
	if s.now == nil {
		s.now = time.Now
	}
	s.metrics = cfg.Metrics
	if s.metrics == nil {
		s.metrics = NewMetrics(nil, cfg.Version)
	}
	s.validate = cfg.Validate
	if s.validate == nil {
		s.validate = (*uptime.Target).Validate
	}
	if s.cfg.RequestTimeout <= 0 {
		s.cfg.RequestTimeout = 60 * time.Second
	}
	s.sessions = cfg.Sessions
	if s.sessions == nil {
		s.sessions = NewSessions(cfg.Token, cfg.ReadTokens)
	}
	s.auth = s.sessions.auth
	s.handler = s.routes()
	return s
}

// ServeHTTP serves one request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.handler.ServeHTTP(w, r)
}

// Drain makes /health/ready answer 503 "shutting down" from now on, so that
// load balancers stop sending traffic before the listener closes. The API
// keeps serving. It is safe to call more than once.
func (s *Server) Drain() { s.draining.Store(true) }
