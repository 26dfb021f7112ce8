package probe

import (
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lookout/lookout/internal/uptime"
	"golang.org/x/net/dns/dnsmessage"
)

// dnsTestZone is what the test DNS server knows, by lowercase fully
// qualified name. Names not in it are NXDOMAIN; a name in it without
// records of the type asked gets an empty answer.
var dnsTestZone = map[string][]dnsmessage.ResourceBody{
	"a.test.": {
		&dnsmessage.AResource{A: [4]byte{192, 0, 2, 1}},
		&dnsmessage.AResource{A: [4]byte{192, 0, 2, 2}},
	},
	"v6.test.": {
		&dnsmessage.AAAAResource{AAAA: netip.MustParseAddr("2001:db8::1").As16()},
	},
	"alias.test.": {
		&dnsmessage.CNAMEResource{CNAME: dnsmessage.MustNewName("a.test.")},
	},
	"mail.test.": {
		&dnsmessage.MXResource{Pref: 10, MX: dnsmessage.MustNewName("mx1.test.")},
		&dnsmessage.MXResource{Pref: 20, MX: dnsmessage.MustNewName("MX2.test.")},
	},
	"txt.test.": {
		&dnsmessage.TXTResource{TXT: []string{"v=spf1 -all"}},
		&dnsmessage.TXTResource{TXT: []string{"site-verification=", "abc123"}},
	},
	"zone.test.": {
		&dnsmessage.NSResource{NS: dnsmessage.MustNewName("ns1.test.")},
		&dnsmessage.NSResource{NS: dnsmessage.MustNewName("ns2.test.")},
	},
	"_sip._tcp.test.": {
		&dnsmessage.SRVResource{Priority: 10, Weight: 5, Port: 5060, Target: dnsmessage.MustNewName("sip.test.")},
	},
}

// dnsServer serves zone over UDP on loopback, like an authoritative server,
// and returns its address.
func dnsServer(t *testing.T, zone map[string][]dnsmessage.ResourceBody) string {
	t.Helper()
	return udpServer(t, func(query []byte) []byte { return dnsReply(t, zone, query) })
}

// udpServer answers each datagram with what answer returns (nothing when
// it returns nil) and returns its address.
func udpServer(t *testing.T, answer func([]byte) []byte) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		buf := make([]byte, 4096)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			if reply := answer(buf[:n]); reply != nil {
				pc.WriteTo(reply, from)
			}
		}
	})
	t.Cleanup(func() {
		pc.Close()
		wg.Wait()
	})
	return pc.LocalAddr().String()
}

// dnsReply answers one query from zone, following a CNAME as a server
// authoritative for its target does.
func dnsReply(t *testing.T, zone map[string][]dnsmessage.ResourceBody, query []byte) []byte {
	var p dnsmessage.Parser
	h, err := p.Start(query)
	if err != nil {
		return nil
	}
	q, err := p.Question()
	if err != nil {
		return nil
	}
	msg := dnsmessage.Message{
		Header:    dnsmessage.Header{ID: h.ID, Response: true, Authoritative: true, RecursionDesired: h.RecursionDesired},
		Questions: []dnsmessage.Question{q},
	}
	name := q.Name
	records, ok := zone[strings.ToLower(name.String())]
	if !ok {
		msg.RCode = dnsmessage.RCodeNameError
	}
	for range 8 { // follow at most a few aliases
		var next *dnsmessage.Name
		for _, body := range records {
			typ := dnsBodyType(body)
			if typ == q.Type || typ == dnsmessage.TypeCNAME {
				msg.Answers = append(msg.Answers, dnsmessage.Resource{
					Header: dnsmessage.ResourceHeader{Name: name, Type: typ, Class: dnsmessage.ClassINET, TTL: 60},
					Body:   body,
				})
			}
			if c, ok := body.(*dnsmessage.CNAMEResource); ok && q.Type != dnsmessage.TypeCNAME {
				next = &c.CNAME
			}
		}
		if next == nil {
			break
		}
		name, records = *next, zone[strings.ToLower(next.String())]
	}
	b, err := msg.Pack()
	if err != nil {
		t.Errorf("pack the answer to %s: %v", q.Name, err)
		return nil
	}
	return b
}

func dnsBodyType(body dnsmessage.ResourceBody) dnsmessage.Type {
	switch body.(type) {
	case *dnsmessage.AResource:
		return dnsmessage.TypeA
	case *dnsmessage.AAAAResource:
		return dnsmessage.TypeAAAA
	case *dnsmessage.CNAMEResource:
		return dnsmessage.TypeCNAME
	case *dnsmessage.MXResource:
		return dnsmessage.TypeMX
	case *dnsmessage.TXTResource:
		return dnsmessage.TypeTXT
	case *dnsmessage.NSResource:
		return dnsmessage.TypeNS
	case *dnsmessage.SRVResource:
		return dnsmessage.TypeSRV
	}
	panic("dnsBodyType: add the type")
}

