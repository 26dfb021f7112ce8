package uptime

import (
	"encoding/json"
	"fmt"
	"time"
)

// Status is the verdict of a check, or the state of a target or component.
// The numeric values are stored; never renumber them.
type Status uint8

// The statuses, in order of increasing badness but for Unknown.
const (
	StatusUnknown  Status = 0
	StatusUp       Status = 1
	StatusDegraded Status = 2
	StatusDown     Status = 3
)

var statusNames = [...]string{"unknown", "up", "degraded", "down"}

// String returns the lowercase name ("up").
func (s Status) String() string {
	if int(s) < len(statusNames) {
		return statusNames[s]
	}
	return fmt.Sprintf("status(%d)", uint8(s))
}

// ParseStatus parses a status name as String returns it.
func ParseStatus(s string) (Status, error) {
	for i, n := range statusNames {
		if n == s {
			return Status(i), nil
		}
	}
	return 0, fmt.Errorf("unknown status %q (want unknown, up, degraded or down)", s)
}

// MarshalText encodes the status as its name.
func (s Status) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText decodes a status name.
func (s *Status) UnmarshalText(b []byte) error {
	v, err := ParseStatus(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// OK reports whether the status counts as available (up or degraded).
func (s Status) OK() bool { return s == StatusUp || s == StatusDegraded }

// Worst returns the worse of two statuses; unknown loses to any verdict.
func Worst(a, b Status) Status {
	if a == StatusUnknown {
		return b
	}
	if b > a {
		return b
	}
	return a
}

// ErrorClass says why a check failed, in a fixed vocabulary: the API's
// error_class, listed in the README's "Check kinds and error classes".
// The numeric values are stored; never renumber them.
type ErrorClass uint8

// The error classes. ClassNone is a check that did not fail.
const (
	ClassNone         ErrorClass = 0
	ClassTimeout      ErrorClass = 1
	ClassDNS          ErrorClass = 2
	ClassRefused      ErrorClass = 3
	ClassTLS          ErrorClass = 4
	ClassStatus       ErrorClass = 5
	ClassAssertion    ErrorClass = 6
	ClassBodyTooLarge ErrorClass = 7
	ClassProtocol     ErrorClass = 8
	ClassInternal     ErrorClass = 9
)

var classNames = [...]string{"", "timeout", "dns", "refused", "tls", "status", "assertion", "body_too_large", "protocol", "internal"}

// String returns the class name ("timeout"), or "" for ClassNone.
func (c ErrorClass) String() string {
	if int(c) < len(classNames) {
		return classNames[c]
	}
	return fmt.Sprintf("class(%d)", uint8(c))
}

// ParseErrorClass parses a class name as String returns it.
func ParseErrorClass(s string) (ErrorClass, error) {
	for i, n := range classNames {
		if n == s {
			return ErrorClass(i), nil
		}
	}
	return 0, fmt.Errorf("unknown error class %q", s)
}

// MarshalText encodes the class as its name.
func (c ErrorClass) MarshalText() ([]byte, error) { return []byte(c.String()), nil }

// UnmarshalText decodes a class name.
func (c *ErrorClass) UnmarshalText(b []byte) error {
	v, err := ParseErrorClass(string(b))
	if err != nil {
		return err
	}
	*c = v
	return nil
}

// MaxErrorLen caps the stored error text; longer texts are cut.
const MaxErrorLen = 256

// Result is the outcome of one check of one target. Every check produces
// exactly one, success or not, and every one is stored.
type Result struct {
	TargetID   int64         `json:"-"`
	Target     string        `json:"target"`
	StartedAt  time.Time     `json:"started_at"`
	Duration   time.Duration `json:"-"`
	Status     Status        `json:"status"`
	Code       int           `json:"code"`
	ErrorClass ErrorClass    `json:"error_class,omitempty"`
	Error      string        `json:"error,omitempty"`
	// Components are the parts a health document reported, if any.
	Components []Component `json:"components,omitempty"`
	// CertExpiry is the leaf certificate's expiry, for tls targets and https.
	CertExpiry time.Time `json:"cert_expiry,omitzero"`
	// ChainExpiry is the earliest expiry in the verified chain.
	ChainExpiry time.Time `json:"chain_expiry,omitzero"`
	// Detail is a short note of what was seen ("PostgreSQL 15.19", "role=master").
	Detail string `json:"detail,omitempty"`
}

// MarshalJSON adds duration as a Go duration string and duration_us as a number.
func (r Result) MarshalJSON() ([]byte, error) {
	type plain Result
	return json.Marshal(struct {
		plain
		Duration   string `json:"duration"`
		DurationUS int64  `json:"duration_us"`
	}{plain(r), r.Duration.String(), r.Duration.Microseconds()})
}

// Fail sets r to a failed verdict of the given class, with a short error
// text. The status is down, except for ClassInternal: a check that could
// not run for Lookout's own reasons tells nothing about the target, so its
// status is unknown and it counts neither way.
func (r *Result) Fail(class ErrorClass, format string, args ...any) {
	r.Status = StatusDown
	if class == ClassInternal {
		r.Status = StatusUnknown
	}
	r.ErrorClass = class
	r.Error = Truncate(fmt.Sprintf(format, args...), MaxErrorLen)
}

// Component is one part of a service as its health document reports it.
type Component struct {
	Name     string  `json:"name"`
	Status   Status  `json:"status"`
	Observed float64 `json:"observed,omitempty"`
	Unit     string  `json:"unit,omitempty"`
	Output   string  `json:"output,omitempty"`
}

// Truncate cuts s to at most n bytes on a rune boundary, marking the cut with "…".
func Truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n - len("…")
	for cut > 0 && s[cut]&0xC0 == 0x80 {
		cut--
	}
	return s[:cut] + "…"
}
