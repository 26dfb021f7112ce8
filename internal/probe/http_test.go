package probe

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/lookout/lookout/internal/uptime"
)

// check validates and runs one http check of url with the given options.
func check(t *testing.T, url string, h *uptime.HTTPOptions, tweak ...func(*uptime.Target)) uptime.Result {
	t.Helper()
	target := uptime.Target{Kind: "http", URL: url, HTTP: h}
	for _, f := range tweak {
		f(&target)
	}
	return runTarget(t, nil, target)
}

func ranges(t *testing.T, s string) uptime.StatusRanges {
	t.Helper()
	rs, err := uptime.ParseStatusRanges(s)
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

func no() *bool { f := false; return &f }

// verdict is the part of a result the table tests compare.
type verdict struct {
	Status uptime.Status
	Code   int
	Class  uptime.ErrorClass
	Error  string
}

func verdictOf(r uptime.Result) verdict {
	return verdict{Status: r.Status, Code: r.Code, Class: r.ErrorClass, Error: r.Error}
}

func testServer(t *testing.T) *httptest.Server {
	mux := http.NewServeMux()
	mux.HandleFunc("/ok", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, `{"status":"ok"}`) })
	mux.HandleFunc("/code/{code}", func(w http.ResponseWriter, r *http.Request) {
		code, _ := strconv.Atoi(r.PathValue("code"))
		w.WriteHeader(code)
	})
	mux.HandleFunc("/moved", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/ok", http.StatusMovedPermanently)
	})
	// /chain/n redirects n more times, then answers 200.
	mux.HandleFunc("/chain/{n}", func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(r.PathValue("n"))
		if n == 0 {
			io.WriteString(w, "end of chain")
			return
		}
		http.Redirect(w, r, fmt.Sprintf("/chain/%d", n-1), http.StatusFound)
	})
	mux.HandleFunc("/loop/a", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/loop/b?token=abc", http.StatusFound)
	})
	mux.HandleFunc("/loop/b", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/loop/a", http.StatusFound)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func TestHTTPCheck(t *testing.T) {
	srv := testServer(t)
	tests := []struct {
		name string
		path string
		http *uptime.HTTPOptions
		want verdict
	}{
		{"200 is up", "/ok", nil, verdict{Status: uptime.StatusUp, Code: 200}},
		{"500 is down", "/code/500", nil,
			verdict{uptime.StatusDown, 500, uptime.ClassStatus, "status 500, expected 2xx"}},
		{"204 is 2xx", "/code/204", nil, verdict{Status: uptime.StatusUp, Code: 204}},
		{"404 accepted by a list", "/code/404", &uptime.HTTPOptions{ExpectStatus: ranges(t, "200-299,404")},
			verdict{Status: uptime.StatusUp, Code: 404}},
		{"500 refused by a list", "/code/500", &uptime.HTTPOptions{ExpectStatus: ranges(t, "200-299,404")},
			verdict{uptime.StatusDown, 500, uptime.ClassStatus, "status 500, expected 200-299,404"}},
		{"2xx pattern", "/code/201", &uptime.HTTPOptions{ExpectStatus: ranges(t, "2xx")},
			verdict{Status: uptime.StatusUp, Code: 201}},
		{"5xx expected", "/code/503", &uptime.HTTPOptions{ExpectStatus: ranges(t, "5xx")},
			verdict{Status: uptime.StatusUp, Code: 503}},
		{"redirect followed", "/moved", nil, verdict{Status: uptime.StatusUp, Code: 200}},
		{"ten redirects followed", "/chain/10", nil, verdict{Status: uptime.StatusUp, Code: 200}},
		{"eleven redirects are too many", "/chain/11", nil,
			verdict{uptime.StatusDown, 302, uptime.ClassStatus, "more than 10 redirects"}},
		{"redirect loop", "/loop/a", nil,
			verdict{uptime.StatusDown, 302, uptime.ClassStatus, "redirect loop back to " + srv.URL + "/loop/a"}},
		{"redirect not followed is judged", "/moved", &uptime.HTTPOptions{FollowRedirects: no()},
			verdict{uptime.StatusDown, 301, uptime.ClassStatus, "status 301, expected 2xx"}},
		{"redirect not followed, 301 expected", "/moved", &uptime.HTTPOptions{FollowRedirects: no(), ExpectStatus: ranges(t, "301")},
			verdict{Status: uptime.StatusUp, Code: 301}},
		{"body contains", "/ok", &uptime.HTTPOptions{BodyContains: `"ok"`}, verdict{Status: uptime.StatusUp, Code: 200}},
		{"body lacks", "/ok", &uptime.HTTPOptions{BodyContains: "healthy"},
			verdict{uptime.StatusDown, 200, uptime.ClassAssertion, `body does not contain "healthy"`}},
		{"body not contains, absent", "/ok", &uptime.HTTPOptions{BodyNotContains: "error"},
			verdict{Status: uptime.StatusUp, Code: 200}},
		{"body not contains, present", "/ok", &uptime.HTTPOptions{BodyNotContains: "ok"},
			verdict{uptime.StatusDown, 200, uptime.ClassAssertion, `body contains "ok"`}},
		{"status judged before the body", "/code/500", &uptime.HTTPOptions{BodyContains: "x"},
			verdict{uptime.StatusDown, 500, uptime.ClassStatus, "status 500, expected 2xx"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := check(t, srv.URL+tc.path, tc.http)
			if diff := cmp.Diff(tc.want, verdictOf(r)); diff != "" {
				t.Errorf("result (-want +got):\n%s", diff)
			}
		})
	}
}

