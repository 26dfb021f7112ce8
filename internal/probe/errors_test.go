package probe

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/textproto"
	"net/url"
	"os"
	"strings"
	"syscall"
	"testing"

	"github.com/lookout/lookout/internal/uptime"
)

func dial(err error) error {
	return &net.OpError{Op: "dial", Net: "tcp", Addr: &net.TCPAddr{IP: net.IPv4(10, 0, 0, 1), Port: 443},
		Err: os.NewSyscallError("connect", err)}
}

func inURLError(err error) error {
	return &url.Error{Op: "Get", URL: "https://admin:hunter2@example.com/health?token=abc", Err: err}
}

func TestClassify(t *testing.T) {
	tests := []struct {
		name  string
		err   error
		class uptime.ErrorClass
		text  string
	}{
		{"nil", nil, uptime.ClassNone, ""},
		{"deadline", inURLError(context.DeadlineExceeded), uptime.ClassTimeout, "timed out"},
		{"deadline wrapped", fmt.Errorf("read: %w", context.DeadlineExceeded), uptime.ClassTimeout, "timed out"},
		{"net timeout", inURLError(&net.OpError{Op: "read", Net: "tcp", Err: os.ErrDeadlineExceeded}),
			uptime.ClassTimeout, "read tcp: i/o timeout"},
		{"no such host", inURLError(&net.OpError{Op: "dial", Net: "tcp",
			Err: &net.DNSError{Err: "no such host", Name: "db.internal", Server: "10.0.0.53:53", IsNotFound: true}}),
			uptime.ClassDNS, "lookup db.internal: no such host"},
		{"dns server failure", &net.DNSError{Err: "server misbehaving", Name: "db.internal", IsTemporary: true},
			uptime.ClassDNS, "lookup db.internal: server misbehaving"},
		{"dns timeout is dns", &net.DNSError{Err: "i/o timeout", Name: "db.internal", IsTimeout: true},
			uptime.ClassDNS, "lookup db.internal: i/o timeout"},
		{"refused", inURLError(dial(syscall.ECONNREFUSED)), uptime.ClassRefused,
			"dial tcp 10.0.0.1:443: connect: connection refused"},
		{"host unreachable", dial(syscall.EHOSTUNREACH), uptime.ClassRefused,
			"dial tcp 10.0.0.1:443: connect: no route to host"},
		{"network unreachable", dial(syscall.ENETUNREACH), uptime.ClassRefused,
			"dial tcp 10.0.0.1:443: connect: network is unreachable"},
		{"unknown authority", inURLError(&tls.CertificateVerificationError{Err: x509.UnknownAuthorityError{}}),
			uptime.ClassTLS, "tls: failed to verify certificate: x509: certificate signed by unknown authority"},
		{"bare x509 error", x509.CertificateInvalidError{Reason: x509.Expired, Detail: "expired yesterday"},
			uptime.ClassTLS, "x509: certificate has expired or is not yet valid: expired yesterday"},
		{"hostname", x509.HostnameError{Certificate: &x509.Certificate{}, Host: "example.com"},
			uptime.ClassTLS, "x509: certificate is not valid for any names, but wanted to match example.com"},
		{"not tls", tls.RecordHeaderError{Msg: "first record does not look like a TLS handshake"},
			uptime.ClassTLS, "tls: first record does not look like a TLS handshake"},
		{"plain http on a tls port", inURLError(http.ErrSchemeMismatch),
			uptime.ClassTLS, "http: server gave HTTP response to HTTPS client"},
		{"alert received", &net.OpError{Op: "remote error", Err: tls.AlertError(40)},
			uptime.ClassTLS, "remote error: tls: handshake failure"},
		{"reset", inURLError(&net.OpError{Op: "read", Net: "tcp", Err: os.NewSyscallError("read", syscall.ECONNRESET)}),
			uptime.ClassProtocol, "read tcp: read: connection reset by peer"},
		{"unexpected eof", fmt.Errorf("reading body: %w", io.ErrUnexpectedEOF),
			uptime.ClassProtocol, "connection closed unexpectedly: reading body: unexpected EOF"},
		{"eof", inURLError(io.EOF), uptime.ClassProtocol, "connection closed unexpectedly: EOF"},
		{"malformed header", inURLError(textproto.ProtocolError("malformed MIME header line: x")),
			uptime.ClassProtocol, "malformed MIME header line: x"},
		{"unrecognised", errors.New("something odd"), uptime.ClassProtocol, "something odd"},
		{"cancelled", inURLError(context.Canceled), uptime.ClassInternal, "check cancelled"},
		{"out of files", dial(syscall.EMFILE), uptime.ClassInternal,
			"dial tcp 10.0.0.1:443: connect: too many open files"},
		{"url in the message", inURLError(fmt.Errorf(`failed to parse Location header "https://u:pw@x/?token=t&a=b": bad`)),
			uptime.ClassProtocol, `failed to parse Location header "https://u:***@x/?a=b&token=***": bad`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			class, text := classify(tc.err)
			if class != tc.class || text != tc.text {
				t.Errorf("classify(%v) = %s %q, want %s %q", tc.err, class, text, tc.class, tc.text)
			}
			for _, secret := range []string{"hunter2", "pw@", "token=t", "token=abc"} {
				if strings.Contains(text, secret) {
					t.Errorf("text %q shows %q", text, secret)
				}
			}
		})
	}
}

