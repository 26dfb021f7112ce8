package uptime

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// StatusRange is an inclusive range of HTTP status codes.
type StatusRange struct{ Lo, Hi int }

// StatusRanges is the set of HTTP codes a target accepts. The zero value
// means the default, any 2xx. In JSON it is written as a string such as
// "200-299,301", or a list of numbers and range strings.
type StatusRanges []StatusRange

// Contains reports whether code is accepted; an empty set accepts 2xx.
func (rs StatusRanges) Contains(code int) bool {
	if len(rs) == 0 {
		return code >= 200 && code <= 299
	}
	for _, r := range rs {
		if code >= r.Lo && code <= r.Hi {
			return true
		}
	}
	return false
}

// String formats the set in the form ParseStatusRanges reads.
func (rs StatusRanges) String() string {
	parts := make([]string, len(rs))
	for i, r := range rs {
		if r.Lo == r.Hi {
			parts[i] = strconv.Itoa(r.Lo)
		} else {
			parts[i] = fmt.Sprintf("%d-%d", r.Lo, r.Hi)
		}
	}
	return strings.Join(parts, ",")
}

// ParseStatusRanges parses "200", "200-299", "2xx" and comma-separated lists
// of them. Codes must lie in 100..599 and ranges must not run backwards.
func ParseStatusRanges(s string) (StatusRanges, error) {
	var out StatusRanges
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			return nil, fmt.Errorf("empty status code in %q", s)
		}
		r, err := parseStatusRange(part)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

func parseStatusRange(p string) (StatusRange, error) {
	if len(p) == 3 && (p[1:] == "xx" || p[1:] == "XX") && p[0] >= '1' && p[0] <= '5' {
		lo := int(p[0]-'0') * 100
		return StatusRange{lo, lo + 99}, nil
	}
	lo, hi, isRange := strings.Cut(p, "-")
	a, err := parseCode(lo)
	if err != nil {
		return StatusRange{}, err
	}
	if !isRange {
		return StatusRange{a, a}, nil
	}
	b, err := parseCode(hi)
	if err != nil {
		return StatusRange{}, err
	}
	if b < a {
		return StatusRange{}, fmt.Errorf("status range %q runs backwards", p)
	}
	return StatusRange{a, b}, nil
}

func parseCode(s string) (int, error) {
	s = strings.TrimSpace(s)
	if len(s) != 3 {
		return 0, fmt.Errorf("%q is not an HTTP status code (100-599)", s)
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 100 || n > 599 {
		return 0, fmt.Errorf("%q is not an HTTP status code (100-599)", s)
	}
	return n, nil
}

// MarshalJSON writes the set as a string ("200-299,301").
func (rs StatusRanges) MarshalJSON() ([]byte, error) { return json.Marshal(rs.String()) }

// UnmarshalJSON reads a number, a string, or a list of numbers and strings.
func (rs *StatusRanges) UnmarshalJSON(b []byte) error {
	var items []json.RawMessage
	if len(b) > 0 && b[0] == '[' {
		if err := json.Unmarshal(b, &items); err != nil {
			return err
		}
	} else {
		items = []json.RawMessage{b}
	}
	var out StatusRanges
	for _, it := range items {
		var n int
		if err := json.Unmarshal(it, &n); err == nil {
			r, err := parseStatusRange(strconv.Itoa(n))
			if err != nil {
				return err
			}
			out = append(out, r)
			continue
		}
		var s string
		if err := json.Unmarshal(it, &s); err != nil {
			return fmt.Errorf("expect_status must be a code, a range string such as \"200-299\", or a list of them")
		}
		more, err := ParseStatusRanges(s)
		if err != nil {
			return err
		}
		out = append(out, more...)
	}
	*rs = out
	return nil
}