func TestHTTPRequestArrives(t *testing.T) {
	type seen struct {
		Method, Path, Body, UserAgent, Custom, Host string
	}
	got := make(chan seen, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- seen{r.Method, r.URL.RequestURI(), string(b), r.UserAgent(), r.Header.Get("X-Custom"), r.Host}
	}))
	defer srv.Close()

	r := check(t, srv.URL+"/hook?x=1", &uptime.HTTPOptions{
		Method:  "post",
		Headers: map[string]string{"X-Custom": "yes", "Host": "example.test"},
		Body:    `{"ping":true}`,
	})
	if r.Status != uptime.StatusUp {
		t.Fatalf("status %s: %s", r.Status, r.Error)
	}
	want := seen{"POST", "/hook?x=1", `{"ping":true}`, "lookout-test", "yes", "example.test"}
	if diff := cmp.Diff(want, <-got); diff != "" {
		t.Errorf("request (-want +got):\n%s", diff)
	}
}

func TestHTTPUserAgentOverridable(t *testing.T) {
	got := make(chan string, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) { got <- r.UserAgent() }))
	defer srv.Close()
	check(t, srv.URL, &uptime.HTTPOptions{Headers: map[string]string{"User-Agent": "mine"}})
	if ua := <-got; ua != "mine" {
		t.Errorf("user agent %q, want the target's own", ua)
	}
}

func TestHTTPDegradedLatency(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		time.Sleep(50 * time.Millisecond)
	}))
	defer srv.Close()
	r := check(t, srv.URL, nil, func(t *uptime.Target) { t.DegradedLatency = uptime.Duration(10 * time.Millisecond) })
	if r.Status != uptime.StatusDegraded || r.ErrorClass != uptime.ClassNone {
		t.Errorf("got %s/%s, want a degraded success", r.Status, r.ErrorClass)
	}
	r = check(t, srv.URL, nil, func(t *uptime.Target) { t.DegradedLatency = uptime.Duration(5 * time.Second) })
	if r.Status != uptime.StatusUp {
		t.Errorf("got %s, want up under the degraded latency", r.Status)
	}
}

