package probe

import (
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/lookout/lookout/internal/uptime"
)

// tlsServer serves chain (leaf first) on loopback: it completes handshakes
// and reads until the client leaves. It returns the address.
func tlsServer(t *testing.T, chain ...*testCert) string {
	t.Helper()
	served := tls.Certificate{PrivateKey: chain[0].key, Leaf: chain[0].cert}
	for _, c := range chain {
		served.Certificate = append(served.Certificate, c.cert.Raw)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{served}})
	if err != nil {
		t.Fatal(err)
	}
	return serveConns(t, ln, func(c net.Conn, _ <-chan struct{}) {
		c.SetDeadline(time.Now().Add(10 * time.Second))
		io.Copy(io.Discard, c)
	})
}

func TestValidateTLS(t *testing.T) {
	tests := []struct {
		name string
		url  string
		opts *uptime.TLSOptions
		want []uptime.FieldError // nil: valid
	}{
		{"host and port", "example.com:443", nil, nil},
		{"options", "10.0.0.1:8443", &uptime.TLSOptions{ServerName: "api.example.com", SkipVerify: true}, nil},
		{"empty url is left to the target", "", nil, nil},
		{"a URL", "https://example.com", nil, []uptime.FieldError{{Field: "url", Problem: "must be host:port, such as db.internal:5432 or [2001:db8::1]:443, not a URL"}}},
		{"no port", "example.com", nil, []uptime.FieldError{{Field: "url", Problem: "must be host:port, such as db.internal:5432 or [2001:db8::1]:443"}}},
		{"bad server name", "example.com:443", &uptime.TLSOptions{ServerName: "api example"}, []uptime.FieldError{{Field: "tls.server_name", Problem: "must be a host name, such as api.example.com, or an IP address"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := validateTLS(&uptime.Target{Kind: "tls", URL: tt.url, TLS: tt.opts})
			assertFieldErrors(t, err, tt.want)
		})
	}
}

func TestTLSCheck(t *testing.T) {
	loopback := []net.IP{net.IPv4(127, 0, 0, 1)}
	ca := issue(t, certSpec{cn: "Lookout Test CA", notBefore: -day, notAfter: 3650 * day, ca: true}, nil)
	inter := issue(t, certSpec{cn: "Lookout Test Intermediate", notBefore: -day, notAfter: 5*day + time.Hour, ca: true}, ca)
	good := issue(t, certSpec{cn: "good.test", ips: loopback, notBefore: -day, notAfter: 90*day + time.Hour}, ca)
	soon := issue(t, certSpec{cn: "soon.test", ips: loopback, notBefore: -day, notAfter: 3*day + time.Hour}, ca)
	expired := issue(t, certSpec{cn: "expired.test", ips: loopback, notBefore: -30 * day, notAfter: -2*day - time.Hour}, ca)
	wrongName := issue(t, certSpec{cn: "other.test", dnsNames: []string{"other.test"}, notBefore: -day, notAfter: 90*day + time.Hour}, ca)
	noCN := issue(t, certSpec{dnsNames: []string{"api.test"}, notBefore: -day, notAfter: 90*day + time.Hour}, ca)
	viaInter := issue(t, certSpec{cn: "chained.test", ips: loopback, notBefore: -day, notAfter: 90*day + time.Hour}, inter)

	roots := x509.NewCertPool()
	roots.AddCert(ca.cert)
	trusting := New(Options{RootCAs: roots})
	system := New(Options{})

	tests := []struct {
		name   string
		addr   string
		p      *Prober
		opts   *uptime.TLSOptions
		warn   []int
		status uptime.Status
		class  uptime.ErrorClass
		err    string // a prefix
		detail string
		leaf   *testCert // whose NotAfter is CertExpiry
		chain  *testCert // whose NotAfter is ChainExpiry
	}{
		{name: "valid", addr: tlsServer(t, good), p: trusting, status: uptime.StatusUp, leaf: good, chain: good,
			detail: "TLS 1.3, CN=good.test, issuer Lookout Test CA, expires in 91 days"},
		{name: "expires in 3 days, default warnings", addr: tlsServer(t, soon), p: trusting, status: uptime.StatusUp, leaf: soon, chain: soon,
			detail: "TLS 1.3, CN=soon.test, issuer Lookout Test CA, expires in 4 days"},
		{name: "expires within the smallest warning", addr: tlsServer(t, soon), p: trusting, warn: []int{21, 7, 5}, status: uptime.StatusDegraded, leaf: soon, chain: soon,
			detail: "certificate expires in 4 days; TLS 1.3, CN=soon.test, issuer Lookout Test CA, expires in 4 days"},
		{name: "warnings off", addr: tlsServer(t, soon), p: trusting, warn: []int{}, status: uptime.StatusUp, leaf: soon, chain: soon,
			detail: "TLS 1.3, CN=soon.test, issuer Lookout Test CA, expires in 4 days"},
		{name: "intermediate expires first", addr: tlsServer(t, viaInter, inter), p: trusting, warn: []int{7}, status: uptime.StatusDegraded, leaf: viaInter, chain: inter,
			detail: "certificate CN=Lookout Test Intermediate in the chain expires in 6 days; TLS 1.3, CN=chained.test, issuer Lookout Test Intermediate, expires in 91 days"},
		{name: "expired", addr: tlsServer(t, expired), p: trusting, status: uptime.StatusDown, class: uptime.ClassTLS, leaf: expired, chain: expired,
			err: "in the TLS handshake: tls: failed to verify certificate: x509: certificate has expired"},
		{name: "expired, not verified", addr: tlsServer(t, expired), p: trusting, opts: &uptime.TLSOptions{SkipVerify: true},
			status: uptime.StatusDown, class: uptime.ClassTLS, leaf: expired, chain: expired, err: "certificate expired 2 days ago",
			detail: "TLS 1.3, CN=expired.test, issuer Lookout Test CA, expired 2 days ago"},
		{name: "untrusted", addr: tlsServer(t, good), p: system, status: uptime.StatusDown, class: uptime.ClassTLS, leaf: good, chain: good,
			err: "in the TLS handshake: tls: failed to verify certificate: x509: certificate signed by unknown authority"},
		{name: "untrusted, not verified", addr: tlsServer(t, good), p: system, opts: &uptime.TLSOptions{SkipVerify: true}, status: uptime.StatusUp, leaf: good, chain: good,
			detail: "TLS 1.3, CN=good.test, issuer Lookout Test CA, expires in 91 days"},
		{name: "wrong name", addr: tlsServer(t, wrongName), p: trusting, status: uptime.StatusDown, class: uptime.ClassTLS, leaf: wrongName, chain: wrongName,
			err: "in the TLS handshake: tls: failed to verify certificate: x509: cannot validate certificate for 127.0.0.1"},
		{name: "wrong server name", addr: tlsServer(t, wrongName), p: trusting, opts: &uptime.TLSOptions{ServerName: "api.test"}, status: uptime.StatusDown, class: uptime.ClassTLS,
			leaf: wrongName, chain: wrongName, err: "in the TLS handshake: tls: failed to verify certificate: x509: certificate is valid for other.test, not api.test"},
		{name: "server name given", addr: tlsServer(t, wrongName), p: trusting, opts: &uptime.TLSOptions{ServerName: "other.test"}, status: uptime.StatusUp, leaf: wrongName, chain: wrongName,
			detail: "TLS 1.3, CN=other.test, issuer Lookout Test CA, expires in 91 days"},
		{name: "no common name", addr: tlsServer(t, noCN), p: trusting, opts: &uptime.TLSOptions{ServerName: "API.test"}, status: uptime.StatusUp, leaf: noCN, chain: noCN,
			detail: "TLS 1.3, CN=api.test, issuer Lookout Test CA, expires in 91 days"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			target := uptime.Target{Kind: "tls", URL: tt.addr, TLS: tt.opts, TLSExpiryWarn: tt.warn}
			r := runTarget(t, tt.p, target)
			if r.Status != tt.status || r.ErrorClass != tt.class || !strings.HasPrefix(r.Error, tt.err) {
				t.Fatalf("got %s/%s %q, want %s/%s %q…", r.Status, r.ErrorClass, r.Error, tt.status, tt.class, tt.err)
			}
			if tt.detail != "" && r.Detail != tt.detail {
				t.Errorf("detail: got %q, want %q", r.Detail, tt.detail)
			}
			if !r.CertExpiry.Equal(tt.leaf.cert.NotAfter) {
				t.Errorf("cert expiry: got %s, want %s", r.CertExpiry, tt.leaf.cert.NotAfter)
			}
			if !r.ChainExpiry.Equal(tt.chain.cert.NotAfter) {
				t.Errorf("chain expiry: got %s, want %s", r.ChainExpiry, tt.chain.cert.NotAfter)
			}
		})
	}
}

