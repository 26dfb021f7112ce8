package probe

import (
	"bufio"
	"context"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/lookout/lookout/internal/uptime"
)

func TestValidateTCP(t *testing.T) {
	long := strings.Repeat("x", maxTCPPayloadBytes+1)
	tests := []struct {
		name string
		url  string
		opts *uptime.TCPOptions
		want []uptime.FieldError // nil: valid
	}{
		{"host and port", "db.internal:5432", nil, nil},
		{"ipv4", "10.0.0.1:22", nil, nil},
		{"ipv6", "[2001:db8::1]:443", nil, nil},
		{"highest port", "a:65535", nil, nil},
		{"send and expect", "a:25", &uptime.TCPOptions{Send: "EHLO x\r\n", Expect: "250"}, nil},
		{"empty url is left to the target", "", nil, nil},
		{"no port", "db.internal", nil, []uptime.FieldError{{Field: "url", Problem: "must be host:port, such as db.internal:5432 or [2001:db8::1]:443"}}},
		{"url", "tcp://db:5432", nil, []uptime.FieldError{{Field: "url", Problem: "must be host:port, such as db.internal:5432 or [2001:db8::1]:443, not a URL"}}},
		{"bad host", "db/1:5432", nil, []uptime.FieldError{{Field: "url", Problem: "must be host:port, such as db.internal:5432 or [2001:db8::1]:443"}}},
		{"no host", ":5432", nil, []uptime.FieldError{{Field: "url", Problem: "must be host:port, such as db.internal:5432 or [2001:db8::1]:443"}}},
		{"bare ipv6", "2001:db8::1:443", nil, []uptime.FieldError{{Field: "url", Problem: "must be host:port, such as db.internal:5432 or [2001:db8::1]:443"}}},
		{"port zero", "db:0", nil, []uptime.FieldError{{Field: "url", Problem: `has port "0"; the port must be a number from 1 to 65535 (must be host:port, such as db.internal:5432 or [2001:db8::1]:443)`}}},
		{"port too big", "db:65536", nil, []uptime.FieldError{{Field: "url", Problem: `has port "65536"; the port must be a number from 1 to 65535 (must be host:port, such as db.internal:5432 or [2001:db8::1]:443)`}}},
		{"named port", "db:postgres", nil, []uptime.FieldError{{Field: "url", Problem: `has port "postgres"; the port must be a number from 1 to 65535 (must be host:port, such as db.internal:5432 or [2001:db8::1]:443)`}}},
		{"payloads too long", "db:1", &uptime.TCPOptions{Send: long, Expect: long}, []uptime.FieldError{
			{Field: "tcp.send", Problem: "must be at most 4096 bytes"},
			{Field: "tcp.expect", Problem: "must be at most 4096 bytes"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := validateTCP(&uptime.Target{Kind: "tcp", URL: tt.url, TCP: tt.opts})
			assertFieldErrors(t, err, tt.want)
		})
	}
}

// pingPong answers each "PING" line with "PONG" and closes after reply
// lines when close is true.
func pingPong(reply string, closeAfter bool) func(net.Conn, <-chan struct{}) {
	return func(c net.Conn, done <-chan struct{}) {
		line, err := bufio.NewReader(c).ReadString('\n')
		if err != nil || line != "PING\n" {
			return
		}
		io.WriteString(c, reply)
		if !closeAfter {
			<-done
		}
	}
}

func TestTCPCheck(t *testing.T) {
	accept := silentAddr(t)
	closing := tcpServer(t, pingPong("PONG\n", true))
	holding := tcpServer(t, pingPong("PONG\n", false))
	banner := tcpServer(t, func(c net.Conn, done <-chan struct{}) {
		io.WriteString(c, "SSH-2.0-OpenSSH_9.6\r\n")
		<-done
	})
	trickling := tcpServer(t, func(c net.Conn, done <-chan struct{}) {
		for _, part := range []string{"+O", "K hel", "lo\r\n"} {
			io.WriteString(c, part)
			time.Sleep(10 * time.Millisecond)
		}
		<-done
	})
	chatty := tcpServer(t, func(c net.Conn, done <-chan struct{}) {
		io.WriteString(c, strings.Repeat("x", MaxTCPReadBytes+10)+"PONG")
		<-done
	})
	binary := tcpServer(t, func(c net.Conn, done <-chan struct{}) {
		c.Write([]byte{0x16, 0x03, 0x01, 0x00})
	})

	tests := []struct {
		name   string
		addr   string
		opts   *uptime.TCPOptions
		status uptime.Status
		class  uptime.ErrorClass
		err    string
		detail string
	}{
		{name: "connect", addr: accept, status: uptime.StatusUp},
		{name: "refused", addr: closedAddr(t), status: uptime.StatusDown, class: uptime.ClassRefused},
		{name: "ping pong", addr: closing, opts: &uptime.TCPOptions{Send: "PING\n", Expect: "PONG"}, status: uptime.StatusUp, detail: "PONG"},
		{name: "ping pong, connection kept", addr: holding, opts: &uptime.TCPOptions{Send: "PING\n", Expect: "PONG"}, status: uptime.StatusUp, detail: "PONG"},
		{name: "send only", addr: closing, opts: &uptime.TCPOptions{Send: "PING\n"}, status: uptime.StatusUp},
		{name: "wrong reply, then close", addr: closing, opts: &uptime.TCPOptions{Send: "PING\n", Expect: "PANG"}, status: uptime.StatusDown,
			class: uptime.ClassAssertion, err: `connection closed without "PANG"; got "PONG\n"`, detail: "PONG"},
		{name: "banner", addr: banner, opts: &uptime.TCPOptions{Expect: "SSH-2.0"}, status: uptime.StatusUp, detail: "SSH-2.0-OpenSSH_9.6"},
		{name: "expect split across reads", addr: trickling, opts: &uptime.TCPOptions{Expect: "OK hello"}, status: uptime.StatusUp, detail: "+OK hello"},
		{name: "expect past the read limit", addr: chatty, opts: &uptime.TCPOptions{Expect: "PONG"}, status: uptime.StatusDown,
			class: uptime.ClassAssertion, err: `no "PONG" in the first 65536 bytes of the reply`, detail: strings.Repeat("x", tcpDetailBytes-len("…")) + "…"},
		{name: "binary reply", addr: binary, opts: &uptime.TCPOptions{Expect: "220"}, status: uptime.StatusDown,
			class: uptime.ClassAssertion, err: `connection closed without "220"; got "\x16\x03\x01\x00"`, detail: `"\x16\x03\x01\x00"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runTarget(t, nil, uptime.Target{Kind: "tcp", URL: tt.addr, TCP: tt.opts})
			wantVerdict(t, r, tt.status, tt.class, tt.err, tt.detail)
		})
	}
}

func TestTCPSilentServerTimesOut(t *testing.T) {
	t.Parallel()
	silent := silentAddr(t)
	holding := tcpServer(t, pingPong("PONG\n", false))
	for name, target := range map[string]uptime.Target{
		"never answers":       {URL: silent, TCP: &uptime.TCPOptions{Expect: "220"}},
		"answers wrong, open": {URL: holding, TCP: &uptime.TCPOptions{Send: "PING\n", Expect: "PANG"}},
	} {
		t.Run(name, func(t *testing.T) {
			target.Kind = "tcp"
			target.Timeout = uptime.Duration(hangTimeout)
			start := time.Now()
			r := runTarget(t, nil, target)
			elapsed := time.Since(start)
			if r.Status != uptime.StatusDown || r.ErrorClass != uptime.ClassTimeout {
				t.Fatalf("got %s/%s %q, want down/timeout", r.Status, r.ErrorClass, r.Error)
			}
			if !strings.HasPrefix(r.Error, "timed out waiting for ") {
				t.Errorf("error %q does not say what the check waited for", r.Error)
			}
			if elapsed > hangTimeout+hangSlack {
				t.Errorf("took %s with a timeout of %s", elapsed, hangTimeout)
			}
		})
	}
}

func TestTCPCancelEndsCheck(t *testing.T) {
	silent := silentAddr(t)
	target := uptime.Target{Name: "t", Kind: "tcp", URL: silent, TCP: &uptime.TCPOptions{Expect: "x"}, Timeout: uptime.Duration(time.Minute)}
	target.Normalize()
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	start := time.Now()
	r := New(Options{}).Check(ctx, target)
	if elapsed := time.Since(start); elapsed > time.Second {
		t.Errorf("cancelled check took %s", elapsed)
	}
	// Lookout stopping tells nothing about the target.
	if r.Status != uptime.StatusUnknown || r.ErrorClass != uptime.ClassInternal {
		t.Errorf("got %s/%s %q, want unknown/internal", r.Status, r.ErrorClass, r.Error)
	}
}
