package probe

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"syscall"

	"github.com/lookout/lookout/internal/uptime"
)

// classify maps an error from a network client (net, crypto/tls, net/http,
// or a driver built on them) to one of the uptime.ErrorClass values, the
// fixed vocabulary stored and shown as error_class, and a short text
// fit to store: at most uptime.MaxErrorLen bytes, with every URL in it
// redacted and the request URL of a *url.Error left out.
//
// It matches error types and sentinel values only. Kinds classify the
// errors of their own protocol first (an SQL error, a DNS answer that does
// not match) and hand the rest here. The rules, first match wins:
//
//   - context.DeadlineExceeded, or any net.Error whose Timeout() is true but
//     a DNS error: timeout.
//   - *net.DNSError: dns (a lookup that times out on its own is dns too).
//   - certificate and handshake errors of crypto/tls and crypto/x509: tls.
//   - ECONNREFUSED, and EHOSTUNREACH / ENETUNREACH (nothing to connect to): refused.
//   - Lookout's own trouble (context.Canceled, out of file descriptors or
//     buffers): internal. fail records those as unknown, not down.
//   - everything else, EOF, resets and malformed responses included: protocol,
//     since the error came from talking to the target.
func classify(err error) (uptime.ErrorClass, string) {
	if err == nil {
		return uptime.ClassNone, ""
	}
	text := errText(err)
	var (
		dnsErr *net.DNSError
		netErr net.Error
	)
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return uptime.ClassTimeout, "timed out"
	case errors.As(err, &dnsErr):
		return uptime.ClassDNS, short(dnsText(dnsErr))
	case isTLSError(err):
		return uptime.ClassTLS, text
	case errors.Is(err, syscall.ECONNREFUSED):
		return uptime.ClassRefused, text
	case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		return uptime.ClassRefused, text
	case errors.As(err, &netErr) && netErr.Timeout():
		return uptime.ClassTimeout, text
	case errors.Is(err, context.Canceled):
		return uptime.ClassInternal, "check cancelled"
	case errors.Is(err, syscall.EMFILE), errors.Is(err, syscall.ENFILE),
		errors.Is(err, syscall.ENOBUFS), errors.Is(err, syscall.ENOMEM):
		return uptime.ClassInternal, text
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return uptime.ClassProtocol, short("connection closed unexpectedly: " + text)
	default:
		// ECONNRESET, EPIPE, textproto.ProtocolError, net/http's malformed
		// response errors and anything unrecognised from the wire.
		return uptime.ClassProtocol, text
	}
}

// fail records err on r through classify. ctx is the check's context: once
// it has ended, whatever error the client reported is a consequence of that,
// so ctx's own error is recorded instead: a timeout when the deadline
// passed, and unknown when Lookout cancelled the check (it is stopping). A
// check that could not tell anything about the target (cancelled, Lookout
// out of file descriptors) is recorded as unknown, never as the target's
// failure: unknown counts neither way in the threshold rule and is left
// out of uptime. step, when set, says what the check was doing: "timed
// out reading the body", "reading the body: connection reset".
func fail(ctx context.Context, r *uptime.Result, err error, step string) {
	if ctxErr := ctx.Err(); ctxErr != nil {
		err = ctxErr
	}
	class, text := classify(err)
	switch {
	case step == "":
	case class == uptime.ClassTimeout:
		text = "timed out " + step
	default:
		text = step + ": " + text
	}
	r.Fail(class, "%s", text)
}

// failServer records err, the error of a database or RPC client: an error
// the server itself reported, of the driver's type E, gets class and the
// server's own text after prefix; anything else goes through fail with step,
// and so does everything once ctx has ended, when the server's error is only
// a consequence of that.
func failServer[E error](ctx context.Context, r *uptime.Result, err error, class uptime.ErrorClass, prefix, step string) {
	var serverErr E
	if ctx.Err() == nil && errors.As(err, &serverErr) {
		r.Fail(class, "%s", short(prefix+serverErr.Error()))
		return
	}
	fail(ctx, r, err, step)
}

// isTLSError reports whether err comes from a TLS handshake or from
// verifying the peer's certificate.
func isTLSError(err error) bool {
	var (
		verify    *tls.CertificateVerificationError
		record    tls.RecordHeaderError
		alert     tls.AlertError
		ech       *tls.ECHRejectionError
		unknownCA x509.UnknownAuthorityError
		hostname  x509.HostnameError
		invalid   x509.CertificateInvalidError
		roots     x509.SystemRootsError
		critical  x509.UnhandledCriticalExtension
		insecure  x509.InsecureAlgorithmError
		op        *net.OpError
	)
	switch {
	case errors.Is(err, http.ErrSchemeMismatch):
		// net/http's name for the tls.RecordHeaderError of a plain-HTTP answer.
		return true
	case errors.As(err, &verify), errors.As(err, &record), errors.As(err, &alert),
		errors.As(err, &ech), errors.As(err, &unknownCA), errors.As(err, &hostname),
		errors.As(err, &invalid), errors.As(err, &roots), errors.As(err, &critical),
		errors.As(err, &insecure):
		return true
	case errors.As(err, &op):
		// crypto/tls reports alerts, sent or received, as a *net.OpError
		// with these operations around an unexported alert type.
		return op.Op == "remote error" || op.Op == "local error"
	}
	return false
}

// errText is err's message without the request URL that *url.Error puts
// in front, with any URL left in it redacted, cut to uptime.MaxErrorLen.
func errText(err error) string {
	var ue *url.Error
	for errors.As(err, &ue) {
		err = ue.Err
	}
	// net/http's wrapper of read errors adds words, not meaning.
	return short(strings.TrimPrefix(err.Error(), "net/http: HTTP/1.x transport connection broken: "))
}

func dnsText(e *net.DNSError) string {
	if e.IsNotFound {
		return "lookup " + e.Name + ": no such host"
	}
	return "lookup " + e.Name + ": " + e.Err
}

// urlInText finds URLs (and DSNs) inside a free-form message.
var urlInText = regexp.MustCompile(`[A-Za-z][A-Za-z0-9+.-]*://[^\s"'<>]+`)

// redactText hides the secrets of every URL inside s.
func redactText(s string) string {
	return urlInText.ReplaceAllStringFunc(s, uptime.RedactURL)
}

// short redacts s and cuts it to uptime.MaxErrorLen bytes. Redaction comes
// first so that a cut never leaves half a password behind.
func short(s string) string {
	return uptime.Truncate(redactText(s), uptime.MaxErrorLen)
}
