package uptime

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"time"
)

// Defaults applied by Normalize when a field is left out.
const (
	DefaultKind             = "http"
	DefaultInterval         = 30 * time.Second
	DefaultTimeout          = 10 * time.Second
	DefaultFailureThreshold = 3
	DefaultSuccessThreshold = 1
	MinInterval             = time.Second
)

// DefaultTLSExpiryWarn is when, in days before expiry, a certificate warns.
var DefaultTLSExpiryWarn = []int{21, 7, 1}

var nameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,62}$`)

// ValidName reports whether s is a valid target or channel name.
func ValidName(s string) bool { return nameRE.MatchString(s) }

// Target is one thing to check on a schedule.
type Target struct {
	ID               int64         `json:"-"`
	Name             string        `json:"name"`
	Kind             string        `json:"kind"`
	URL              string        `json:"url"`
	Interval         Duration      `json:"interval,omitempty"`
	Schedule         string        `json:"schedule,omitempty"`
	Timeout          Duration      `json:"timeout"`
	FailureThreshold int           `json:"failure_threshold"`
	SuccessThreshold int           `json:"success_threshold"`
	HTTP             *HTTPOptions  `json:"http,omitempty"`
	DNS              *DNSOptions   `json:"dns,omitempty"`
	TCP              *TCPOptions   `json:"tcp,omitempty"`
	TLS              *TLSOptions   `json:"tls,omitempty"`
	Postgres         *QueryOptions `json:"postgres,omitempty"`
	MySQL            *QueryOptions `json:"mysql,omitempty"`
	Redis            *RedisOptions `json:"redis,omitempty"`
	GRPC             *GRPCOptions  `json:"grpc,omitempty"`
	// Components maps a component name in this target's health document to
	// the target that monitors it, where the names do not already agree.
	Components      map[string]string `json:"components,omitempty"`
	TLSExpiryWarn   []int             `json:"tls_expiry_warn"`
	DegradedLatency Duration          `json:"degraded_latency,omitempty"`
	Labels          map[string]string `json:"labels"`
	DependsOn       []string          `json:"depends_on"`
	Channels        []string          `json:"channels"`
	SLO             float64           `json:"slo,omitempty"`
	Paused          bool              `json:"paused"`
	CreatedAt       time.Time         `json:"created_at,omitzero"`
	UpdatedAt       time.Time         `json:"updated_at,omitzero"`
}

// HTTPOptions tune an http target.
type HTTPOptions struct {
	Method          string            `json:"method,omitempty"`
	Headers         map[string]string `json:"headers,omitempty"`
	Body            string            `json:"body,omitempty"`
	ExpectStatus    StatusRanges      `json:"expect_status,omitempty"`
	BodyContains    string            `json:"body_contains,omitempty"`
	BodyNotContains string            `json:"body_not_contains,omitempty"`
	HealthFormat    string            `json:"health_format,omitempty"`
	// FollowRedirects defaults to true; a nil pointer means the default.
	FollowRedirects *bool `json:"follow_redirects,omitempty"`
	TLSSkipVerify   bool  `json:"tls_skip_verify,omitempty"`
}

// Follow reports whether redirects are followed (the default).
func (h *HTTPOptions) Follow() bool {
	return h == nil || h.FollowRedirects == nil || *h.FollowRedirects
}

// DNSOptions tune a dns target.
type DNSOptions struct {
	Server string   `json:"server,omitempty"`
	Record string   `json:"record,omitempty"`
	Expect []string `json:"expect,omitempty"`
}

// TCPOptions tune a tcp target: optionally send bytes and expect a reply.
type TCPOptions struct {
	Send   string `json:"send,omitempty"`
	Expect string `json:"expect,omitempty"`
}

// TLSOptions tune a tls target (and the TLS of tcp-like kinds).
type TLSOptions struct {
	// ServerName is the name to verify; default the URL's host.
	ServerName string `json:"server_name,omitempty"`
	SkipVerify bool   `json:"skip_verify,omitempty"`
}

// QueryOptions tune a database target: a query to run instead of SELECT 1.
type QueryOptions struct {
	Query string `json:"query,omitempty"`
}

// RedisOptions tune a redis target.
type RedisOptions struct {
	// Role, when set, is the replication role the server must have
	// ("master" or "replica").
	Role string `json:"role,omitempty"`
	// MaxReplicationLag, when set on a replica, is the most its
	// master_last_io_seconds_ago may be before the check is degraded.
	MaxReplicationLag Duration `json:"max_replication_lag,omitempty"`
}

// GRPCOptions tune a grpc target.
type GRPCOptions struct {
	// Service is the name asked of grpc.health.v1; "" is the whole server.
	Service       string `json:"service,omitempty"`
	TLS           bool   `json:"tls,omitempty"`
	TLSSkipVerify bool   `json:"tls_skip_verify,omitempty"`
}

// Normalize fills in every default that was left out, taking a zero
// interval (without a schedule), timeout or threshold as left out; see
// RefuseGivenZeros for telling the two apart. It does not validate.
func (t *Target) Normalize() {
	t.Name = strings.TrimSpace(t.Name)
	if t.Kind == "" {
		t.Kind = DefaultKind
	}
	t.Kind = strings.ToLower(t.Kind)
	if t.Interval == 0 && t.Schedule == "" {
		t.Interval = Duration(DefaultInterval)
	}
	if t.Timeout == 0 {
		t.Timeout = Duration(DefaultTimeout)
		// Keep the default below a short interval: 80 % of it.
		if t.Interval > 0 && t.Interval.D() <= DefaultTimeout {
			t.Timeout = Duration(t.Interval.D() * 4 / 5)
		}
	}
	if t.FailureThreshold == 0 {
		t.FailureThreshold = DefaultFailureThreshold
	}
	if t.SuccessThreshold == 0 {
		t.SuccessThreshold = DefaultSuccessThreshold
	}
	if t.TLSExpiryWarn == nil {
		t.TLSExpiryWarn = slices.Clone(DefaultTLSExpiryWarn)
	}
	if t.Labels == nil {
		t.Labels = map[string]string{}
	}
	if t.DependsOn == nil {
		t.DependsOn = []string{}
	}
	if t.Channels == nil {
		t.Channels = []string{}
	}
	if t.HTTP != nil {
		t.HTTP.Method = strings.ToUpper(t.HTTP.Method)
	}
}

// RefuseGivenZeros returns a *ValidationError naming each field sent as
// zero whose zero Normalize would replace by its default, as if it had been
// left out: interval, timeout, failure_threshold and success_threshold. A
// zero sent on purpose is a mistake, not a request for the default. given
// reports whether a member was sent (and not as null). Decoders that can
// tell call it before Normalize.
func (t *Target) RefuseGivenZeros(given func(field string) bool) error {
	var v ValidationError
	if given("interval") && t.Interval == 0 {
		v.Add("interval", fmt.Sprintf("must be at least %s; leave it out for the default (%s)", MinInterval, Duration(DefaultInterval)))
	}
	if given("timeout") && t.Timeout == 0 {
		v.Add("timeout", fmt.Sprintf("must be positive; leave it out for the default (%s, or 80 %% of a shorter interval)", Duration(DefaultTimeout)))
	}
	if given("failure_threshold") && t.FailureThreshold == 0 {
		v.Add("failure_threshold", fmt.Sprintf("must be between 1 and 1000; leave it out for the default (%d)", DefaultFailureThreshold))
	}
	if given("success_threshold") && t.SuccessThreshold == 0 {
		v.Add("success_threshold", fmt.Sprintf("must be between 1 and 1000; leave it out for the default (%d)", DefaultSuccessThreshold))
	}
	return v.Err()
}

var labelKeyRE = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_./-]{0,62}$`)