// silentUDP returns the address of a UDP socket that reads and never answers.
func silentUDP(t *testing.T) string {
	return udpServer(t, func([]byte) []byte { return nil })
}

// closedUDP returns a loopback UDP address nothing listens on.
func closedUDP(t *testing.T) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := pc.LocalAddr().String()
	pc.Close()
	return addr
}

func TestValidateDNS(t *testing.T) {
	tests := []struct {
		name string
		url  string
		opts *uptime.DNSOptions
		want []uptime.FieldError // nil: valid
	}{
		{"name", "example.com", nil, nil},
		{"fully qualified", "example.com.", nil, nil},
		{"srv name", "_sip._tcp.example.com", &uptime.DNSOptions{Record: "SRV"}, nil},
		{"every option", "example.com", &uptime.DNSOptions{Server: "10.0.0.2:53", Record: "mx", Expect: []string{"mx1.example.com"}}, nil},
		{"server named", "example.com", &uptime.DNSOptions{Server: "ns1.example.com:5353"}, nil},
		{"server without port", "example.com", &uptime.DNSOptions{Server: "10.0.0.2"}, nil},
		{"ipv6 server", "example.com", &uptime.DNSOptions{Server: "[2001:db8::53]:53"}, nil},
		{"bare ipv6 server", "example.com", &uptime.DNSOptions{Server: "2001:db8::53"}, nil},
		{"empty url is left to the target", "", nil, nil},
		{"url", "https://example.com/", nil, []uptime.FieldError{{Field: "url", Problem: "must be a domain name to resolve, such as example.com, not a URL"}}},
		{"ip", "192.0.2.1", nil, []uptime.FieldError{{Field: "url", Problem: "must be a domain name to resolve, such as example.com, not an IP address"}}},
		{"empty label", "a..example.com", nil, []uptime.FieldError{{Field: "url", Problem: "must be a domain name to resolve, such as example.com (each dot-separated label 1 to 63 characters)"}}},
		{"long label", strings.Repeat("a", 64) + ".com", nil, []uptime.FieldError{{Field: "url", Problem: "must be a domain name to resolve, such as example.com (each dot-separated label 1 to 63 characters)"}}},
		{"long name", strings.Repeat("abcdefghi.", 26) + "com", nil, []uptime.FieldError{{Field: "url", Problem: "must be a domain name to resolve, such as example.com (at most 253 characters)"}}},
		{"space", "exa mple.com", nil, []uptime.FieldError{{Field: "url", Problem: "must be a domain name to resolve, such as example.com (letters, digits, '-' and '_' only)"}}},
		{"bad record type", "example.com", &uptime.DNSOptions{Record: "PTR"}, []uptime.FieldError{{Field: "dns.record", Problem: `"PTR" is not a record type Lookout checks (want one of A, AAAA, CNAME, MX, TXT, NS, SRV)`}}},
		{"bad server", "example.com", &uptime.DNSOptions{Server: "dns://10.0.0.2"}, []uptime.FieldError{{Field: "dns.server", Problem: "must be host:port of a DNS server, such as 10.0.0.2:53 or [2001:db8::53]:53 (a bare IP address means port 53)"}}},
		{"bad server port", "example.com", &uptime.DNSOptions{Server: "10.0.0.2:99999"}, []uptime.FieldError{{Field: "dns.server", Problem: "must be host:port of a DNS server, such as 10.0.0.2:53 or [2001:db8::53]:53 (a bare IP address means port 53)"}}},
		{"bare server name", "example.com", &uptime.DNSOptions{Server: "nope"}, []uptime.FieldError{{Field: "dns.server", Problem: "must be host:port of a DNS server, such as 10.0.0.2:53 or [2001:db8::53]:53 (a bare IP address means port 53)"}}},
		{"bare server fqdn", "example.com", &uptime.DNSOptions{Server: "ns1.example.com"}, []uptime.FieldError{{Field: "dns.server", Problem: "must be host:port of a DNS server, such as 10.0.0.2:53 or [2001:db8::53]:53 (a bare IP address means port 53)"}}},
		{"empty expectation", "example.com", &uptime.DNSOptions{Expect: []string{"192.0.2.1", " "}}, []uptime.FieldError{{Field: "dns.expect[1]", Problem: "must not be empty"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := validateDNS(&uptime.Target{Kind: "dns", URL: tt.url, DNS: tt.opts})
			assertFieldErrors(t, err, tt.want)
		})
	}
}

func TestDNSCheck(t *testing.T) {
	server := dnsServer(t, dnsTestZone)
	tests := []struct {
		name   string
		url    string
		record string
		expect []string
		status uptime.Status
		class  uptime.ErrorClass
		err    string
		detail string
	}{
		{name: "A by default", url: "a.test", status: uptime.StatusUp, detail: "192.0.2.1, 192.0.2.2"},
		{name: "A expected", url: "a.test", record: "A", expect: []string{"192.0.2.2", "192.0.2.1"}, status: uptime.StatusUp, detail: "192.0.2.1, 192.0.2.2"},
		{name: "A missing", url: "a.test", expect: []string{"192.0.2.1", "192.0.2.9"}, status: uptime.StatusDown,
			class: uptime.ClassAssertion, err: `a.test. A: "192.0.2.9" is not in the answer`, detail: "192.0.2.1, 192.0.2.2"},
		{name: "A through an alias", url: "alias.test", record: "a", expect: []string{"192.0.2.1"}, status: uptime.StatusUp, detail: "192.0.2.1, 192.0.2.2"},
		{name: "AAAA compared by value", url: "v6.test", record: "AAAA", expect: []string{"2001:DB8:0::1"}, status: uptime.StatusUp, detail: "2001:db8::1"},
		{name: "AAAA absent", url: "a.test", record: "AAAA", status: uptime.StatusDown,
			class: uptime.ClassDNS, err: "a.test. AAAA: no such host or no AAAA record"},
		{name: "CNAME", url: "alias.test", record: "CNAME", expect: []string{"A.TEST."}, status: uptime.StatusUp, detail: "a.test"},
		{name: "CNAME missing", url: "alias.test", record: "CNAME", expect: []string{"b.test"}, status: uptime.StatusDown,
			class: uptime.ClassAssertion, err: `alias.test. CNAME: "b.test" is not in the answer`, detail: "a.test"},
		{name: "not an alias", url: "a.test", record: "CNAME", status: uptime.StatusDown,
			class: uptime.ClassDNS, err: "a.test. CNAME: no CNAME record"},
		{name: "MX", url: "mail.test", record: "MX", expect: []string{"mx2.test", "10 mx1.test."}, status: uptime.StatusUp, detail: "10 mx1.test, 20 MX2.test"},
		{name: "MX missing", url: "mail.test", record: "MX", expect: []string{"20 mx1.test"}, status: uptime.StatusDown,
			class: uptime.ClassAssertion, err: `mail.test. MX: "20 mx1.test" is not in the answer`, detail: "10 mx1.test, 20 MX2.test"},
		{name: "TXT", url: "txt.test", record: "TXT", expect: []string{"v=spf1 -all", "SITE-VERIFICATION=abc123"}, status: uptime.StatusUp, detail: "site-verification=abc123, v=spf1 -all"},
		{name: "TXT contained", url: "txt.test", record: "TXT", expect: []string{"abc123"}, status: uptime.StatusUp, detail: "site-verification=abc123, v=spf1 -all"},
		{name: "TXT missing", url: "txt.test", record: "TXT", expect: []string{"v=spf2"}, status: uptime.StatusDown,
			class: uptime.ClassAssertion, err: `txt.test. TXT: "v=spf2" is not in the answer`, detail: "site-verification=abc123, v=spf1 -all"},
		{name: "NS", url: "zone.test", record: "NS", expect: []string{"ns2.test"}, status: uptime.StatusUp, detail: "ns1.test, ns2.test"},
		{name: "NS missing", url: "zone.test", record: "NS", expect: []string{"ns3.test"}, status: uptime.StatusDown,
			class: uptime.ClassAssertion, err: `zone.test. NS: "ns3.test" is not in the answer`, detail: "ns1.test, ns2.test"},
		{name: "SRV", url: "_sip._tcp.test", record: "SRV", expect: []string{"sip.test:5060", "sip.test", "10 5 5060 sip.test."}, status: uptime.StatusUp, detail: "10 5 5060 sip.test"},
		{name: "SRV missing", url: "_sip._tcp.test", record: "SRV", expect: []string{"sip.test:5061"}, status: uptime.StatusDown,
			class: uptime.ClassAssertion, err: `_sip._tcp.test. SRV: "sip.test:5061" is not in the answer`, detail: "10 5 5060 sip.test"},
		{name: "NXDOMAIN", url: "nope.test", status: uptime.StatusDown, class: uptime.ClassDNS, err: "nope.test. A: no such host or no A record"},
		{name: "NXDOMAIN MX", url: "nope.test", record: "MX", status: uptime.StatusDown, class: uptime.ClassDNS, err: "nope.test. MX: no such host or no MX record"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runTarget(t, nil, uptime.Target{Kind: "dns", URL: tt.url,
				DNS: &uptime.DNSOptions{Server: server, Record: tt.record, Expect: tt.expect}})
			wantVerdict(t, r, tt.status, tt.class, tt.err, tt.detail)
		})
	}
}