// rawServer is tcpServer's address as an http URL.
func rawServer(t *testing.T, serve func(c net.Conn, done <-chan struct{})) string {
	t.Helper()
	return "http://" + tcpServer(t, serve)
}

// readRequest consumes the request head, so that a server's reply is not
// mistaken for a reaction to an unread request.
func readRequest(c net.Conn) {
	buf := make([]byte, 4096)
	var got []byte
	for !strings.Contains(string(got), "\r\n\r\n") {
		n, err := c.Read(buf)
		if err != nil {
			return
		}
		got = append(got, buf[:n]...)
	}
}

// trickle writes s one byte at a time, every interval, until done.
func trickle(c net.Conn, s string, every time.Duration, done <-chan struct{}) {
	for i := range len(s) {
		select {
		case <-done:
			return
		case <-time.After(every):
		}
		if _, err := c.Write([]byte{s[i]}); err != nil {
			return
		}
	}
	<-done
}

func TestHTTPHostileTargets(t *testing.T) {
	const okHead = "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n"
	tests := []struct {
		name      string
		serve     func(c net.Conn, done <-chan struct{})
		wantClass uptime.ErrorClass
		wantError string
	}{
		{"never answers", func(_ net.Conn, done <-chan struct{}) { <-done },
			uptime.ClassTimeout, "timed out waiting for the response"},
		{"head one byte a second", func(c net.Conn, done <-chan struct{}) {
			readRequest(c)
			trickle(c, okHead, time.Second/10, done)
		}, uptime.ClassTimeout, "timed out waiting for the response"},
		{"body one byte a second", func(c net.Conn, done <-chan struct{}) {
			readRequest(c)
			io.WriteString(c, okHead)
			trickle(c, strings.Repeat("x", 1000), time.Second/10, done)
		}, uptime.ClassTimeout, "timed out reading the body"},
		{"stalls mid-body", func(c net.Conn, done <-chan struct{}) {
			readRequest(c)
			io.WriteString(c, okHead+"partial")
			<-done
		}, uptime.ClassTimeout, "timed out reading the body"},
		{"closes mid-body", func(c net.Conn, _ <-chan struct{}) {
			readRequest(c)
			io.WriteString(c, okHead+"partial")
		}, uptime.ClassProtocol, "reading the body: connection closed unexpectedly: unexpected EOF"},
		{"closes mid-head", func(c net.Conn, _ <-chan struct{}) {
			readRequest(c)
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-")
		}, uptime.ClassProtocol, `malformed MIME header: missing colon: "Content-"`},
		{"closes without answering", func(c net.Conn, _ <-chan struct{}) {
			readRequest(c)
		}, uptime.ClassProtocol, "connection closed unexpectedly: EOF"},
		{"answers garbage", func(c net.Conn, _ <-chan struct{}) {
			readRequest(c)
			io.WriteString(c, "SSH-2.0-OpenSSH_9.6\r\n\r\n")
		}, uptime.ClassProtocol, `malformed HTTP response "SSH-2.0-OpenSSH_9.6"`},
		{"headers without end", func(c net.Conn, done <-chan struct{}) {
			readRequest(c)
			io.WriteString(c, "HTTP/1.1 200 OK\r\n")
			for {
				if _, err := io.WriteString(c, "X-Filler: "+strings.Repeat("a", 1000)+"\r\n"); err != nil {
					return
				}
			}
		}, uptime.ClassProtocol, "net/http: server response headers exceeded 65536 bytes; aborted"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			url := rawServer(t, tc.serve)
			r := check(t, url, nil, withTimeout(hangTimeout))
			if r.Status != uptime.StatusDown || r.ErrorClass != tc.wantClass || r.Error != tc.wantError {
				t.Errorf("got %s/%s %q, want down/%s %q", r.Status, r.ErrorClass, r.Error, tc.wantClass, tc.wantError)
			}
			if r.Duration > hangTimeout+hangSlack {
				t.Errorf("took %s, want at most the timeout (%s)", r.Duration, hangTimeout)
			}
		})
	}
}

