package probe

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/lookout/lookout/internal/uptime"
)

// Limits of a tcp check.
const (
	// MaxTCPReadBytes is how much of the reply a tcp check reads while
	// looking for tcp.expect.
	MaxTCPReadBytes = 64 << 10
	// maxTCPPayloadBytes caps tcp.send and tcp.expect.
	maxTCPPayloadBytes = 4 << 10
	// tcpDetailBytes is how much of the reply is kept in Result.Detail.
	tcpDetailBytes = 80
)

func init() {
	Register(Kind{Name: "tcp", Validate: validateTCP, Check: checkTCP})
}

// validateTCP checks the url and the tcp options of a tcp target. An empty
// url is left to uptime.Target.Validate, which reports it.
func validateTCP(t *uptime.Target) error {
	var v uptime.ValidationError
	if strings.TrimSpace(t.URL) != "" {
		if problem := hostPortProblem(t.URL); problem != "" {
			v.Add("url", problem)
		}
	}
	if o := t.TCP; o != nil {
		if len(o.Send) > maxTCPPayloadBytes {
			v.Add("tcp.send", fmt.Sprintf("must be at most %d bytes", maxTCPPayloadBytes))
		}
		if len(o.Expect) > maxTCPPayloadBytes {
			v.Add("tcp.expect", fmt.Sprintf("must be at most %d bytes", maxTCPPayloadBytes))
		}
	}
	return v.Err()
}

// hostPortProblem returns what is wrong with a host:port address, or "":
// the one rule for every kind that connects to one (tcp, tls, grpc, and
// the address in a mysql or redis DSN).
// It serves every kind whose url is an address (tcp, tls).
func hostPortProblem(addr string) string {
	const form = "must be host:port, such as db.internal:5432 or [2001:db8::1]:443"
	if strings.Contains(addr, "://") {
		return form + ", not a URL"
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil || !validHost(host) {
		return form
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return fmt.Sprintf("has port %q; the port must be a number from 1 to 65535 (%s)", port, form)
	}
	return ""
}

// validHost reports whether host is an IP address or a domain name.
func validHost(host string) bool {
	if _, err := netip.ParseAddr(host); err == nil {
		return true
	}
	return host != "" && dnsNameProblem(host) == ""
}

// checkTCP runs one tcp check: it connects to the url, then, when tcp.send
// is set, writes it, and when tcp.expect is set, reads until the reply
// contains it. A reply that ends (connection closed, or MaxTCPReadBytes
// read) without it fails with class assertion; a server that stays silent
// fails with class timeout when the check's deadline passes.
//
// tcp.send and tcp.expect are used byte for byte: no escapes are
// interpreted. A line break is written as such in the JSON or YAML that
// defines the target ("PING\r\n" in a JSON string or a double-quoted YAML
// scalar is the four letters followed by CR LF).
func checkTCP(ctx context.Context, _ *Prober, t *uptime.Target, r *uptime.Result) {
	o := t.TCP
	if o == nil {
		o = &uptime.TCPOptions{}
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", t.URL)
	if err != nil {
		fail(ctx, r, err, "connecting")
		return
	}
	defer conn.Close()
	defer bindConn(ctx, conn)()

	if o.Send != "" {
		if _, err := io.WriteString(conn, o.Send); err != nil {
			fail(ctx, r, err, "sending")
			return
		}
	}
	if o.Expect == "" {
		r.Status = uptime.StatusUp
		return
	}

	reply, found, err := readUntil(conn, []byte(o.Expect), MaxTCPReadBytes)
	r.Detail = replySnippet(reply)
	switch {
	case found:
		r.Status = uptime.StatusUp
	case err == nil:
		r.Fail(uptime.ClassAssertion, "no %q in the first %d bytes of the reply", o.Expect, MaxTCPReadBytes)
	case errors.Is(err, io.EOF):
		r.Fail(uptime.ClassAssertion, "connection closed without %q; got %s", o.Expect, quoteSnippet(reply))
	default:
		fail(ctx, r, err, fmt.Sprintf("waiting for %q", o.Expect))
	}
}

// readUntil reads from c until what it read contains want, limit bytes
// were read (found false, err nil), or a read fails. It never buffers more
// than limit bytes.
func readUntil(c net.Conn, want []byte, limit int) (got []byte, found bool, err error) {
	buf := make([]byte, 0, min(4<<10, limit))
	for len(buf) < limit {
		if len(buf) == cap(buf) {
			grown := make([]byte, len(buf), min(2*cap(buf), limit))
			copy(grown, buf)
			buf = grown
		}
		n, err := c.Read(buf[len(buf):cap(buf)])
		// Search only where the new bytes can complete a match.
		from := max(0, len(buf)-len(want)+1)
		buf = buf[:len(buf)+n]
		if bytes.Contains(buf[from:], want) {
			return buf, true, nil
		}
		if err != nil {
			return buf, false, err
		}
	}
	return buf, false, nil
}

// bindConn makes c's reads and writes end at ctx's deadline, and at once
// when ctx is cancelled. Call the returned function when done with c.
func bindConn(ctx context.Context, c net.Conn) (stop func()) {
	if deadline, ok := ctx.Deadline(); ok {
		c.SetDeadline(deadline)
	}
	unbind := context.AfterFunc(ctx, func() {
		// A deadline in the past wakes any blocked Read or Write.
		c.SetDeadline(time.Unix(1, 0))
	})
	return func() { unbind() }
}

// replySnippet is the first line of a reply, cut short and quoted unless it
// is plain printable text: a banner ("SSH-2.0-OpenSSH_9.6") is worth seeing.
func replySnippet(reply []byte) string {
	if len(reply) == 0 {
		return ""
	}
	line, _, _ := bytes.Cut(reply, []byte("\n"))
	line = bytes.TrimRight(line, "\r")
	s := uptime.Truncate(string(line), tcpDetailBytes)
	if !utf8.ValidString(s) || strings.ContainsFunc(s, func(r rune) bool { return r < ' ' || r == 0x7f }) {
		return quoteSnippet(line)
	}
	return s
}

// quoteSnippet quotes the start of b for an error text.
func quoteSnippet(b []byte) string {
	if len(b) > tcpDetailBytes {
		return strconv.Quote(string(b[:tcpDetailBytes])) + "…"
	}
	return strconv.Quote(string(b))
}
