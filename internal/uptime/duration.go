package uptime

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"time"
)

// Duration is a time.Duration that reads and writes JSON and YAML as a Go
// duration string ("30s", "1m30s"). A JSON number is read as nanoseconds
// would be surprising, so it is refused.
type Duration time.Duration

// D returns the value as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// String formats the duration like time.Duration.
func (d Duration) String() string { return time.Duration(d).String() }

// MarshalText encodes the duration as a Go duration string.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText parses a Go duration string.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("%q is not a duration (use Go syntax such as 30s, 5m, 1h30m)", string(b))
	}
	*d = Duration(v)
	return nil
}

// UnmarshalJSON accepts only a JSON string.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("a duration must be a string such as \"30s\", not %s", b)
	}
	return d.UnmarshalText([]byte(s))
}

// spanUnits are the units ParseSpan reads beyond Go's.
var spanUnits = map[byte]time.Duration{'d': 24 * time.Hour, 'w': 7 * 24 * time.Hour, 'y': 365 * 24 * time.Hour}

// ParseSpan reads a positive length of time: a whole number of days (d),
// weeks (w) or 365-day years (y), such as 30d or 1y, or a Go duration
// such as 36h. ok is false for anything else, zero and negatives included.
func ParseSpan(s string) (d time.Duration, ok bool) {
	if s == "" {
		return 0, false
	}
	if unit, ok := spanUnits[s[len(s)-1]]; ok {
		n, err := strconv.ParseUint(s[:len(s)-1], 10, 32)
		if err != nil || n == 0 || n > uint64(math.MaxInt64/unit) {
			return 0, false
		}
		return time.Duration(n) * unit, true
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, false
	}
	return d, true
}