func TestTLSNotTLS(t *testing.T) {
	silent := silentAddr(t)
	plain := tcpServer(t, func(c net.Conn, done <-chan struct{}) {
		io.WriteString(c, "HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n")
	})
	tests := []struct {
		name  string
		addr  string
		class uptime.ErrorClass
		err   string
	}{
		{"never answers", silent, uptime.ClassTimeout, "timed out in the TLS handshake"},
		{"plain text", plain, uptime.ClassTLS, "in the TLS handshake: tls: "},
		{"refused", closedAddr(t), uptime.ClassRefused, "connecting: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			r := runTarget(t, nil, uptime.Target{Kind: "tls", URL: tt.addr, Timeout: uptime.Duration(hangTimeout)})
			elapsed := time.Since(start)
			if r.Status != uptime.StatusDown || r.ErrorClass != tt.class || !strings.HasPrefix(r.Error, tt.err) {
				t.Fatalf("got %s/%s %q, want down/%s %q…", r.Status, r.ErrorClass, r.Error, tt.class, tt.err)
			}
			if elapsed > hangTimeout+hangSlack {
				t.Errorf("took %s with a timeout of %s", elapsed, hangTimeout)
			}
		})
	}
}

// The degraded status and the certificate.expiring warning count days the
// same way (uptime.DaysLeft): exactly N days before expiry is within a
// threshold of N; a second more is not.
func TestTLSDegradedAtTheWarningsBoundary(t *testing.T) {
	ca := issue(t, certSpec{cn: "Lookout Test CA", notBefore: -day, notAfter: 3650 * day, ca: true}, nil)
	leaf := issue(t, certSpec{cn: "edge.test", ips: []net.IP{net.IPv4(127, 0, 0, 1)}, notBefore: -day, notAfter: 10 * day}, ca)
	roots := x509.NewCertPool()
	roots.AddCert(ca.cert)
	addr := tlsServer(t, leaf)
	for _, tt := range []struct {
		before time.Duration
		status uptime.Status
		detail string
	}{
		{3 * day, uptime.StatusDegraded, "certificate expires in 3 days; "},
		{3*day + time.Second, uptime.StatusUp, "TLS 1.3, CN=edge.test, issuer Lookout Test CA, expires in 4 days"},
	} {
		p := New(Options{RootCAs: roots})
		at := leaf.cert.NotAfter.Add(-tt.before)
		p.now = func() time.Time { return at }
		r := runTarget(t, p, uptime.Target{Kind: "tls", URL: addr, TLSExpiryWarn: []int{3}})
		if r.Status != tt.status || !strings.HasPrefix(r.Detail, tt.detail) {
			t.Errorf("%s before expiry: %s %q, want %s %q…", tt.before, r.Status, r.Detail, tt.status, tt.detail)
		}
		if _, evs := (uptime.State{}).Next(r, uptime.Policy{FailureThreshold: 1, ExpiryWarn: []int{3}}, at); (len(evs) == 1) != (tt.status == uptime.StatusDegraded) {
			t.Errorf("%s before expiry: events %+v disagree with status %s", tt.before, evs, r.Status)
		}
	}
}
