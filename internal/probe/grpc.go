package probe

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"sync"

	"github.com/lookout/lookout/internal/uptime"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
)

func init() {
	Register(Kind{Name: "grpc", Validate: validateGRPC, Check: checkGRPC})
}

// maxGRPCServiceLen caps grpc.service.
const maxGRPCServiceLen = 256

// validateGRPC checks that the url is host:port and the grpc options are
// consistent. Nothing is dialled.
func validateGRPC(t *uptime.Target) error {
	var v uptime.ValidationError
	if t.URL != "" {
		if problem := hostPortProblem(t.URL); problem != "" {
			v.Add("url", problem+" (a grpc target's url is the server's host:port)")
		}
	}
	if g := t.GRPC; g != nil {
		if g.TLSSkipVerify && !g.TLS {
			v.Add("grpc.tls_skip_verify", "applies only with grpc.tls")
		}
		if len(g.Service) > maxGRPCServiceLen {
			v.Add("grpc.service", fmt.Sprintf("must be at most %d bytes", maxGRPCServiceLen))
		}
	}
	return v.Err()
}

// checkGRPC opens one connection to the server (TLS with grpc.tls), calls
// grpc.health.v1.Health/Check for grpc.service ("" asks about the whole
// server), and closes the connection. Only SERVING is up. The address is
// dialled as given, without gRPC's name resolver or service config, and
// without a proxy from the environment: the check measures the path from
// Lookout to the server.
//
// Detail records the answer (`SERVING`, `service "payments": SERVING`).
//
// Error classes:
//   - dialling and the TLS handshake (refused, DNS, TLS, timeouts): as
//     classify says of the underlying error, which gRPC itself reports
//     only as text inside an Unavailable status.
//   - an answer other than SERVING (NOT_SERVING, UNKNOWN,
//     SERVICE_UNKNOWN), or NotFound, which is how the standard health
//     server says it does not know the service: assertion, with the status.
//   - Unimplemented (the server has no health service) and any other
//     gRPC status, Unavailable from a server that was reached included:
//     protocol, with the code and message.
//   - DeadlineExceeded: timeout.
func checkGRPC(ctx context.Context, p *Prober, t *uptime.Target, r *uptime.Result) {
	opts := t.GRPC
	if opts == nil {
		opts = &uptime.GRPCOptions{}
	}
	var creds credentials.TransportCredentials = insecure.NewCredentials()
	if opts.TLS {
		creds = credentials.NewTLS(&tls.Config{InsecureSkipVerify: opts.TLSSkipVerify})
	}
	trace := &grpcConnTrace{}
	dialer := &net.Dialer{}
	conn, err := grpc.NewClient("passthrough:///"+t.URL,
		grpc.WithTransportCredentials(traceCreds{creds, trace}),
		grpc.WithContextDialer(func(ctx context.Context, addr string) (net.Conn, error) {
			c, err := dialer.DialContext(ctx, "tcp", addr)
			trace.record(err, false)
			return c, err
		}),
		grpc.WithUserAgent(p.userAgent),
		grpc.WithNoProxy(),
		grpc.WithDisableRetry(),
		grpc.WithDisableServiceConfig(),
	)
	if err != nil {
		// The validator accepts only addresses NewClient takes.
		r.Fail(uptime.ClassInternal, "create client: %s", errText(err))
		return
	}
	defer conn.Close()

	resp, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{Service: opts.Service})
	if err != nil {
		failGRPC(ctx, r, err, trace, opts.Service)
		return
	}
	what := ""
	if opts.Service != "" {
		what = fmt.Sprintf("service %q: ", opts.Service)
	}
	r.Detail = uptime.Truncate(what+resp.GetStatus().String(), uptime.MaxErrorLen)
	if resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		r.Fail(uptime.ClassAssertion, "%shealth status %s", what, resp.GetStatus())
		return
	}
	r.Status = uptime.StatusUp
}

// failGRPC records the error of a health call.
func failGRPC(ctx context.Context, r *uptime.Result, err error, trace *grpcConnTrace, service string) {
	connected, connErr := trace.last()
	step := "waiting for the health check"
	if !connected {
		step = "connecting"
	}
	if ctx.Err() != nil {
		// Timed out, or Lookout is stopping: fail says which.
		fail(ctx, r, err, step)
		return
	}
	st := status.Convert(err)
	switch st.Code() {
	case codes.Unavailable:
		if connErr != nil {
			fail(ctx, r, connErr, step)
			return
		}
		r.Fail(uptime.ClassProtocol, "%s", short("Unavailable: "+st.Message()))
	case codes.DeadlineExceeded:
		r.Fail(uptime.ClassTimeout, "timed out %s", step)
	case codes.Unimplemented:
		r.Fail(uptime.ClassProtocol, "%s", short("the server has no grpc.health.v1 Health service: "+st.Message()))
	case codes.NotFound:
		r.Fail(uptime.ClassAssertion, "%s", short(fmt.Sprintf("service %q unknown to the health service (SERVICE_UNKNOWN): %s", service, st.Message())))
	default:
		r.Fail(uptime.ClassProtocol, "%s", short(st.Code().String()+": "+st.Message()))
	}
}

// grpcConnTrace remembers how the connection of one check went: gRPC
// reports a failed dial or handshake only as text inside an Unavailable
// status, and classify needs the error itself.
type grpcConnTrace struct {
	mu        sync.Mutex
	err       error
	connected bool
}

// record notes the outcome of a dial or a handshake; handshake says which.
func (c *grpcConnTrace) record(err error, handshake bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err != nil {
		c.err = err
		return
	}
	if handshake {
		c.connected, c.err = true, nil
	}
}

// last returns whether a handshake succeeded and the last error of a dial
// or handshake since.
func (c *grpcConnTrace) last() (bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.connected, c.err
}

// traceCreds wraps transport credentials to record the handshake's outcome.
type traceCreds struct {
	credentials.TransportCredentials
	trace *grpcConnTrace
}

func (c traceCreds) ClientHandshake(ctx context.Context, authority string, raw net.Conn) (net.Conn, credentials.AuthInfo, error) {
	conn, info, err := c.TransportCredentials.ClientHandshake(ctx, authority, raw)
	if err != nil && errors.Is(err, context.Canceled) {
		// The check ended, or gRPC gave up on this attempt: not the server's doing.
		return conn, info, err
	}
	c.trace.record(err, true)
	return conn, info, err
}

func (c traceCreds) Clone() credentials.TransportCredentials {
	return traceCreds{c.TransportCredentials.Clone(), c.trace}
}
