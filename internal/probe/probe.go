// Package probe runs checks: one file per check kind, each registering its
// name, its validator and its check function with Register.
package probe

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"slices"
	"sync"
	"time"

	"github.com/lookout/lookout/internal/uptime"
)

// Kind is one kind of check.
type Kind struct {
	// Name is the target's kind field ("http").
	Name string
	// Validate checks the kind-specific fields of a normalised target and
	// returns a *uptime.ValidationError naming each bad field, or nil.
	Validate func(t *uptime.Target) error
	// Check runs one check, filling r's Status, Code, ErrorClass, Error and,
	// where it applies, Components and CertExpiry. ctx carries the target's
	// timeout; Check must return promptly when it is done.
	Check func(ctx context.Context, p *Prober, t *uptime.Target, r *uptime.Result)
}

var (
	regMu sync.RWMutex
	kinds = map[string]Kind{}
)

// Register adds a check kind. It panics on a duplicate or incomplete kind,
// which is a programming error found at start-up.
func Register(k Kind) {
	regMu.Lock()
	defer regMu.Unlock()
	if k.Name == "" || k.Validate == nil || k.Check == nil {
		panic(fmt.Sprintf("probe: kind %q registered without a name, validator or check", k.Name))
	}
	if _, dup := kinds[k.Name]; dup {
		panic(fmt.Sprintf("probe: kind %q registered twice", k.Name))
	}
	kinds[k.Name] = k
}

// Kinds returns the registered kind names, sorted.
func Kinds() []string {
	regMu.RLock()
	defer regMu.RUnlock()
	names := make([]string, 0, len(kinds))
	for n := range kinds {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

func lookup(name string) (Kind, bool) {
	regMu.RLock()
	defer regMu.RUnlock()
	k, ok := kinds[name]
	return k, ok
}

// Options configure a Prober.
type Options struct {
	// UserAgent is sent by HTTP checks; empty means "Lookout".
	UserAgent string
	// Logger receives debug lines about checks; nil discards them.
	Logger *slog.Logger
	// RootCAs, when set, replaces the system's roots for the certificate
	// checks of tls targets (a private CA; tests).
	RootCAs *x509.CertPool
}

// Prober runs checks of every registered kind. It is safe for concurrent use.
type Prober struct {
	userAgent string
	log       *slog.Logger
	now       func() time.Time
	roots     *x509.CertPool // nil: the system's
}

// New returns a Prober.
func New(opts Options) *Prober {
	p := &Prober{userAgent: opts.UserAgent, log: opts.Logger, now: time.Now, roots: opts.RootCAs}
	if p.userAgent == "" {
		p.userAgent = "Lookout"
	}
	if p.log == nil {
		p.log = slog.New(slog.DiscardHandler)
	}
	return p
}

// Validate checks a normalised target's kind-specific fields. An unknown
// kind is reported on the kind field. It returns a *uptime.ValidationError or nil.
func (p *Prober) Validate(t *uptime.Target) error {
	k, ok := lookup(t.Kind)
	if !ok {
		return uptime.Invalid("kind", fmt.Sprintf("unknown kind %q (known: %v)", t.Kind, Kinds()))
	}
	return k.Validate(t)
}

// Check runs one check of t under its timeout and returns the result. It
// never panics and never takes much longer than t.Timeout: a kind that
// overruns is reported as a timeout. A success slower than
// t.DegradedLatency is reported as degraded.
func (p *Prober) Check(ctx context.Context, t uptime.Target) uptime.Result {
	r := uptime.Result{TargetID: t.ID, Target: t.Name, StartedAt: p.now()}
	k, ok := lookup(t.Kind)
	if !ok {
		r.Fail(uptime.ClassInternal, "unknown kind %q", t.Kind)
		return r
	}
	timeout := t.Timeout.D()
	if timeout <= 0 {
		timeout = uptime.DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	start := time.Now()
	func() {
		defer func() {
			if v := recover(); v != nil {
				p.log.Error("check panicked", "target", t.Name, "kind", t.Kind, "panic", v, "stack", string(debug.Stack()))
				r.Fail(uptime.ClassInternal, "internal error in the check")
			}
		}()
		k.Check(ctx, p, &t, &r)
	}()
	r.Duration = time.Since(start)

	// A kind that returned success after the deadline still failed.
	if errors.Is(ctx.Err(), context.DeadlineExceeded) && r.Status.OK() {
		r.Fail(uptime.ClassTimeout, "timed out after %s", timeout)
	}
	if r.Status == uptime.StatusUp && t.DegradedLatency > 0 && r.Duration > t.DegradedLatency.D() {
		r.Status = uptime.StatusDegraded
	}
	return r
}
