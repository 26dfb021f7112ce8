package healthdoc

import "github.com/lookout/lookout/internal/uptime"

// words maps status words, lowercased with "_" and "-" read as spaces, to
// statuses. Keep the README's table in step with this one.
var words = map[string]uptime.Status{
	// up
	"ok":      uptime.StatusUp,
	"okay":    uptime.StatusUp,
	"up":      uptime.StatusUp,
	"pass":    uptime.StatusUp,
	"passed":  uptime.StatusUp,
	"passing": uptime.StatusUp,
	"healthy": uptime.StatusUp,
	"green":   uptime.StatusUp,
	"true":    uptime.StatusUp,
	"alive":   uptime.StatusUp,
	"pong":    uptime.StatusUp,
	"serving": uptime.StatusUp,

	// degraded
	"warn":                uptime.StatusDegraded,
	"warning":             uptime.StatusDegraded,
	"degraded":            uptime.StatusDegraded,
	"yellow":              uptime.StatusDegraded,
	"partially available": uptime.StatusDegraded,

	// down
	"down":           uptime.StatusDown,
	"fail":           uptime.StatusDown,
	"failed":         uptime.StatusDown,
	"failing":        uptime.StatusDown,
	"failure":        uptime.StatusDown,
	"error":          uptime.StatusDown,
	"unhealthy":      uptime.StatusDown,
	"critical":       uptime.StatusDown,
	"red":            uptime.StatusDown,
	"false":          uptime.StatusDown,
	"unavailable":    uptime.StatusDown,
	"out of service": uptime.StatusDown,
	"shutting down":  uptime.StatusDown,
	"not serving":    uptime.StatusDown,

	// no verdict
	"unknown": uptime.StatusUnknown,
}

// maxWordLen is longer than any key of words.
const maxWordLen = 24

// lookupWord maps a status word to a status; ok is false for a word that is
// not in the table.
func lookupWord(s string) (st uptime.Status, ok bool) {
	// Trim ASCII blanks without allocating.
	for len(s) > 0 && (s[0] == ' ' || s[0] == '\t' || s[0] == '\r' || s[0] == '\n') {
		s = s[1:]
	}
	for len(s) > 0 && (s[len(s)-1] == ' ' || s[len(s)-1] == '\t' || s[len(s)-1] == '\r' || s[len(s)-1] == '\n') {
		s = s[:len(s)-1]
	}
	if len(s) == 0 || len(s) > maxWordLen {
		return uptime.StatusUnknown, false
	}
	var buf [maxWordLen]byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'A' && c <= 'Z':
			c += 'a' - 'A'
		case c == '_' || c == '-':
			c = ' '
		}
		buf[i] = c
	}
	st, ok = words[string(buf[:len(s)])]
	return st, ok
}
