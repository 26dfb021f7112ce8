package probe

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"time"

	"github.com/lookout/lookout/internal/uptime"
)

func init() {
	Register(Kind{Name: "tls", Validate: validateTLS, Check: checkTLS})
}

// validateTLS checks the url and the tls options of a tls target. An empty
// url is left to uptime.Target.Validate, which reports it.
func validateTLS(t *uptime.Target) error {
	var v uptime.ValidationError
	if strings.TrimSpace(t.URL) != "" {
		if problem := hostPortProblem(t.URL); problem != "" {
			v.Add("url", problem)
		}
	}
	if o := t.TLS; o != nil && o.ServerName != "" && !validHost(o.ServerName) {
		v.Add("tls.server_name", "must be a host name, such as api.example.com, or an IP address")
	}
	return v.Err()
}

// checkTLS runs one tls check: it connects to the url, completes a TLS
// handshake and verifies the server's certificate against the system's
// roots (or Options.RootCAs) for tls.server_name, by default the url's host.
// It records the leaf's expiry in r.CertExpiry, the earliest expiry of the
// chain in r.ChainExpiry, and the protocol and certificate in r.Detail.
//
// The verdicts:
//   - a certificate that is expired, untrusted or for another name, or a
//     failed handshake: down, class tls;
//   - a chain that expires within the smallest of tls_expiry_warn days
//     (by default 1): degraded, with no error class, and r.Detail opening
//     with "certificate expires in N days". Degraded rather than down: the
//     service still works and counts as available, but the dashboard shows
//     it, and a renewal that fixes it turns it up again without an incident.
//     The earlier warnings (21 and 7 days by default) are read from
//     r.CertExpiry and r.ChainExpiry by the alerting, not from the status;
//   - otherwise up.
//
// tls.skip_verify accepts any certificate, but the expiry is still
// recorded and judged: a certificate past its date fails with class tls
// even then, since watching its expiry is what a tls check is for.
func checkTLS(ctx context.Context, p *Prober, t *uptime.Target, r *uptime.Result) {
	o := t.TLS
	if o == nil {
		o = &uptime.TLSOptions{}
	}
	host, _, _ := net.SplitHostPort(t.URL)
	cfg := &tls.Config{
		ServerName:         o.ServerName,
		InsecureSkipVerify: o.SkipVerify,
		RootCAs:            p.roots,
		Time:               p.now,
	}
	if cfg.ServerName == "" {
		cfg.ServerName = host
	}

	var d net.Dialer
	raw, err := d.DialContext(ctx, "tcp", t.URL)
	if err != nil {
		fail(ctx, r, err, "connecting")
		return
	}
	defer raw.Close()
	defer bindConn(ctx, raw)()
	conn := tls.Client(raw, cfg)
	if err := conn.HandshakeContext(ctx); err != nil {
		var verify *tls.CertificateVerificationError
		if errors.As(err, &verify) && len(verify.UnverifiedCertificates) > 0 {
			// Record the expiry even of a certificate that fails: an
			// expired one is the commonest reason.
			r.CertExpiry = verify.UnverifiedCertificates[0].NotAfter
			r.ChainExpiry, _ = tlsEarliest(verify.UnverifiedCertificates)
		}
		fail(ctx, r, err, "in the TLS handshake")
		return
	}
	defer conn.Close()

	state := conn.ConnectionState()
	if len(state.PeerCertificates) == 0 {
		r.Fail(uptime.ClassTLS, "the server presented no certificate")
		return
	}
	leaf := state.PeerCertificates[0]
	chain := state.PeerCertificates
	if len(state.VerifiedChains) > 0 {
		chain = tlsLongestLived(state.VerifiedChains)
	}
	earliest, first := tlsEarliest(chain)
	r.CertExpiry = leaf.NotAfter
	r.ChainExpiry = earliest

	now := p.now()
	r.Detail = fmt.Sprintf("%s, CN=%s, issuer %s, %s",
		tls.VersionName(state.Version), tlsName(leaf), leaf.Issuer.CommonName, tlsExpiresIn(leaf.NotAfter, now))

	which := "certificate"
	if first != leaf {
		which = fmt.Sprintf("certificate CN=%s in the chain", tlsName(first))
	}
	switch warn, ok := tlsWarnDays(t.TLSExpiryWarn); {
	case !earliest.After(now):
		// Only with skip_verify: verification refuses an expired chain.
		r.Fail(uptime.ClassTLS, "%s %s", which, tlsExpiresIn(earliest, now))
	case ok && uptime.DaysLeft(earliest, now) <= warn:
		// The alerting's count of days, so that the status and the
		// certificate.expiring warning agree on where a threshold lies.
		r.Status = uptime.StatusDegraded
		r.Detail = fmt.Sprintf("%s %s; %s", which, tlsExpiresIn(earliest, now), r.Detail)
	default:
		r.Status = uptime.StatusUp
	}
	r.Detail = uptime.Truncate(r.Detail, uptime.MaxErrorLen)
}

// tlsWarnDays is the smallest of a target's tls_expiry_warn days; ok is
// false when the list is empty (never warn).
func tlsWarnDays(days []int) (smallest int, ok bool) {
	if len(days) == 0 {
		return 0, false
	}
	return slices.Min(days), true
}

// tlsEarliest returns the earliest expiry of chain and the certificate it
// belongs to.
func tlsEarliest(chain []*x509.Certificate) (time.Time, *x509.Certificate) {
	var first *x509.Certificate
	for _, c := range chain {
		if first == nil || c.NotAfter.Before(first.NotAfter) {
			first = c
		}
	}
	if first == nil {
		return time.Time{}, nil
	}
	return first.NotAfter, first
}

// tlsLongestLived picks, of the chains that verified, the one whose
// earliest expiry is latest: a client can build that chain, so an older
// cross-signed path expiring sooner is not what breaks it.
func tlsLongestLived(chains [][]*x509.Certificate) []*x509.Certificate {
	best := chains[0]
	bestExpiry, _ := tlsEarliest(best)
	for _, c := range chains[1:] {
		if e, _ := tlsEarliest(c); e.After(bestExpiry) {
			best, bestExpiry = c, e
		}
	}
	return best
}

// tlsName names a certificate by its common name, or its first DNS name
// when it has none (as many certificates now do).
func tlsName(c *x509.Certificate) string {
	if c.Subject.CommonName != "" || len(c.DNSNames) == 0 {
		return c.Subject.CommonName
	}
	return c.DNSNames[0]
}

// tlsExpiresIn says when a certificate expiring at expiry expires or
// expired, seen at now. The days to come are counted as the alerting counts them (a
// started day as whole: uptime.DaysLeft), so that the check's detail and a
// certificate.expiring warning name the same number; the days past are
// whole days.
func tlsExpiresIn(expiry, now time.Time) string {
	if !expiry.After(now) {
		return "expired " + tlsDays(int(now.Sub(expiry)/(24*time.Hour))) + " ago"
	}
	return "expires in " + tlsDays(uptime.DaysLeft(expiry, now))
}

// tlsDays writes a number of days: "1 day", "3 days".
func tlsDays(n int) string {
	if n == 1 {
		return "1 day"
	}
	return fmt.Sprintf("%d days", n)
}
