package probe

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/lookout/lookout/internal/probe/healthdoc"
	"github.com/lookout/lookout/internal/uptime"
)

// Limits of an HTTP check.
const (
	// MaxBodyBytes is how much of a response body is read; a longer body
	// fails the check with class body_too_large. Never more than this plus
	// one byte is read.
	MaxBodyBytes = 1 << 20
	// MaxRedirects is how many redirects a check follows.
	MaxRedirects = 10
	// maxResponseHeaderBytes caps the response headers.
	maxResponseHeaderBytes = 64 << 10
	// maxAssertionBytes caps body_contains and body_not_contains.
	maxAssertionBytes = 4 << 10
)

func init() {
	Register(Kind{Name: "http", Validate: validateHTTP, Check: checkHTTP})
}

// Two transports serve every http target: one verifies certificates, the
// other does not (tls_skip_verify). They keep connections alive between
// checks, as Gatus and Uptime Kuma do: a fresh connection per check costs
// more than twice the CPU (measured with lookout bench: about 480 µs against
// 200 µs a check all-in, the target's side included) and churns ephemeral
// ports at thousands of checks a second. So that a check still sees what a
// new visitor would (moved DNS, a renewed certificate) within minutes, idle
// connections are closed every maxConnAge, and each target then dials anew
// at its next check, spread over its interval by the scheduler's jitter.
var (
	verifyingTransport = newHTTPTransport(false)
	insecureTransport  = newHTTPTransport(true)
)

// maxConnAge bounds how long a kept-alive connection serves checks.
const maxConnAge = 5 * time.Minute

// lastIdleClose is when the transports' idle connections were last closed,
// in Unix nanoseconds.
var lastIdleClose atomic.Int64

// ageConnections closes every idle connection once per maxConnAge. It runs
// on the check path rather than in a goroutine of its own, so a Prober
// needs no lifecycle; the cost is one atomic load per check.
func ageConnections(now time.Time) {
	last := lastIdleClose.Load()
	if now.UnixNano()-last < int64(maxConnAge) || !lastIdleClose.CompareAndSwap(last, now.UnixNano()) {
		return
	}
	if last != 0 {
		verifyingTransport.CloseIdleConnections()
		insecureTransport.CloseIdleConnections()
	}
}

// newHTTPTransport returns a transport for checks. It ignores the proxy
// environment variables: a check measures the path from Lookout to the
// target, and a proxy picked up from the environment would silently measure
// something else. It speaks HTTP/1.1, which every server and load balancer
// answers. No transport-level timeouts are set: the check's context bounds
// DNS, connect, TLS, headers and body alike.
func newHTTPTransport(skipVerify bool) *http.Transport {
	dialer := &net.Dialer{KeepAlive: -1} // idle connections are aged out instead
	var protocols http.Protocols
	protocols.SetHTTP1(true)
	return &http.Transport{
		Proxy:           nil,
		DialContext:     dialer.DialContext,
		TLSClientConfig: &tls.Config{InsecureSkipVerify: skipVerify},
		// Many targets often share one host (endpoints behind one load
		// balancer); a few idle connections per host serve them all.
		MaxIdleConns:           4096,
		MaxIdleConnsPerHost:    16,
		IdleConnTimeout:        90 * time.Second,
		MaxResponseHeaderBytes: maxResponseHeaderBytes,
		Protocols:              &protocols,
	}
}

// validateHTTP checks the url and the http options of an http target. An
// empty url is left to uptime.Target.Validate, which reports it.
func validateHTTP(t *uptime.Target) error {
	var v uptime.ValidationError
	if strings.TrimSpace(t.URL) != "" {
		if problem := checkHTTPURL(t.URL); problem != "" {
			v.Add("url", problem)
		}
	}
	h := t.HTTP
	if h == nil {
		return v.Err()
	}
	if h.Method != "" && !validToken(h.Method) {
		v.Add("http.method", fmt.Sprintf("%q is not an HTTP method", h.Method))
	}
	for name, value := range h.Headers {
		if !validToken(name) {
			v.Add("http.headers", fmt.Sprintf("%q is not a valid header name", name))
		}
		if strings.ContainsAny(value, "\r\n\x00") {
			v.Add("http.headers", fmt.Sprintf("the value of %q must not contain line breaks or NUL", name))
		}
	}
	switch h.HealthFormat {
	case "", "auto", "none":
	default:
		v.Add("http.health_format", fmt.Sprintf("%q is not a health format (want auto or none)", h.HealthFormat))
	}
	for _, r := range h.ExpectStatus {
		if r.Lo < 100 || r.Hi > 599 || r.Lo > r.Hi {
			v.Add("http.expect_status", fmt.Sprintf("%d-%d is not a range of HTTP status codes (100-599)", r.Lo, r.Hi))
		}
	}
	if len(h.BodyContains) > maxAssertionBytes {
		v.Add("http.body_contains", fmt.Sprintf("must be at most %d bytes", maxAssertionBytes))
	}
	if len(h.BodyNotContains) > maxAssertionBytes {
		v.Add("http.body_not_contains", fmt.Sprintf("must be at most %d bytes", maxAssertionBytes))
	}
	return v.Err()
}

