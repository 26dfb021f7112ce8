package uptime

import (
	"testing"
	"time"
)

func TestParseSpan(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"30d", 30 * 24 * time.Hour, true},
		{"2w", 14 * 24 * time.Hour, true},
		{"1y", 365 * 24 * time.Hour, true},
		{"36h", 36 * time.Hour, true},
		{"1h30m", 90 * time.Minute, true},
		{"0d", 0, false},
		{"0s", 0, false},
		{"-1h", 0, false},
		{"-1d", 0, false},
		{"1.5d", 0, false},
		{"d", 0, false},
		{"", 0, false},
		{"often", 0, false},
		{"99999999999y", 0, false},
		{"107000y", 0, false},
	} {
		if got, ok := ParseSpan(tc.in); got != tc.want || ok != tc.ok {
			t.Errorf("ParseSpan(%q) = %v, %v; want %v, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func FuzzParseSpan(f *testing.F) {
	for _, s := range []string{"30d", "1y", "2w", "36h", "0d", "-1h", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if d, ok := ParseSpan(s); ok && d <= 0 || !ok && d != 0 {
			t.Errorf("ParseSpan(%q) = %v, %v: a span is positive, or nothing", s, d, ok)
		}
	})
}