func TestHTTPBodyTooLarge(t *testing.T) {
	const size = 100 << 20
	var written atomic.Int64
	chunk := make([]byte, 32<<10)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Has("length") {
			w.Header().Set("Content-Length", strconv.Itoa(size))
		}
		for sent := 0; sent < size; sent += len(chunk) {
			n, err := w.Write(chunk)
			written.Add(int64(n))
			if err != nil {
				return
			}
		}
	}))
	defer srv.Close()

	for _, query := range []string{"", "?length"} {
		t.Run("url"+query, func(t *testing.T) {
			written.Store(0)
			r := check(t, srv.URL+query, nil, withTimeout(5*time.Second))
			want := verdict{uptime.StatusDown, 200, uptime.ClassBodyTooLarge, "body larger than 1048576 bytes"}
			if diff := cmp.Diff(want, verdictOf(r)); diff != "" {
				t.Errorf("result (-want +got):\n%s", diff)
			}
			if r.Duration > time.Second {
				t.Errorf("took %s reading a 100 MiB body; it should stop at 1 MiB", r.Duration)
			}
			// The server's writes fill socket buffers, never the whole body.
			if n := written.Load(); n > 32<<20 {
				t.Errorf("the server got %d bytes written; the check should have hung up after 1 MiB", n)
			}
		})
	}
}

func TestHTTPBodyAtTheLimit(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		size, _ := strconv.Atoi(r.URL.Query().Get("size"))
		if r.URL.Query().Has("length") {
			w.Header().Set("Content-Length", strconv.Itoa(size))
		}
		w.Write(make([]byte, size-4))
		io.WriteString(w, "tail")
	}))
	defer srv.Close()
	for _, framing := range []string{"chunked", "length"} {
		for size, want := range map[int]uptime.ErrorClass{
			MaxBodyBytes - 1: uptime.ClassNone,
			MaxBodyBytes:     uptime.ClassNone,
			MaxBodyBytes + 1: uptime.ClassBodyTooLarge,
		} {
			t.Run(fmt.Sprintf("%s/%d", framing, size), func(t *testing.T) {
				r := check(t, fmt.Sprintf("%s/?size=%d&%s", srv.URL, size, framing), &uptime.HTTPOptions{BodyContains: "tail"})
				if r.ErrorClass != want {
					t.Errorf("got %s/%s %q, want class %q", r.Status, r.ErrorClass, r.Error, want)
				}
			})
		}
	}
}

func TestHTTPTLS(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshakes are expected
	srv.StartTLS()
	defer srv.Close()
	notAfter := srv.Certificate().NotAfter

	r := check(t, srv.URL, nil)
	if r.Status != uptime.StatusDown || r.ErrorClass != uptime.ClassTLS {
		t.Errorf("untrusted certificate: got %s/%s %q, want down/tls", r.Status, r.ErrorClass, r.Error)
	}
	if !r.CertExpiry.Equal(notAfter) {
		t.Errorf("untrusted certificate: cert expiry %v, want %v", r.CertExpiry, notAfter)
	}

	r = check(t, srv.URL, &uptime.HTTPOptions{TLSSkipVerify: true})
	if r.Status != uptime.StatusUp {
		t.Errorf("tls_skip_verify: got %s/%s %q, want up", r.Status, r.ErrorClass, r.Error)
	}
	if !r.CertExpiry.Equal(notAfter) {
		t.Errorf("tls_skip_verify: cert expiry %v, want %v", r.CertExpiry, notAfter)
	}

	// Plain HTTP spoken to a TLS port, and TLS to a plain one.
	plain := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer plain.Close()
	r = check(t, strings.Replace(plain.URL, "http:", "https:", 1), nil, withTimeout(hangTimeout))
	if r.ErrorClass != uptime.ClassTLS {
		t.Errorf("https to a plain server: got %s %q, want tls", r.ErrorClass, r.Error)
	}
	r = check(t, strings.Replace(srv.URL, "https:", "http:", 1), nil, withTimeout(hangTimeout))
	if r.Status != uptime.StatusDown || r.ErrorClass != uptime.ClassStatus || r.Code != 400 {
		t.Errorf("http to a TLS server: got %s/%s %d %q, want down/status 400", r.Status, r.ErrorClass, r.Code, r.Error)
	}
}

