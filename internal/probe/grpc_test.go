package probe

import (
	"crypto/tls"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/lookout/lookout/internal/uptime"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

// grpcServer starts a gRPC server on loopback, with the standard health
// service when hs is not nil, and TLS when cert is not nil. It stops when
// the test ends.
func grpcServer(t *testing.T, hs *health.Server, cert *tls.Certificate) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var opts []grpc.ServerOption
	if cert != nil {
		opts = append(opts, grpc.Creds(credentials.NewTLS(&tls.Config{Certificates: []tls.Certificate{*cert}})))
	}
	s := grpc.NewServer(opts...)
	if hs != nil {
		healthpb.RegisterHealthServer(s, hs)
	}
	go s.Serve(ln)
	t.Cleanup(s.Stop)
	return ln.Addr().String()
}

// selfSigned returns a certificate for 127.0.0.1 that no one trusts.
func selfSigned(t *testing.T) *tls.Certificate {
	t.Helper()
	c := issue(t, certSpec{cn: "lookout test", ips: []net.IP{net.IPv4(127, 0, 0, 1)}, notBefore: -time.Hour, notAfter: time.Hour}, nil)
	return &tls.Certificate{Certificate: [][]byte{c.cert.Raw}, PrivateKey: c.key}
}

func withGRPC(o uptime.GRPCOptions) func(*uptime.Target) {
	return func(t *uptime.Target) { t.GRPC = &o }
}

func TestGRPCHealth(t *testing.T) {
	hs := health.NewServer() // "" is SERVING from the start
	hs.SetServingStatus("svc.ok", healthpb.HealthCheckResponse_SERVING)
	hs.SetServingStatus("svc.down", healthpb.HealthCheckResponse_NOT_SERVING)
	hs.SetServingStatus("svc.unknown", healthpb.HealthCheckResponse_UNKNOWN)
	addr := grpcServer(t, hs, nil)

	r := dbRun(t, "grpc", addr)
	dbWantUp(t, r)
	if r.Detail != "SERVING" {
		t.Errorf("detail %q, want SERVING", r.Detail)
	}
	r = dbRun(t, "grpc", addr, withGRPC(uptime.GRPCOptions{Service: "svc.ok"}))
	dbWantUp(t, r)
	if r.Detail != `service "svc.ok": SERVING` {
		t.Errorf("detail %q", r.Detail)
	}
	r = dbRun(t, "grpc", addr, withGRPC(uptime.GRPCOptions{Service: "svc.down"}))
	dbWantDown(t, r, uptime.ClassAssertion, `service "svc.down": health status NOT_SERVING`)
	r = dbRun(t, "grpc", addr, withGRPC(uptime.GRPCOptions{Service: "svc.unknown"}))
	dbWantDown(t, r, uptime.ClassAssertion, "health status UNKNOWN")
	r = dbRun(t, "grpc", addr, withGRPC(uptime.GRPCOptions{Service: "svc.never.registered"}))
	dbWantDown(t, r, uptime.ClassAssertion, `"svc.never.registered"`, "SERVICE_UNKNOWN")

	// The whole server going down is seen on the next check.
	hs.Shutdown()
	r = dbRun(t, "grpc", addr)
	dbWantDown(t, r, uptime.ClassAssertion, "NOT_SERVING")
}

func TestGRPCWithoutHealthService(t *testing.T) {
	r := dbRun(t, "grpc", grpcServer(t, nil, nil))
	dbWantDown(t, r, uptime.ClassProtocol, "no grpc.health.v1 Health service")
}

func TestGRPCTLS(t *testing.T) {
	tlsAddr := grpcServer(t, health.NewServer(), selfSigned(t))
	plainAddr := grpcServer(t, health.NewServer(), nil)

	dbWantUp(t, dbRun(t, "grpc", tlsAddr, withGRPC(uptime.GRPCOptions{TLS: true, TLSSkipVerify: true})))
	r := dbRun(t, "grpc", tlsAddr, withGRPC(uptime.GRPCOptions{TLS: true}))
	dbWantDown(t, r, uptime.ClassTLS, "certificate")
	r = dbRun(t, "grpc", plainAddr, withGRPC(uptime.GRPCOptions{TLS: true, TLSSkipVerify: true}))
	dbWantDown(t, r, uptime.ClassTLS)
	// Plain text to a TLS server: the server hangs up before any gRPC.
	r = dbRun(t, "grpc", tlsAddr)
	t.Logf("plain text to TLS: %s %s: %s", r.Status, r.ErrorClass, r.Error)
	if r.Status != uptime.StatusDown || r.ErrorClass == uptime.ClassNone {
		t.Errorf("plain text to TLS: status %s class %q error %q, want down", r.Status, r.ErrorClass, r.Error)
	}
}

func TestGRPCNetworkErrors(t *testing.T) {
	t.Run("refused", func(t *testing.T) {
		r := dbRun(t, "grpc", closedAddr(t))
		dbWantDown(t, r, uptime.ClassRefused, "connecting: ", "refused")
	})
	t.Run("hang", func(t *testing.T) {
		dbWantHangTimesOut(t, "grpc", silentAddr(t))
	})
	t.Run("cancelled", func(t *testing.T) {
		dbWantCancelEnds(t, "grpc", silentAddr(t))
	})
	t.Run("hang with TLS", func(t *testing.T) {
		dbWantHangTimesOut(t, "grpc", silentAddr(t), withGRPC(uptime.GRPCOptions{TLS: true}))
	})
	t.Run("not grpc", func(t *testing.T) {
		r := dbRun(t, "grpc", dbGarbageAddr(t))
		dbWantDown(t, r, uptime.ClassProtocol)
	})
	t.Run("dns", func(t *testing.T) {
		r := dbRun(t, "grpc", "lookout-test.invalid:50051")
		dbWantDown(t, r, uptime.ClassDNS)
	})
}

func TestValidateGRPC(t *testing.T) {
	for _, tc := range []struct {
		name, url string
		opts      *uptime.GRPCOptions
		field     string // "" for valid
	}{
		{"host:port", "api.example.com:50051", nil, ""},
		{"ipv6", "[::1]:50051", nil, ""},
		{"service and tls", "api.example.com:443", &uptime.GRPCOptions{Service: "payments.v1.Payments", TLS: true, TLSSkipVerify: true}, ""},
		{"no port", "api.example.com", nil, "url"},
		{"a URL", "grpc://api.example.com:50051", nil, "url"},
		{"no host", ":50051", nil, "url"},
		{"not a host name", "api/v1:50051", nil, "url"},
		{"bad port", "api.example.com:0", nil, "url"},
		{"skip verify without tls", "api.example.com:50051", &uptime.GRPCOptions{TLSSkipVerify: true}, "grpc.tls_skip_verify"},
		{"long service", "api.example.com:50051", &uptime.GRPCOptions{Service: strings.Repeat("s", maxGRPCServiceLen+1)}, "grpc.service"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			target := uptime.Target{Name: "t", Kind: "grpc", URL: tc.url, GRPC: tc.opts}
			target.Normalize()
			dbCheckValidation(t, New(Options{}).Validate(&target), tc.field)
		})
	}
}
