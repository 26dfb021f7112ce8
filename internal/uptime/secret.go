package uptime

import (
	"log/slog"
	"net/url"
	"regexp"
	"strings"
)

// Redacted is what a secret looks like wherever it is shown.
const Redacted = "***"

// Secret is a string that never shows itself: it prints, marshals to JSON and
// logs as "***". Only the code that must use it (a sender signing a request)
// calls Reveal.
type Secret string

// Reveal returns the secret's value.
func (s Secret) Reveal() string { return string(s) }

// String returns "***" for a set secret and "" for an empty one.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return Redacted
}

// GoString keeps %#v from printing the value.
func (s Secret) GoString() string { return `uptime.Secret("` + s.String() + `")` }

// LogValue keeps slog from printing the value.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// MarshalJSON encodes the secret as "***" (or "" when unset).
func (s Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + s.String() + `"`), nil }

// sensitiveHeaders are request headers whose values are secrets.
var sensitiveHeaders = map[string]bool{
	"authorization":       true,
	"proxy-authorization": true,
	"cookie":              true,
	"x-api-key":           true,
	"x-auth-token":        true,
	"api-key":             true,
}

// IsSensitiveHeader reports whether a header's value must be redacted.
func IsSensitiveHeader(name string) bool {
	n := strings.ToLower(name)
	return sensitiveHeaders[n] || strings.Contains(n, "token") || strings.Contains(n, "secret")
}

// sensitiveParams are URL query and DSN key=value parameters holding secrets.
var sensitiveParam = regexp.MustCompile(`(?i)^(password|passwd|pwd|pass|secret|token|access_token|api_key|apikey|sslpassword|auth)$`)

// dsnKV matches key=value pairs in libpq-style DSNs ("host=x password=y").
var dsnKV = regexp.MustCompile(`(?i)\b(password|passwd|pwd|sslpassword)\s*=\s*('(?:[^'\\]|\\.)*'|\S+)`)

// RedactURL hides the secrets of a URL or DSN: the userinfo password, query
// parameters such as password= or token=, and password= pairs of key=value
// DSNs. What cannot be parsed is returned with only the key=value pass done.
func RedactURL(raw string) string {
	if raw == "" {
		return raw
	}
	if strings.Contains(raw, "://") {
		u, err := url.Parse(raw)
		if err == nil {
			if u.User != nil {
				if _, ok := u.User.Password(); ok {
					u.User = url.UserPassword(u.User.Username(), Redacted)
				}
			}
			if u.RawQuery != "" {
				q := u.Query()
				changed := false
				for k := range q {
					if sensitiveParam.MatchString(k) {
						q.Set(k, Redacted)
						changed = true
					}
				}
				if changed {
					u.RawQuery = q.Encode()
				}
			}
			// url.String would escape the *, keep it readable.
			return strings.ReplaceAll(u.String(), "%2A%2A%2A", Redacted)
		}
	}
	// MySQL's user:pass@tcp(host)/db form.
	if at := strings.Index(raw, "@"); at > 0 && !strings.Contains(raw[:at], " ") {
		if colon := strings.Index(raw[:at], ":"); colon >= 0 {
			return raw[:colon+1] + Redacted + raw[at:]
		}
	}
	return dsnKV.ReplaceAllString(raw, "${1}="+Redacted)
}
