package uptime

import (
	"encoding/json"
	"slices"
	"testing"
)

func TestParseStatusRanges(t *testing.T) {
	tests := []struct {
		in   string
		want StatusRanges
	}{
		{"200", StatusRanges{{200, 200}}},
		{"200-299", StatusRanges{{200, 299}}},
		{"200-200", StatusRanges{{200, 200}}},
		{"2xx", StatusRanges{{200, 299}}},
		{"5XX", StatusRanges{{500, 599}}},
		{"100-599", StatusRanges{{100, 599}}},
		{"200-299,404", StatusRanges{{200, 299}, {404, 404}}},
		{" 2xx , 301 ,404-410 ", StatusRanges{{200, 299}, {301, 301}, {404, 410}}},
		{"200 - 204", StatusRanges{{200, 204}}},
		{"404,200", StatusRanges{{404, 404}, {200, 200}}},
	}
	for _, tc := range tests {
		got, err := ParseStatusRanges(tc.in)
		if err != nil {
			t.Errorf("ParseStatusRanges(%q): %v", tc.in, err)
			continue
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("ParseStatusRanges(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestParseStatusRangesErrors(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", `empty status code in ""`},
		{" ", `empty status code in " "`},
		{"200,", `empty status code in "200,"`},
		{"200,,404", `empty status code in "200,,404"`},
		{"ok", `"ok" is not an HTTP status code (100-599)`},
		{"99", `"99" is not an HTTP status code (100-599)`},
		{"600", `"600" is not an HTTP status code (100-599)`},
		{"2000", `"2000" is not an HTTP status code (100-599)`},
		{"+20", `"+20" is not an HTTP status code (100-599)`},
		{"6xx", `"6xx" is not an HTTP status code (100-599)`},
		{"0xx", `"0xx" is not an HTTP status code (100-599)`},
		{"2x", `"2x" is not an HTTP status code (100-599)`},
		{"200-", `"" is not an HTTP status code (100-599)`},
		{"-200", `"" is not an HTTP status code (100-599)`},
		{"200-600", `"600" is not an HTTP status code (100-599)`},
		{"200-2xx", `"2xx" is not an HTTP status code (100-599)`},
		{"200-300-400", `"300-400" is not an HTTP status code (100-599)`},
		{"299-200", `status range "299-200" runs backwards`},
		{"200,404-400", `status range "404-400" runs backwards`},
	}
	for _, tc := range tests {
		got, err := ParseStatusRanges(tc.in)
		if err == nil {
			t.Errorf("ParseStatusRanges(%q) = %v, want the error %s", tc.in, got, tc.want)
			continue
		}
		if err.Error() != tc.want {
			t.Errorf("ParseStatusRanges(%q) error:\n got %s\nwant %s", tc.in, err, tc.want)
		}
	}
}

func TestStatusRangesContains(t *testing.T) {
	var dflt StatusRanges
	for code, want := range map[int]bool{199: false, 200: true, 204: true, 299: true, 300: false, 404: false, 500: false} {
		if got := dflt.Contains(code); got != want {
			t.Errorf("default set: Contains(%d) = %v, want %v", code, got, want)
		}
	}
	rs := StatusRanges{{200, 204}, {404, 404}}
	for code, want := range map[int]bool{200: true, 204: true, 205: false, 403: false, 404: true, 405: false} {
		if got := rs.Contains(code); got != want {
			t.Errorf("%s: Contains(%d) = %v, want %v", rs, code, got, want)
		}
	}
}

func TestStatusRangesJSON(t *testing.T) {
	tests := []struct {
		in      string
		want    StatusRanges
		wantErr string
	}{
		{in: `200`, want: StatusRanges{{200, 200}}},
		{in: `"200-299,404"`, want: StatusRanges{{200, 299}, {404, 404}}},
		{in: `[200, "3xx", "404-410"]`, want: StatusRanges{{200, 200}, {300, 399}, {404, 410}}},
		{in: `600`, wantErr: `"600" is not an HTTP status code (100-599)`},
		{in: `"2xx,"`, wantErr: `empty status code in "2xx,"`},
		{in: `true`, wantErr: `expect_status must be a code, a range string such as "200-299", or a list of them`},
		{in: `[{"lo":200}]`, wantErr: `expect_status must be a code, a range string such as "200-299", or a list of them`},
	}
	for _, tc := range tests {
		var got StatusRanges
		err := json.Unmarshal([]byte(tc.in), &got)
		switch {
		case tc.wantErr != "":
			if err == nil || err.Error() != tc.wantErr {
				t.Errorf("decode %s: got %v, want the error %s", tc.in, err, tc.wantErr)
			}
		case err != nil:
			t.Errorf("decode %s: %v", tc.in, err)
		case !slices.Equal(got, tc.want):
			t.Errorf("decode %s = %v, want %v", tc.in, got, tc.want)
		default:
			b, err := json.Marshal(got)
			if err != nil {
				t.Fatal(err)
			}
			var back StatusRanges
			if err := json.Unmarshal(b, &back); err != nil || !slices.Equal(back, got) {
				t.Errorf("round trip of %s through %s = %v, %v", tc.in, b, back, err)
			}
		}
	}
}

// FuzzParseStatusRanges checks that no input panics, and that whatever
// parses is a set of sane ranges that String writes back in a form that
// parses to the same set.
func FuzzParseStatusRanges(f *testing.F) {
	for _, s := range []string{"200", "200-299", "2xx", "5XX", "200-299,404", " 2xx , 301 ", "299-200",
		"", ",", "6xx", "200-", "-", "1e2", "+20", "٢٠٠", "200-300-400", "\x00", "100-599,1xx"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		rs, err := ParseStatusRanges(s)
		if err != nil {
			if rs != nil {
				t.Errorf("ParseStatusRanges(%q) returned %v with the error %v", s, rs, err)
			}
			return
		}
		if len(rs) == 0 {
			t.Fatalf("ParseStatusRanges(%q) accepted an empty set", s)
		}
		for _, r := range rs {
			if r.Lo < 100 || r.Hi > 599 || r.Lo > r.Hi {
				t.Fatalf("ParseStatusRanges(%q) gave the insane range %d-%d", s, r.Lo, r.Hi)
			}
		}
		again, err := ParseStatusRanges(rs.String())
		if err != nil {
			t.Fatalf("ParseStatusRanges(%q) = %v, whose String %q does not parse: %v", s, rs, rs.String(), err)
		}
		if !slices.Equal(again, rs) {
			t.Fatalf("ParseStatusRanges(%q) = %v, but its String %q parses to %v", s, rs, rs.String(), again)
		}
	})
}