// checkHTTPURL returns what is wrong with an http target's URL, or "".
// Problems never quote the URL, which may hold a password.
func checkHTTPURL(raw string) string {
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return "is not a valid URL"
	case u.Scheme != "http" && u.Scheme != "https":
		return "must be an absolute http:// or https:// URL"
	case u.Hostname() == "":
		return "must name a host"
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return "has an invalid port"
		}
	}
	return ""
}

// validToken reports whether s is an RFC 9110 token, the syntax of methods
// and header names.
func validToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// Phases of an HTTP check, to say where a timeout struck.
const (
	phaseConnect int32 = iota
	phaseDNS
	phaseTLS
	phaseWait
	phaseBody
)

var phaseNames = [...]string{
	phaseConnect: "connecting",
	phaseDNS:     "resolving the host name",
	phaseTLS:     "in the TLS handshake",
	phaseWait:    "waiting for the response",
	phaseBody:    "reading the body",
}

// errRedirectLoop and errTooManyRedirects stop a chain of redirects.
var (
	errRedirectLoop     = errors.New("redirect loop")
	errTooManyRedirects = fmt.Errorf("more than %d redirects", MaxRedirects)
)

// checkHTTP runs one http check: it sends the request, follows redirects
// unless told not to, reads up to MaxBodyBytes of the final response and
// judges, in order, its status, the body's size, and the body assertions.
//
// A redirect loop or a chain longer than MaxRedirects fails with class
// status and the last 3xx code: the server answered, but never with a
// final status.
func checkHTTP(ctx context.Context, p *Prober, t *uptime.Target, r *uptime.Result) {
	ageConnections(p.now())
	h := t.HTTP
	if h == nil {
		h = &uptime.HTTPOptions{}
	}
	method := h.Method
	if method == "" {
		method = http.MethodGet
	}

	var phase atomic.Int32
	trace := &httptrace.ClientTrace{
		DNSStart:          func(httptrace.DNSStartInfo) { phase.Store(phaseDNS) },
		ConnectStart:      func(string, string) { phase.Store(phaseConnect) },
		TLSHandshakeStart: func() { phase.Store(phaseTLS) },
		GotConn:           func(httptrace.GotConnInfo) { phase.Store(phaseWait) },
	}
	ctx = httptrace.WithClientTrace(ctx, trace)

	var body io.Reader
	if h.Body != "" {
		body = strings.NewReader(h.Body)
	}
	req, err := http.NewRequestWithContext(ctx, method, t.URL, body)
	if err != nil {
		// The validator accepts only URLs and methods NewRequest takes.
		r.Fail(uptime.ClassInternal, "build request: %s", errText(err))
		return
	}
	req.Header.Set("User-Agent", p.userAgent)
	for name, value := range h.Headers {
		if strings.EqualFold(name, "Host") {
			req.Host = value
			continue
		}
		req.Header.Set(name, value)
	}

	var (
		lastRedirect int
		certs        certExpiry
	)
	transport := verifyingTransport
	if h.TLSSkipVerify {
		transport = insecureTransport
	}
	client := &http.Client{
		Transport: transport,
		CheckRedirect: func(next *http.Request, via []*http.Request) error {
			if prev := next.Response; prev != nil {
				lastRedirect = prev.StatusCode
				certs.add(prev.TLS)
			}
			if !h.Follow() {
				return http.ErrUseLastResponse
			}
			if len(via) > MaxRedirects {
				return errTooManyRedirects
			}
			for _, v := range via {
				if v.Method == next.Method && v.URL.String() == next.URL.String() {
					return fmt.Errorf("%w back to %s", errRedirectLoop, uptime.RedactURL(next.URL.String()))
				}
			}
			return nil
		},
	}

	resp, err := client.Do(req)
	if err != nil {
		r.CertExpiry = certs.earliest
		switch {
		case errors.Is(err, errRedirectLoop), errors.Is(err, errTooManyRedirects):
			r.Code = lastRedirect
			r.Fail(uptime.ClassStatus, "%s", errText(err))
		default:
			var verify *tls.CertificateVerificationError
			if errors.As(err, &verify) && len(verify.UnverifiedCertificates) > 0 {
				// Record the expiry even of a certificate that fails: an
				// expired one is the commonest reason.
				r.CertExpiry = verify.UnverifiedCertificates[0].NotAfter
			}
			fail(ctx, r, err, timeoutPhase(ctx, &phase))
		}
		return
	}
	defer resp.Body.Close()
	certs.add(resp.TLS)
	r.CertExpiry = certs.earliest
	r.Code = resp.StatusCode

	phase.Store(phaseBody)
	payload, tooLarge, err := readBody(resp)
	if err != nil {
		fail(ctx, r, err, "reading the body")
		return
	}

	expect := h.ExpectStatus
	switch {
	case !expect.Contains(resp.StatusCode):
		want := expect.String()
		if len(expect) == 0 {
			want = "2xx"
		}
		r.Fail(uptime.ClassStatus, "status %d, expected %s", resp.StatusCode, want)
	case tooLarge:
		r.Fail(uptime.ClassBodyTooLarge, "body larger than %d bytes", MaxBodyBytes)
		return
	case h.BodyContains != "" && !bytes.Contains(payload, []byte(h.BodyContains)):
		r.Fail(uptime.ClassAssertion, "body does not contain %q", h.BodyContains)
	case h.BodyNotContains != "" && bytes.Contains(payload, []byte(h.BodyNotContains)):
		r.Fail(uptime.ClassAssertion, "body contains %q", h.BodyNotContains)
	default:
		r.Status = uptime.StatusUp
	}
	if tooLarge {
		return
	}
	if h.HealthFormat != "none" {
		judgeHealth(resp.Header.Get("Content-Type"), payload, r)
	}
}