func TestDNSDetailIsTruncated(t *testing.T) {
	var many []dnsmessage.ResourceBody
	for i := range 100 {
		many = append(many, &dnsmessage.AResource{A: [4]byte{198, 51, 100, byte(i)}})
	}
	server := dnsServer(t, map[string][]dnsmessage.ResourceBody{"many.test.": many})
	r := runTarget(t, nil, uptime.Target{Kind: "dns", URL: "many.test", DNS: &uptime.DNSOptions{Server: server}})
	if r.Status != uptime.StatusUp {
		t.Fatalf("got %s/%s %q, want up", r.Status, r.ErrorClass, r.Error)
	}
	if len(r.Detail) > uptime.MaxErrorLen || !strings.HasPrefix(r.Detail, "198.51.100.0, 198.51.100.1, ") || !strings.HasSuffix(r.Detail, "…") {
		t.Errorf("detail %q (%d bytes): want the sorted answers cut to %d bytes", r.Detail, len(r.Detail), uptime.MaxErrorLen)
	}
}

// TestDNSServerDown covers a dns.server that does not answer: the server
// is part of what the target checks, so the check is down.
func TestDNSServerDown(t *testing.T) {
	tests := []struct {
		name   string
		server string
		class  uptime.ErrorClass
		prefix string
	}{
		{"never answers", silentUDP(t), uptime.ClassTimeout, "timed out asking the DNS server"},
		{"refuses", closedUDP(t), uptime.ClassRefused, "asking the DNS server: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			r := runTarget(t, nil, uptime.Target{Kind: "dns", URL: "a.test", Timeout: uptime.Duration(hangTimeout),
				DNS: &uptime.DNSOptions{Server: tt.server}})
			elapsed := time.Since(start)
			if r.Status != uptime.StatusDown || r.ErrorClass != tt.class || !strings.HasPrefix(r.Error, tt.prefix) {
				t.Fatalf("got %s/%s %q, want down/%s %q…", r.Status, r.ErrorClass, r.Error, tt.class, tt.prefix)
			}
			if elapsed > hangTimeout+hangSlack {
				t.Errorf("took %s with a timeout of %s", elapsed, hangTimeout)
			}
		})
	}
}