// Validate checks the fields every kind shares. Kind-specific rules and the
// cron syntax of Schedule are checked by the packages that own them. It
// returns a *ValidationError listing every problem, or nil.
func (t *Target) Validate() error {
	var v ValidationError
	switch {
	case t.Name == "":
		v.Add("name", "is required")
	case !ValidName(t.Name):
		v.Add("name", "must match [a-z0-9][a-z0-9._-]{0,62}: lowercase letters, digits, '.', '_' and '-', at most 63 characters")
	}
	if strings.TrimSpace(t.URL) == "" {
		v.Add("url", "is required")
	}
	if t.Interval != 0 && t.Schedule != "" {
		v.Add("schedule", "give either interval or schedule, not both")
	}
	if t.Interval != 0 && t.Interval.D() < MinInterval {
		v.Add("interval", fmt.Sprintf("must be at least %s", MinInterval))
	}
	switch {
	case t.Timeout <= 0:
		v.Add("timeout", "must be positive")
	case t.Interval > 0 && t.Timeout >= t.Interval:
		v.Add("timeout", fmt.Sprintf("must be shorter than the interval (%s)", t.Interval))
	}
	if t.FailureThreshold < 1 || t.FailureThreshold > 1000 {
		v.Add("failure_threshold", "must be between 1 and 1000")
	}
	if t.SuccessThreshold < 1 || t.SuccessThreshold > 1000 {
		v.Add("success_threshold", "must be between 1 and 1000")
	}
	if t.DegradedLatency < 0 {
		v.Add("degraded_latency", "must not be negative")
	}
	if t.SLO != 0 && (t.SLO <= 0 || t.SLO >= 1) {
		v.Add("slo", "must be a fraction between 0 and 1, such as 0.999")
	}
	for i, d := range t.TLSExpiryWarn {
		if d < 0 || d > 3650 {
			v.Add(fmt.Sprintf("tls_expiry_warn[%d]", i), "must be a number of days between 0 and 3650")
		}
	}
	for k, val := range t.Labels {
		if !labelKeyRE.MatchString(k) {
			v.Add("labels", fmt.Sprintf("label name %q must start with a letter and hold only letters, digits, '_', '.', '/' or '-'", k))
		}
		if len(val) > 256 {
			v.Add("labels", fmt.Sprintf("label %q is longer than 256 characters", k))
		}
	}
	for i, d := range t.DependsOn {
		switch {
		case !ValidName(d):
			v.Add(fmt.Sprintf("depends_on[%d]", i), fmt.Sprintf("%q is not a valid target name", d))
		case d == t.Name:
			v.Add(fmt.Sprintf("depends_on[%d]", i), "a target cannot depend on itself")
		}
	}
	for comp, target := range t.Components {
		switch {
		case comp == "" || len(comp) > 200:
			v.Add("components", "component names must be 1 to 200 characters")
		case !ValidName(target):
			v.Add("components", fmt.Sprintf("component %q maps to %q, which is not a valid target name", comp, target))
		case target == t.Name:
			v.Add("components", fmt.Sprintf("component %q cannot map to the target itself", comp))
		}
	}
	for i, c := range t.Channels {
		if !ValidName(c) {
			v.Add(fmt.Sprintf("channels[%d]", i), fmt.Sprintf("%q is not a valid channel name", c))
		}
	}
	return v.Err()
}