func TestHTTPRefused(t *testing.T) {
	r := check(t, "http://"+closedAddr(t)+"/", nil, withTimeout(hangTimeout))
	if r.Status != uptime.StatusDown || r.ErrorClass != uptime.ClassRefused {
		t.Errorf("got %s/%s %q, want down/refused", r.Status, r.ErrorClass, r.Error)
	}
	if !strings.Contains(r.Error, "connection refused") {
		t.Errorf("error %q does not say the connection was refused", r.Error)
	}
}

func TestHTTPUnresolvable(t *testing.T) {
	r := check(t, "http://nonexistent.invalid/", nil, withTimeout(2*time.Second))
	if r.ErrorClass == uptime.ClassTimeout {
		t.Skip("the resolver does not answer here: " + r.Error)
	}
	want := verdict{Status: uptime.StatusDown, Class: uptime.ClassDNS, Error: "lookup nonexistent.invalid: no such host"}
	if diff := cmp.Diff(want, verdictOf(r)); diff != "" {
		t.Errorf("result (-want +got):\n%s", diff)
	}
}

func TestHTTPErrorsHideSecrets(t *testing.T) {
	// A server that redirects to a URL carrying credentials, in a loop.
	var srvURL string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u := strings.Replace(srvURL, "http://", "http://user:s3cret@", 1)
		http.Redirect(w, r, u+"/?token=abc", http.StatusFound)
	}))
	defer srv.Close()
	srvURL = srv.URL

	urls := map[string]string{
		"refused":       "http://user:s3cret@" + closedAddr(t) + "/?token=abc",
		"redirect loop": strings.Replace(srv.URL, "http://", "http://user:s3cret@", 1) + "/?token=abc",
	}
	for name, url := range urls {
		t.Run(name, func(t *testing.T) {
			r := check(t, url, nil, withTimeout(hangTimeout))
			if r.Status != uptime.StatusDown || r.Error == "" {
				t.Fatalf("got %s %q, want a failure", r.Status, r.Error)
			}
			for _, secret := range []string{"s3cret", "abc"} {
				if strings.Contains(r.Error, secret) {
					t.Errorf("error %q shows the secret %q", r.Error, secret)
				}
			}
			b, _ := json.Marshal(r)
			if strings.Contains(string(b), "s3cret") {
				t.Errorf("result %s shows the password", b)
			}
		})
	}
}

func TestHTTPCheckCancelled(t *testing.T) {
	url := "http://" + silentAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	target := uptime.Target{Name: "t", Kind: "http", URL: url}
	target.Normalize()
	r := New(Options{}).Check(ctx, target)
	if r.Status != uptime.StatusUnknown || r.ErrorClass != uptime.ClassInternal {
		t.Errorf("a check cancelled by Lookout: got %s/%s %q, want unknown/internal", r.Status, r.ErrorClass, r.Error)
	}
}

func problem(field, problem string) uptime.FieldError {
	return uptime.FieldError{Field: field, Problem: problem}
}

