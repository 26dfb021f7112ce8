package probe

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/lookout/lookout/internal/uptime"
)

// dnsRecordTypes are the record types a dns target may ask for.
var dnsRecordTypes = []string{"A", "AAAA", "CNAME", "MX", "TXT", "NS", "SRV"}

// dnsSystemResolver, when set, is the host:port asked in place of the
// system's resolvers. Tests set it to stand in for an unreachable system
// resolver; nothing else does.
var dnsSystemResolver string

func init() {
	Register(Kind{Name: "dns", Validate: validateDNS, Check: checkDNS})
}

// validateDNS checks the url (the name to resolve) and the dns options of a
// dns target. An empty url is left to uptime.Target.Validate, which reports it.
func validateDNS(t *uptime.Target) error {
	var v uptime.ValidationError
	if name := strings.TrimSpace(t.URL); name != "" {
		if problem := dnsNameProblem(name); problem != "" {
			v.Add("url", problem)
		}
	}
	o := t.DNS
	if o == nil {
		return v.Err()
	}
	if o.Server != "" {
		if !validDNSServer(o.Server) {
			v.Add("dns.server", "must be host:port of a DNS server, such as 10.0.0.2:53 or [2001:db8::53]:53 (a bare IP address means port 53)")
		}
	}
	if o.Record != "" && !slices.Contains(dnsRecordTypes, strings.ToUpper(o.Record)) {
		v.Add("dns.record", fmt.Sprintf("%q is not a record type Lookout checks (want one of %s)", o.Record, strings.Join(dnsRecordTypes, ", ")))
	}
	for i, e := range o.Expect {
		if strings.TrimSpace(e) == "" {
			v.Add(fmt.Sprintf("dns.expect[%d]", i), "must not be empty")
		}
	}
	return v.Err()
}

// dnsNameProblem returns what is wrong with a name to resolve, or "".
// Underscores are allowed: SRV names (_sip._tcp.example.com) have them.
func dnsNameProblem(name string) string {
	const want = "must be a domain name to resolve, such as example.com"
	if strings.Contains(name, "://") {
		return want + ", not a URL"
	}
	if _, err := netip.ParseAddr(name); err == nil {
		return want + ", not an IP address"
	}
	trimmed := strings.TrimSuffix(name, ".")
	if trimmed == "" || len(trimmed) > 253 {
		return want + " (at most 253 characters)"
	}
	for label := range strings.SplitSeq(trimmed, ".") {
		if label == "" || len(label) > 63 {
			return want + " (each dot-separated label 1 to 63 characters)"
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			switch {
			case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_':
			default:
				return want + " (letters, digits, '-' and '_' only)"
			}
		}
	}
	return ""
}

// validDNSServer reports whether a dns.server is host:port, or a bare IP
// address (port 53). A bare name is refused: "nope" or "resolver" is far
// more often a slip than a name meant with port 53, which costs nothing to
// write.
func validDNSServer(server string) bool {
	if _, _, err := net.SplitHostPort(server); err != nil {
		bare := strings.TrimSuffix(strings.TrimPrefix(server, "["), "]")
		if _, err := netip.ParseAddr(bare); err != nil {
			return false
		}
	}
	_, ok := dnsServerAddr(server)
	return ok
}

// dnsServerAddr returns the host:port of a dns.server, taking a bare host
// or IP address to mean port 53. Validation accepts no bare host name
// (validDNSServer); a target stored with one before is still checked.
func dnsServerAddr(server string) (string, bool) {
	if _, _, err := net.SplitHostPort(server); err != nil {
		bare := strings.TrimSuffix(strings.TrimPrefix(server, "["), "]")
		if !validHost(bare) {
			return "", false
		}
		server = net.JoinHostPort(bare, "53")
	}
	return server, hostPortProblem(server) == ""
}

// dnsAnswer is one value of an answer: what Detail shows, and the forms an
// expected value may take to match it ("mx1.example.com" and
// "10 mx1.example.com" both match an MX record).
type dnsAnswer struct {
	shown string
	forms []string
}