// Reference is a name a target gives of a channel or of another target.
type Reference struct {
	// Field is the member that gives it: "channels[0]", "depends_on[1]"
	// or "components".
	Field string
	// Channel says Name is a channel's; otherwise it is a target's.
	Channel bool
	Name    string
	// Component is the health-document component mapped to Name, for
	// references in components.
	Component string
}

// References lists the channels and targets t names that old did not
// (every one when old is nil), channels first, then depends_on, then
// components by component name. A name old already gave in the same place
// is left out: a reference that was sound when written does not block an
// unrelated change, or a pause, after its channel or target went away.
func (t *Target) References(old *Target) []Reference {
	var prev Target
	if old != nil {
		prev = *old
	}
	var out []Reference
	for i, c := range t.Channels {
		if !slices.Contains(prev.Channels, c) {
			out = append(out, Reference{Field: fmt.Sprintf("channels[%d]", i), Channel: true, Name: c})
		}
	}
	for i, d := range t.DependsOn {
		if !slices.Contains(prev.DependsOn, d) {
			out = append(out, Reference{Field: fmt.Sprintf("depends_on[%d]", i), Name: d})
		}
	}
	for _, comp := range slices.Sorted(maps.Keys(t.Components)) {
		if target := t.Components[comp]; prev.Components[comp] != target {
			out = append(out, Reference{Field: "components", Name: target, Component: comp})
		}
	}
	return out
}

