package probe

import (
	"strings"
	"testing"

	"github.com/lookout/lookout/internal/uptime"
)

func TestCellText(t *testing.T) {
	long := strings.Repeat("é", 100)
	for _, tc := range []struct {
		in   any
		want string
	}{
		{nil, "NULL"},
		{int32(42), "42"},
		{[]byte("abc"), "abc"},
		{"two\nlines\ttab", "two lines tab"},
		{true, "true"},
		{long, strings.Repeat("é", (maxCellLen-len("…"))/2) + "…"},
	} {
		if got := cellText(tc.in); got != tc.want {
			t.Errorf("cellText(%v) = %q, want %q", tc.in, got, tc.want)
		}
		if got := cellText(tc.in); len(got) > maxCellLen {
			t.Errorf("cellText(%v) is %d bytes, want at most %d", tc.in, len(got), maxCellLen)
		}
	}
}

func TestServerVersion(t *testing.T) {
	for in, want := range map[string]string{
		"15.20 (Debian 15.20-0+deb12u1)": "15.20",
		"10.11.19-MariaDB-0+deb12u1":     "10.11.19",
		"8.0.36":                         "8.0.36",
		"17devel":                        "17",
		"":                               "",
		"weird":                          "weird",
	} {
		if got := serverVersion(in); got != want {
			t.Errorf("serverVersion(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestHostPortProblem(t *testing.T) {
	const form = "must be host:port, such as db.internal:5432 or [2001:db8::1]:443"
	badPort := func(p string) string {
		return "has port \"" + p + "\"; the port must be a number from 1 to 65535 (" + form + ")"
	}
	for in, want := range map[string]string{
		"127.0.0.1:50051":     "",
		"[::1]:443":           "",
		"example.com:1":       "",
		"my_db:5432":          "",
		"example.com":         form,
		":50051":              form,
		"db/1:5432":           form,
		"tcp://db:5432":       form + ", not a URL",
		"example.com:":        badPort(""),
		"example.com:0":       badPort("0"),
		"example.com:x":       badPort("x"),
		"example.com:1e9":     badPort("1e9"),
		"example.com:65536":   badPort("65536"),
		"[2001:db8::1]:50051": "",
	} {
		if got := hostPortProblem(in); got != want {
			t.Errorf("hostPortProblem(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestURLScheme(t *testing.T) {
	for _, tc := range []struct {
		in     string
		scheme string
		ok     bool
	}{
		{"postgres://h/db", "postgres", true},
		{"rediss://h", "rediss", true},
		{"git+ssh://h", "git+ssh", true},
		{"user:pass@tcp(h:3306)/db", "", false},
		{"u:p://w@tcp(h:3306)/db", "", false},
		{"host=h password=a://b", "", false},
		{"://h", "", false},
		{"1a://h", "", false},
	} {
		scheme, ok := urlScheme(tc.in)
		if scheme != tc.scheme || ok != tc.ok {
			t.Errorf("urlScheme(%q) = %q, %v; want %q, %v", tc.in, scheme, ok, tc.scheme, tc.ok)
		}
	}
}

func TestHideSecret(t *testing.T) {
	r := uptime.Result{Error: "auth as u:" + dbSecret + " failed", Detail: dbSecret}
	hideSecret(&r, dbSecret)
	dbWantNoSecret(t, r, dbSecret)
	if r.Error != "auth as u:*** failed" || r.Detail != "***" {
		t.Errorf("got error %q detail %q", r.Error, r.Detail)
	}
	r = uptime.Result{Error: "unchanged"}
	hideSecret(&r, "")
	if r.Error != "unchanged" {
		t.Errorf("an empty secret changed the error to %q", r.Error)
	}
}