// checkDNS runs one dns check: it resolves the url's name for the record
// type asked (A by default) with the standard library's resolver, asking
// dns.server when set and the system's resolvers otherwise, and checks that
// every dns.expect value is in the answer. Answers go to r.Detail.
//
// The verdicts:
//   - the name or the record does not exist: down, class dns;
//   - an expected value is missing: down, class assertion;
//   - dns.server is set and does not answer: down, class timeout or
//     refused, since the server is part of what is checked;
//   - no dns.server is set and the system's resolver does not answer at
//     all: unknown, class dns. That is Lookout's own resolver failing, not
//     the target, and unknown never counts against a target. A resolver
//     that answers with an error (SERVFAIL) is taken at its word: down,
//     class dns;
//   - anything else from the resolver: classified by fail.
//
// With dns.server set, the name is looked up as given, fully qualified:
// the search domains of resolv.conf are not tried. Without it, the system's
// rules apply, search domains included, so a short name resolves as it
// does for every other program on the host. The resolver is Go's own
// (PreferGo), reading /etc/resolv.conf, so that every lookup goes through
// the dialer that watches it; as everywhere in the standard library, A,
// AAAA and CNAME lookups consult /etc/hosts first.
func checkDNS(ctx context.Context, _ *Prober, t *uptime.Target, r *uptime.Result) {
	o := t.DNS
	if o == nil {
		o = &uptime.DNSOptions{}
	}
	record := strings.ToUpper(o.Record)
	if record == "" {
		record = "A"
	}
	name := strings.TrimSpace(t.URL)
	var w dnsWatch
	if o.Server != "" {
		w.server, _ = dnsServerAddr(o.Server)
		if !strings.HasSuffix(name, ".") {
			name += "."
		}
	} else {
		w.server = dnsSystemResolver
	}
	resolver := &net.Resolver{PreferGo: true, Dial: w.dial}

	answers, err := lookupDNS(ctx, resolver, record, name)
	if err != nil {
		judgeDNSError(ctx, r, err, &w, o.Server != "", record, name)
		return
	}

	shown := make([]string, len(answers))
	for i, a := range answers {
		shown[i] = a.shown
	}
	slices.Sort(shown)
	r.Detail = uptime.Truncate(strings.Join(shown, ", "), uptime.MaxErrorLen)

	for _, e := range o.Expect {
		if !dnsAnswerHas(answers, record, e) {
			r.Fail(uptime.ClassAssertion, "%s %s: %q is not in the answer", name, record, e)
			return
		}
	}
	r.Status = uptime.StatusUp
}

// judgeDNSError records a failed lookup on r; see checkDNS for the rules.
func judgeDNSError(ctx context.Context, r *uptime.Result, err error, w *dnsWatch, ownServer bool, record, name string) {
	var dnsErr *net.DNSError
	asked, answered, netErr := w.state()
	switch {
	case errors.Is(ctx.Err(), context.Canceled):
		fail(ctx, r, err, "")
	case errors.As(err, &dnsErr) && dnsErr.IsNotFound:
		// Go reports NXDOMAIN and an empty answer alike.
		r.Fail(uptime.ClassDNS, "%s %s: no such host or no %s record", name, record, record)
	case errors.Is(err, errNoCNAME):
		r.Fail(uptime.ClassDNS, "%s %s: no CNAME record", name, record)
	case asked && !answered && ownServer:
		if netErr != nil {
			err = netErr
		}
		fail(ctx, r, err, "asking the DNS server")
	case asked && !answered:
		text := "timed out"
		if netErr != nil && !errors.Is(ctx.Err(), context.DeadlineExceeded) {
			_, text = classify(netErr)
		}
		r.Fail(uptime.ClassDNS, "the system resolver did not answer: %s", text)
		r.Status = uptime.StatusUnknown
	default:
		fail(ctx, r, err, "")
	}
}

// errNoCNAME is a CNAME lookup of a name that is not an alias.
var errNoCNAME = errors.New("no CNAME record")