// TestDNSSystemResolverDown covers Lookout's own resolver failing: the
// check tells nothing about the target and is unknown, not down.
func TestDNSSystemResolverDown(t *testing.T) {
	tests := []struct {
		name     string
		resolver string
		err      string
	}{
		{"never answers", silentUDP(t), "the system resolver did not answer: timed out"},
		{"refuses", closedUDP(t), "the system resolver did not answer: read udp "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dnsSystemResolver = tt.resolver
			defer func() { dnsSystemResolver = "" }()
			start := time.Now()
			r := runTarget(t, nil, uptime.Target{Kind: "dns", URL: "a.test.", Timeout: uptime.Duration(hangTimeout)})
			elapsed := time.Since(start)
			if r.Status != uptime.StatusUnknown || r.ErrorClass != uptime.ClassDNS || !strings.HasPrefix(r.Error, tt.err) {
				t.Fatalf("got %s/%s %q, want unknown/dns %q…", r.Status, r.ErrorClass, r.Error, tt.err)
			}
			if elapsed > hangTimeout+hangSlack {
				t.Errorf("took %s with a timeout of %s", elapsed, hangTimeout)
			}
		})
	}

	// A system resolver that answers is taken at its word.
	dnsSystemResolver = dnsServer(t, dnsTestZone)
	defer func() { dnsSystemResolver = "" }()
	for url, want := range map[string]uptime.Status{"a.test.": uptime.StatusUp, "nope.test.": uptime.StatusDown} {
		r := runTarget(t, nil, uptime.Target{Kind: "dns", URL: url})
		if r.Status != want {
			t.Errorf("%s through the system resolver: got %s/%s %q, want %s", url, r.Status, r.ErrorClass, r.Error, want)
		}
	}
}
