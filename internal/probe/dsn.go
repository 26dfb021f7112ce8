package probe

import (
	"fmt"
	"strings"

	"github.com/lookout/lookout/internal/uptime"
)

// Helpers shared by the database and RPC kinds (postgres, mysql, redis,
// grpc): their URLs are DSNs that may carry a password, and their results
// carry a short note of what the server said.

// maxCellLen caps the text of a query's first cell kept in Result.Detail.
const maxCellLen = 64

// cellText formats the first cell of a query's answer for Result.Detail:
// "NULL" for a SQL null, bytes as text, cut to maxCellLen bytes on a rune
// boundary, with control characters replaced by spaces so that a
// multi-line value stays one line.
func cellText(v any) string {
	var s string
	switch v := v.(type) {
	case nil:
		return "NULL"
	case []byte:
		s = string(v)
	case string:
		s = v
	default:
		s = fmt.Sprint(v)
	}
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
	return uptime.Truncate(s, maxCellLen)
}

// hideSecret keeps a known secret (a DSN's password) out of the texts a
// check stores: every occurrence in r.Error and r.Detail becomes "***".
// The drivers do not echo passwords in their errors; this is the guard
// that keeps it so should one start to.
func hideSecret(r *uptime.Result, secret string) {
	if secret == "" {
		return
	}
	r.Error = strings.ReplaceAll(r.Error, secret, uptime.Redacted)
	r.Detail = strings.ReplaceAll(r.Detail, secret, uptime.Redacted)
}

// serverVersion shortens a version string as servers report it
// ("15.20 (Debian 15.20-0+deb12u1)", "10.11.19-MariaDB-0+deb12u1") to its
// leading number ("15.20", "10.11.19").
func serverVersion(v string) string {
	v = strings.TrimSpace(v)
	if i := strings.IndexFunc(v, func(r rune) bool { return r != '.' && (r < '0' || r > '9') }); i > 0 {
		v = v[:i]
	}
	return uptime.Truncate(v, 32)
}

// urlScheme returns the scheme of raw when it starts like a URL ("scheme://").
func urlScheme(raw string) (string, bool) {
	i := strings.Index(raw, "://")
	if i < 1 {
		return "", false
	}
	for j, c := range raw[:i] {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
		case j > 0 && (c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.'):
		default:
			return "", false
		}
	}
	return raw[:i], true
}