func TestHTTPValidate(t *testing.T) {
	tests := []struct {
		name string
		json string
		want []uptime.FieldError // nil: valid
	}{
		{"minimal", `{"url":"http://example.com"}`, nil},
		{"full", `{"url":"https://user:pw@example.com:8443/health?x=1","http":{"method":"PROPFIND",
			"headers":{"Authorization":"Bearer x","X-Trace":"1"},"expect_status":"200-299,404",
			"health_format":"auto","body_contains":"ok","follow_redirects":false,"tls_skip_verify":true}}`, nil},
		{"missing url is the shared validator's", `{"url":""}`, nil},
		{"relative url", `{"url":"/health"}`,
			[]uptime.FieldError{problem("url", "must be an absolute http:// or https:// URL")}},
		{"other scheme", `{"url":"ftp://example.com/"}`,
			[]uptime.FieldError{problem("url", "must be an absolute http:// or https:// URL")}},
		{"host:port", `{"url":"example.com:80"}`,
			[]uptime.FieldError{problem("url", "must be an absolute http:// or https:// URL")}},
		{"no host", `{"url":"http://:8080/x"}`, []uptime.FieldError{problem("url", "must name a host")}},
		{"unparsable", `{"url":"http://exa mple.com/%zz"}`, []uptime.FieldError{problem("url", "is not a valid URL")}},
		{"port out of range", `{"url":"http://example.com:70000/"}`, []uptime.FieldError{problem("url", "has an invalid port")}},
		{"bad method", `{"url":"http://x","http":{"method":"GET /"}}`,
			[]uptime.FieldError{problem("http.method", `"GET /" is not an HTTP method`)}},
		{"bad header name", `{"url":"http://x","http":{"headers":{"X Bad":"1"}}}`,
			[]uptime.FieldError{problem("http.headers", `"X Bad" is not a valid header name`)}},
		{"header injection", `{"url":"http://x","http":{"headers":{"X-A":"1\r\nX-B: 2"}}}`,
			[]uptime.FieldError{problem("http.headers", `the value of "X-A" must not contain line breaks or NUL`)}},
		{"health format", `{"url":"http://x","http":{"health_format":"spring"}}`,
			[]uptime.FieldError{problem("http.health_format", `"spring" is not a health format (want auto or none)`)}},
		{"long assertion", `{"url":"http://x","http":{"body_contains":"` + strings.Repeat("a", 4097) + `"}}`,
			[]uptime.FieldError{problem("http.body_contains", "must be at most 4096 bytes")}},
		{"long negative assertion", `{"url":"http://x","http":{"body_not_contains":"` + strings.Repeat("a", 4097) + `"}}`,
			[]uptime.FieldError{problem("http.body_not_contains", "must be at most 4096 bytes")}},
		{"several at once", `{"url":"mailto:a@b","http":{"method":"A B","health_format":"x"}}`,
			[]uptime.FieldError{
				problem("url", "must be an absolute http:// or https:// URL"),
				problem("http.method", `"A B" is not an HTTP method`),
				problem("http.health_format", `"x" is not a health format (want auto or none)`),
			}},
	}
	p := New(Options{})
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var target uptime.Target
			if err := json.Unmarshal([]byte(tc.json), &target); err != nil {
				t.Fatal(err)
			}
			target.Normalize()
			err := p.Validate(&target)
			var got []uptime.FieldError
			if err != nil {
				ve, ok := err.(*uptime.ValidationError)
				if !ok {
					t.Fatalf("got %T %v, want a *uptime.ValidationError", err, err)
				}
				got = ve.Errors
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
		})
	}
}

func TestHTTPValidateStatusRanges(t *testing.T) {
	// The JSON decoder refuses bad ranges; a target built in code is checked again.
	target := uptime.Target{Name: "t", Kind: "http", URL: "http://x",
		HTTP: &uptime.HTTPOptions{ExpectStatus: uptime.StatusRanges{{Lo: 200, Hi: 299}, {Lo: 300, Hi: 200}, {Lo: 0, Hi: 999}}}}
	err := New(Options{}).Validate(&target)
	want := "invalid input: http.expect_status: 300-200 is not a range of HTTP status codes (100-599); " +
		"http.expect_status: 0-999 is not a range of HTTP status codes (100-599)"
	if err == nil || err.Error() != want {
		t.Errorf("got %v, want %s", err, want)
	}
}
