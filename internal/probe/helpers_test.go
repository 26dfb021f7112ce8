package probe

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"fmt"
	"math/big"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lookout/lookout/internal/uptime"
)

// Test helpers shared by the tests of every kind.

// hangTimeout is the timeout of checks against targets that hang, and
// hangSlack what such a check may overrun it by (scheduling under -race on
// a loaded machine): still well below the 5 s runTarget's checks take when
// their own timeout is ignored.
const (
	hangTimeout = 300 * time.Millisecond
	hangSlack   = 2 * time.Second
)

// runTarget normalises, validates and checks target with p (when nil, a
// Prober whose user agent is "lookout-test"), named "t" and with a 5s
// timeout unless target says otherwise.
func runTarget(t *testing.T, p *Prober, target uptime.Target) uptime.Result {
	t.Helper()
	return runTargetContext(t, context.Background(), p, target)
}

// runTargetContext is runTarget under ctx.
func runTargetContext(t *testing.T, ctx context.Context, p *Prober, target uptime.Target) uptime.Result {
	t.Helper()
	if p == nil {
		p = New(Options{UserAgent: "lookout-test"})
	}
	if target.Name == "" {
		target.Name = "t"
	}
	if target.Timeout == 0 {
		target.Timeout = uptime.Duration(5 * time.Second)
	}
	target.Normalize()
	if err := p.Validate(&target); err != nil {
		t.Fatalf("validate: %v", err)
	}
	return p.Check(ctx, target)
}

func withTimeout(d time.Duration) func(*uptime.Target) {
	return func(t *uptime.Target) { t.Timeout = uptime.Duration(d) }
}

// tcpServer accepts connections on loopback and hands each to serve, which
// owns it. done is closed when the test ends. It returns the address.
func tcpServer(t *testing.T, serve func(c net.Conn, done <-chan struct{})) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return serveConns(t, ln, serve)
}

// serveConns accepts connections on ln and hands each to serve, which owns
// it, until the test ends; then done is closed, ln too, and serveConns waits
// for every serve to return. It returns ln's address.
func serveConns(t *testing.T, ln net.Listener, serve func(c net.Conn, done <-chan struct{})) string {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				defer c.Close()
				serve(c, done)
			})
		}
	})
	t.Cleanup(func() {
		close(done)
		ln.Close()
		wg.Wait()
	})
	return ln.Addr().String()
}

// silentAddr returns the address of a loopback listener that accepts
// connections and never writes a byte.
func silentAddr(t *testing.T) string {
	t.Helper()
	return tcpServer(t, func(_ net.Conn, done <-chan struct{}) { <-done })
}

// closedAddr returns a loopback address nothing listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// wantVerdict fails the test unless r has status and class, the error err
// (any error when err is ""), and the detail.
func wantVerdict(t *testing.T, r uptime.Result, status uptime.Status, class uptime.ErrorClass, err, detail string) {
	t.Helper()
	if r.Status != status || r.ErrorClass != class {
		t.Fatalf("got %s/%s %q, want %s/%s", r.Status, r.ErrorClass, r.Error, status, class)
	}
	if err != "" && r.Error != err {
		t.Errorf("error: got %q, want %q", r.Error, err)
	}
	if r.Detail != detail {
		t.Errorf("detail: got %q, want %q", r.Detail, detail)
	}
}

// assertFieldErrors compares a validator's answer with the problems wanted
// (none when want is nil).
func assertFieldErrors(t *testing.T, err error, want []uptime.FieldError) {
	t.Helper()
	if want == nil {
		if err != nil {
			t.Fatalf("got %v, want no error", err)
		}
		return
	}
	v, ok := err.(*uptime.ValidationError)
	if !ok {
		t.Fatalf("got %T %v, want *uptime.ValidationError", err, err)
	}
	if len(v.Errors) != len(want) {
		t.Fatalf("got %q, want %q", v.Errors, want)
	}
	for i := range want {
		if v.Errors[i] != want[i] {
			t.Errorf("problem %d: got %q, want %q", i, v.Errors[i], want[i])
		}
	}
}

// Helpers of the database and RPC kinds.

// dbSecret is the password put in DSNs to prove it never comes out.
const dbSecret = "hunter2-secret"

// dbRun validates and runs one check of the given kind and url, with a
// 5s timeout unless tweak changes it.
func dbRun(t *testing.T, kind, url string, tweak ...func(*uptime.Target)) uptime.Result {
	t.Helper()
	return dbRunContext(t, context.Background(), kind, url, tweak...)
}

// dbRunContext is dbRun under ctx.
func dbRunContext(t *testing.T, ctx context.Context, kind, url string, tweak ...func(*uptime.Target)) uptime.Result {
	t.Helper()
	target := uptime.Target{Kind: kind, URL: url}
	for _, f := range tweak {
		f(&target)
	}
	return runTargetContext(t, ctx, nil, target)
}

// dbWantUp fails the test unless r is up.
func dbWantUp(t *testing.T, r uptime.Result) {
	t.Helper()
	t.Logf("%s: %s", r.Status, r.Detail)
	if r.Status != uptime.StatusUp || r.ErrorClass != uptime.ClassNone {
		t.Fatalf("status %s class %q error %q detail %q, want up", r.Status, r.ErrorClass, r.Error, r.Detail)
	}
}