// judgeHealth reads a health document in the body, records its
// components on r, and combines its verdict with the HTTP one, worst wins: a
// 2xx whose document says down is a failed check of class assertion, and a
// warn document makes a success degraded. A success whose body presents
// itself as a health document but does not parse is degraded, class
// assertion, with the parse error: the service meant to say something, and
// it was not that all is well. It never turns a failure into a success, so
// a 503 whose body says up stays down.
func judgeHealth(contentType string, body []byte, r *uptime.Result) {
	doc, ok := healthdoc.Parse(contentType, body)
	if !ok {
		if !r.Status.OK() {
			return
		}
		if err := healthdoc.Malformed(contentType, body); err != nil {
			r.Status = uptime.Worst(r.Status, uptime.StatusDegraded)
			r.ErrorClass = uptime.ClassAssertion
			r.Error = uptime.Truncate("health document does not parse: "+err.Error(), uptime.MaxErrorLen)
		}
		return
	}
	r.Components = doc.Components
	if !r.Status.OK() {
		return
	}
	switch doc.Status {
	case uptime.StatusDown:
		var failing []string
		for _, c := range doc.Components {
			if c.Status == uptime.StatusDown {
				failing = append(failing, c.Name)
			}
		}
		if len(failing) == 0 {
			r.Fail(uptime.ClassAssertion, "health document says down")
			return
		}
		if len(failing) > 5 {
			failing = append(failing[:5], fmt.Sprintf("and %d more", len(failing)-5))
		}
		r.Fail(uptime.ClassAssertion, "health document says down: %s", strings.Join(failing, ", "))
	case uptime.StatusDegraded:
		r.Status = uptime.Worst(r.Status, uptime.StatusDegraded)
	}
}

// readBody reads at most MaxBodyBytes of resp's body, and reports whether
// there was more. A body announced as too large is not read at all, and
// never more than MaxBodyBytes+1 bytes are read or buffered.
func readBody(resp *http.Response) (body []byte, tooLarge bool, err error) {
	const limit = MaxBodyBytes + 1
	if resp.ContentLength > MaxBodyBytes {
		return nil, true, nil
	}
	size := 4 << 10
	if resp.ContentLength >= 0 {
		size = int(resp.ContentLength) + 1 // room to see the EOF
	}
	buf := make([]byte, 0, size)
	for {
		if len(buf) == cap(buf) {
			if len(buf) == limit {
				return nil, true, nil
			}
			grown := make([]byte, len(buf), min(2*cap(buf), limit))
			copy(grown, buf)
			buf = grown
		}
		n, err := resp.Body.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if errors.Is(err, io.EOF) {
			// The last read may bring the byte too many together with EOF.
			if len(buf) > MaxBodyBytes {
				return nil, true, nil
			}
			return buf, false, nil
		}
		if err != nil {
			return nil, false, err
		}
	}
}

// timeoutPhase names the phase a timed-out check was in, or "" when the
// check has not timed out.
func timeoutPhase(ctx context.Context, phase *atomic.Int32) string {
	if !errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return ""
	}
	return phaseNames[phase.Load()]
}

// certExpiry keeps the earliest leaf-certificate expiry of the https
// responses of one check (the redirects' included).
type certExpiry struct{ earliest time.Time }

func (c *certExpiry) add(state *tls.ConnectionState) {
	if state == nil || len(state.PeerCertificates) == 0 {
		return
	}
	leaf := state.PeerCertificates[0]
	if c.earliest.IsZero() || leaf.NotAfter.Before(c.earliest) {
		c.earliest = leaf.NotAfter
	}
}