func TestClassifyShortensText(t *testing.T) {
	long := "https://u:topsecret@example.com/" + strings.Repeat("a", 500)
	_, text := classify(errors.New("failed: " + long))
	if len(text) > uptime.MaxErrorLen {
		t.Errorf("text is %d bytes, want at most %d", len(text), uptime.MaxErrorLen)
	}
	if strings.Contains(text, "topsecret") || !strings.HasPrefix(text, "failed: https://u:***@example.com/aaa") {
		t.Errorf("text %q: want the URL redacted before the cut", text)
	}
}

func TestFail(t *testing.T) {
	expired, cancel := context.WithTimeout(context.Background(), 0)
	defer cancel()
	stopped, stop := context.WithCancel(context.Background())
	stop()
	live := context.Background()

	tests := []struct {
		name   string
		ctx    context.Context
		err    error
		step   string
		status uptime.Status
		class  uptime.ErrorClass
		text   string
	}{
		{"refused", live, dial(syscall.ECONNREFUSED), "",
			uptime.StatusDown, uptime.ClassRefused, "dial tcp 10.0.0.1:443: connect: connection refused"},
		{"step named", live, io.ErrUnexpectedEOF, "reading the body",
			uptime.StatusDown, uptime.ClassProtocol, "reading the body: connection closed unexpectedly: unexpected EOF"},
		{"a past deadline makes any error a timeout", expired, io.ErrUnexpectedEOF, "reading the body",
			uptime.StatusDown, uptime.ClassTimeout, "timed out reading the body"},
		{"a timeout without step", expired, context.DeadlineExceeded, "",
			uptime.StatusDown, uptime.ClassTimeout, "timed out"},
		{"cancelled by Lookout is unknown", stopped, inURLError(context.Canceled), "",
			uptime.StatusUnknown, uptime.ClassInternal, "check cancelled"},
		{"cancelled by Lookout makes any error unknown", stopped, io.ErrUnexpectedEOF, "reading the body",
			uptime.StatusUnknown, uptime.ClassInternal, "reading the body: check cancelled"},
		{"Lookout's own trouble is unknown", live, dial(syscall.EMFILE), "",
			uptime.StatusUnknown, uptime.ClassInternal, "dial tcp 10.0.0.1:443: connect: too many open files"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var r uptime.Result
			fail(tc.ctx, &r, tc.err, tc.step)
			if r.Status != tc.status || r.ErrorClass != tc.class || r.Error != tc.text {
				t.Errorf("got %s/%s %q, want %s/%s %q", r.Status, r.ErrorClass, r.Error, tc.status, tc.class, tc.text)
			}
		})
	}
}