// lookupDNS asks res for the records of type record of name.
func lookupDNS(ctx context.Context, res *net.Resolver, record, name string) ([]dnsAnswer, error) {
	var out []dnsAnswer
	add := func(shown string, forms ...string) {
		out = append(out, dnsAnswer{shown: shown, forms: append(forms, shown)})
	}
	switch record {
	case "A", "AAAA":
		network := "ip4"
		if record == "AAAA" {
			network = "ip6"
		}
		ips, err := res.LookupNetIP(ctx, network, name)
		if err != nil {
			return nil, err
		}
		for _, ip := range ips {
			add(ip.Unmap().String())
		}
	case "CNAME":
		cname, err := res.LookupCNAME(ctx, name)
		if err != nil {
			return nil, err
		}
		// Go answers a name that is not an alias with the name itself.
		if dnsKey(cname) == dnsKey(name) {
			return nil, errNoCNAME
		}
		add(trimDot(cname))
	case "MX":
		mxs, err := res.LookupMX(ctx, name)
		if err != nil {
			return nil, err
		}
		for _, mx := range mxs {
			add(fmt.Sprintf("%d %s", mx.Pref, trimDot(mx.Host)), mx.Host)
		}
	case "TXT":
		txts, err := res.LookupTXT(ctx, name)
		if err != nil {
			return nil, err
		}
		for _, txt := range txts {
			add(txt)
		}
	case "NS":
		nss, err := res.LookupNS(ctx, name)
		if err != nil {
			return nil, err
		}
		for _, ns := range nss {
			add(trimDot(ns.Host))
		}
	case "SRV":
		_, srvs, err := res.LookupSRV(ctx, "", "", name)
		if err != nil {
			return nil, err
		}
		for _, s := range srvs {
			target := trimDot(s.Target)
			add(fmt.Sprintf("%d %d %d %s", s.Priority, s.Weight, s.Port, target),
				target, net.JoinHostPort(target, strconv.Itoa(int(s.Port))))
		}
	default:
		// The validator admits only the types above.
		return nil, fmt.Errorf("record type %q is not supported", record)
	}
	return out, nil
}

// dnsAnswerHas reports whether an expected value is in the answer:
// compared case-insensitively, ignoring a trailing dot, and IP addresses by
// value. A TXT value matches any record that contains it.
func dnsAnswerHas(answers []dnsAnswer, record, expect string) bool {
	want := dnsKey(expect)
	for _, a := range answers {
		for _, f := range a.forms {
			got := dnsKey(f)
			if got == want || record == "TXT" && strings.Contains(got, want) {
				return true
			}
		}
	}
	return false
}

// dnsKey is the form of a value that comparisons use.
func dnsKey(s string) string {
	s = strings.TrimSpace(s)
	if ip, err := netip.ParseAddr(s); err == nil {
		return ip.Unmap().String()
	}
	return strings.ToLower(trimDot(s))
}

func trimDot(s string) string { return strings.TrimSuffix(s, ".") }

// dnsWatch dials for a net.Resolver and notes whether the resolver was
// asked and ever answered: a resolver that never answered is unreachable,
// which is not the same as one that answered with an error.
type dnsWatch struct {
	// server, when set, replaces the address the resolver dials.
	server string

	mu       sync.Mutex
	asked    bool
	answered bool
	err      error // the first network error
}

func (w *dnsWatch) dial(ctx context.Context, network, address string) (net.Conn, error) {
	if w.server != "" {
		address = w.server
	}
	w.mu.Lock()
	w.asked = true
	w.mu.Unlock()
	var d net.Dialer
	c, err := d.DialContext(ctx, network, address)
	if err != nil {
		w.noteErr(err)
		return nil, err
	}
	// The resolver tells datagrams from streams by the net.PacketConn
	// interface, which the wrapper must keep.
	if u, ok := c.(*net.UDPConn); ok {
		return &dnsUDPConn{UDPConn: u, w: w}, nil
	}
	return &dnsStreamConn{Conn: c, w: w}, nil
}

func (w *dnsWatch) noteRead(n int, err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if n > 0 {
		w.answered = true
	}
	if err != nil && w.err == nil {
		w.err = err
	}
}

func (w *dnsWatch) noteErr(err error) { w.noteRead(0, err) }

func (w *dnsWatch) state() (asked, answered bool, err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.asked, w.answered, w.err
}

type dnsUDPConn struct {
	*net.UDPConn
	w *dnsWatch
}

func (c *dnsUDPConn) Read(b []byte) (int, error) {
	n, err := c.UDPConn.Read(b)
	c.w.noteRead(n, err)
	return n, err
}

func (c *dnsUDPConn) Write(b []byte) (int, error) {
	n, err := c.UDPConn.Write(b)
	if err != nil {
		c.w.noteErr(err)
	}
	return n, err
}

type dnsStreamConn struct {
	net.Conn
	w *dnsWatch
}

func (c *dnsStreamConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	c.w.noteRead(n, err)
	return n, err
}

func (c *dnsStreamConn) Write(b []byte) (int, error) {
	n, err := c.Conn.Write(b)
	if err != nil {
		c.w.noteErr(err)
	}
	return n, err
}