// CheckReferences returns a *ValidationError naming each of
// t.References(old) that exists says is not there, or the first error of
// exists as is. exists answers for whatever the write can see: the store
// inside its transaction, or that and the targets a write of several
// creates together.
func (t *Target) CheckReferences(old *Target, exists func(Reference) (bool, error)) error {
	var v ValidationError
	for _, r := range t.References(old) {
		ok, err := exists(r)
		if err != nil {
			return err
		}
		switch {
		case ok:
		case r.Channel:
			v.Add(r.Field, fmt.Sprintf("no channel %q exists; create it first", r.Name))
		case r.Component != "":
			v.Add(r.Field, fmt.Sprintf("component %q maps to %q, and no target of that name exists", r.Component, r.Name))
		default:
			v.Add(r.Field, fmt.Sprintf("no target %q exists; register it first", r.Name))
		}
	}
	return v.Err()
}

// Policy returns the thresholds the state machine applies to this target.
// Flap detection uses the defaults; the notifier applies silences and
// maintenance, which the state machine does not need to know.
func (t *Target) Policy() Policy {
	return Policy{
		FailureThreshold: t.FailureThreshold,
		SuccessThreshold: t.SuccessThreshold,
		FlapThreshold:    DefaultFlapThreshold,
		FlapWindow:       DefaultFlapWindow,
		ExpiryWarn:       t.TLSExpiryWarn,
	}
}

// Redacted returns a copy safe to show: the URL's password and the values of
// sensitive headers are replaced by "***".
func (t Target) Redacted() Target {
	t.URL = RedactURL(t.URL)
	if t.HTTP != nil {
		h := *t.HTTP
		if h.Headers != nil {
			h.Headers = maps.Clone(h.Headers)
			for k := range h.Headers {
				if IsSensitiveHeader(k) {
					h.Headers[k] = Redacted
				}
			}
		}
		t.HTTP = &h
	}
	return t
}

// KeepSecrets lets a client send back what it read: where t holds "***" in
// place of a secret, the value is taken from old. A URL is kept only when it
// redacts to the same text as old's, so a changed host never gets the old password.
func (t *Target) KeepSecrets(old *Target) {
	if strings.Contains(t.URL, Redacted) && t.URL == RedactURL(old.URL) {
		t.URL = old.URL
	}
	if t.HTTP == nil || old.HTTP == nil {
		return
	}
	for k, val := range t.HTTP.Headers {
		if val == Redacted {
			if prev, ok := old.HTTP.Headers[k]; ok {
				t.HTTP.Headers[k] = prev
			}
		}
	}
}

// SameSpec reports whether two targets describe the same check, ignoring
// identity and timestamps. A PUT of the same spec changes nothing.
func (t *Target) SameSpec(o *Target) bool {
	a, b := *t, *o
	a.ID, b.ID = 0, 0
	a.CreatedAt, b.CreatedAt = time.Time{}, time.Time{}
	a.UpdatedAt, b.UpdatedAt = time.Time{}, time.Time{}
	ja, err1 := json.Marshal(a)
	jb, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && bytes.Equal(ja, jb)
}

// TargetFilter selects targets in a listing.
type TargetFilter struct {
	// Labels must all match (key=value).
	Labels map[string]string
	// Status, when set, keeps targets whose current state is one of these.
	Status []Status
	// Name, when set, keeps targets whose name contains it.
	Name string
	// After is the pagination cursor: names sorting after it.
	After string
	// Limit caps the page size; 0 means the store's default.
	Limit int
}

// Matches reports whether labels include every pair of want.
func Matches(labels, want map[string]string) bool {
	for k, v := range want {
		if got, ok := labels[k]; !ok || got != v {
			return false
		}
	}
	return true
}