// dbWantDown fails the test unless r is down with class, and its error
// contains every one of texts.
func dbWantDown(t *testing.T, r uptime.Result, class uptime.ErrorClass, texts ...string) {
	t.Helper()
	t.Logf("%s %s: %s", r.Status, r.ErrorClass, r.Error)
	if r.Status != uptime.StatusDown || r.ErrorClass != class {
		t.Fatalf("status %s class %q error %q, want down with class %q", r.Status, r.ErrorClass, r.Error, class)
	}
	for _, s := range texts {
		if !strings.Contains(r.Error, s) {
			t.Errorf("error %q does not contain %q", r.Error, s)
		}
	}
}

// dbWantNoSecret fails the test if secret shows anywhere in r.
func dbWantNoSecret(t *testing.T, r uptime.Result, secret string) {
	t.Helper()
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{string(b), fmt.Sprintf("%+v", r)} {
		if strings.Contains(s, secret) {
			t.Errorf("the secret shows in the result: %s", s)
		}
	}
}

// dbWantHiddenInValidation fails the test if err is nil or its text
// holds secret.
func dbWantHiddenInValidation(t *testing.T, err error, secret string) {
	t.Helper()
	if err == nil {
		t.Fatal("validation passed, want an error")
	}
	if strings.Contains(err.Error(), secret) {
		t.Errorf("the validation message shows the secret: %v", err)
	}
}

// dbCheckValidation wants err to name exactly field, or to be nil when field is "".
func dbCheckValidation(t *testing.T, err error, field string) {
	t.Helper()
	if field == "" {
		if err != nil {
			t.Fatalf("want valid, got %v", err)
		}
		return
	}
	v, ok := err.(*uptime.ValidationError)
	if !ok {
		t.Fatalf("want a *uptime.ValidationError on %s, got %v", field, err)
	}
	if len(v.Errors) != 1 || v.Errors[0].Field != field {
		t.Fatalf("want one problem on %s, got %v", field, v)
	}
}

// dbGarbageAddr returns the address of a listener that answers every
// connection with a line of HTTP and closes it: a server that does not
// speak the protocol asked of it.
func dbGarbageAddr(t *testing.T) string {
	t.Helper()
	return tcpServer(t, func(c net.Conn, _ <-chan struct{}) {
		c.Write([]byte("HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n"))
	})
}

// dbWantHangTimesOut runs a check against a hanging listener and wants a
// timeout within hangTimeout plus slack.
func dbWantHangTimesOut(t *testing.T, kind, url string, tweak ...func(*uptime.Target)) {
	t.Helper()
	start := time.Now()
	r := dbRun(t, kind, url, append(tweak, withTimeout(hangTimeout))...)
	elapsed := time.Since(start)
	dbWantDown(t, r, uptime.ClassTimeout)
	if elapsed > hangTimeout+hangSlack {
		t.Errorf("check took %s, want at most %s", elapsed, hangTimeout+hangSlack)
	}
}

// dbWantCancelEnds runs a check against a hanging listener, with a
// timeout of a minute, and cancels it: the check must end at once and be
// unknown, since Lookout stopping tells nothing about the target.
func dbWantCancelEnds(t *testing.T, kind, url string, tweak ...func(*uptime.Target)) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	time.AfterFunc(50*time.Millisecond, cancel)
	start := time.Now()
	r := dbRunContext(t, ctx, kind, url, append(tweak, withTimeout(time.Minute))...)
	if elapsed := time.Since(start); elapsed > 50*time.Millisecond+hangSlack {
		t.Errorf("cancelled check took %s", elapsed)
	}
	if r.Status != uptime.StatusUnknown || r.ErrorClass != uptime.ClassInternal {
		t.Errorf("got %s/%s %q, want unknown/internal", r.Status, r.ErrorClass, r.Error)
	}
}

// dbServer returns the base url of a test server: env's value, or
// def. When nothing answers at the address addr picks from it, the test is
// skipped with a message saying how to provide one.
func dbServer(t *testing.T, name, env, def string, addr func(string) (string, error)) string {
	t.Helper()
	url := os.Getenv(env)
	if url == "" {
		url = def
	}
	a, err := addr(url)
	if err != nil {
		t.Fatalf("%s: cannot find the address in %s: %v", env, uptime.RedactURL(url), err)
	}
	c, err := net.DialTimeout("tcp", a, time.Second)
	if err != nil {
		t.Skipf("%s not reachable at %s; start it or set %s", name, a, env)
	}
	c.Close()
	return url
}

// Certificates, for the tls, http and grpc tests.

const day = 24 * time.Hour

// testCert is a certificate and its key.
type testCert struct {
	cert *x509.Certificate
	key  crypto.Signer
}

// certSpec describes a certificate to issue. Validity runs from
// notBefore to notAfter, both relative to now.
type certSpec struct {
	cn                  string
	dnsNames            []string
	ips                 []net.IP
	notBefore, notAfter time.Duration
	ca                  bool
}

var serial int64

// issue makes a certificate signed by parent, or self-signed when parent
// is nil.
func issue(t *testing.T, spec certSpec, parent *testCert) *testCert {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial++
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial),
		Subject:      pkix.Name{CommonName: spec.cn},
		DNSNames:     spec.dnsNames,
		IPAddresses:  spec.ips,
		NotBefore:    now.Add(spec.notBefore),
		NotAfter:     now.Add(spec.notAfter),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	if spec.ca {
		tmpl.IsCA, tmpl.BasicConstraintsValid = true, true
		tmpl.KeyUsage = x509.KeyUsageCertSign
		tmpl.ExtKeyUsage = nil
	}
	signer, parentCert := crypto.Signer(key), tmpl
	if parent != nil {
		signer, parentCert = parent.key, parent.cert
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parentCert, key.Public(), signer)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &testCert{cert: cert, key: key}
}
