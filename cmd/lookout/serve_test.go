package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lookout/lookout/internal/testkit"
)

// served is `lookout serve` running in the test's process.
type served struct {
	base string
	logs *testkit.LogBuffer
	stop func() error // cancels serve and returns its error
}

// serveInProcess runs serve on a free loopback port with a fresh SQLite
// database (unless a tweak of the config says otherwise), logging JSON at
// debug level to a buffer, and waits until it listens.
func serveInProcess(t testing.TB, timeouts httpTimeouts, tweaks ...func(*config)) *served {
	t.Helper()
	cfg := defaultConfig()
	cfg.Addr = "127.0.0.1:0"
	cfg.DB = filepath.Join(t.TempDir(), "lookout.db")
	for _, tweak := range tweaks {
		tweak(&cfg)
	}
	sv := &served{logs: &testkit.LogBuffer{}}
	log := testkit.JSONLogger(sv.logs)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serveWith(ctx, cfg, log, timeouts) }()
	var stopped bool
	var err error
	sv.stop = func() error {
		if !stopped {
			stopped = true
			cancel()
			select {
			case err = <-done:
			case <-time.After(30 * time.Second):
				err = errors.New("serve did not return within 30s of its cancel")
			}
		}
		return err
	}
	t.Cleanup(func() { _ = sv.stop() })

	testkit.WaitFor(t, func() bool {
		for line := range strings.SplitSeq(sv.logs.String(), "\n") {
			var rec struct {
				Msg  string `json:"msg"`
				Addr string `json:"addr"`
			}
			if json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == "lookout listening" {
				sv.base = rec.Addr
				return true
			}
		}
		select {
		case err := <-done:
			t.Fatalf("serve returned before listening: %v\n%s", err, sv.logs)
		default:
		}
		return false
	}, func() string { return fmt.Sprintf("serve did not listen\n%s", sv.logs) })
	return sv
}

func (sv *served) do(t testing.TB, method, path, body string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, sv.base+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// short are timeouts a test can outlast.
var short = httpTimeouts{ReadHeader: 300 * time.Millisecond, Read: 300 * time.Millisecond, Write: 300 * time.Millisecond, Idle: time.Second}

// A client that sends its headers or its body a byte at a time is cut off
// when the read timeout runs out: the server closes the connection.
func TestSlowClientIsCutOff(t *testing.T) {
	sv := serveInProcess(t, short)
	host := strings.TrimPrefix(sv.base, "http://")
	headers := "POST /api/v1/targets HTTP/1.1\r\nHost: " + host + "\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n"
	for _, tc := range []struct {
		name          string
		sent, trickle string
	}{
		{"body", headers, strings.Repeat("x", 1000)},
		{"headers", "", headers},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conn, err := net.Dial("tcp", host)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			if _, err := io.WriteString(conn, tc.sent); err != nil {
				t.Fatal(err)
			}
			stop := make(chan struct{})
			defer close(stop)
			go func() {
				tick := time.NewTicker(50 * time.Millisecond)
				defer tick.Stop()
				for i := range len(tc.trickle) {
					select {
					case <-stop:
						return
					case <-tick.C:
					}
					if _, err := conn.Write([]byte{tc.trickle[i]}); err != nil {
						return
					}
				}
			}()

			// Whatever the server answers, it must then close: a read
			// that hits this deadline instead means it kept the client.
			start := time.Now()
			if err := conn.SetReadDeadline(start.Add(10 * time.Second)); err != nil {
				t.Fatal(err)
			}
			_, err = io.Copy(io.Discard, conn)
			if err != nil && !errors.Is(err, syscall.ECONNRESET) {
				t.Fatalf("after %s: %v, want the server to close the connection", time.Since(start).Round(time.Millisecond), err)
			}
		})
	}
}

// The production timeouts cut a slow sender off within 30 s, and leave a
// response the time its handler may take.
func TestHTTPTimeoutDefaults(t *testing.T) {
	d := defaultHTTPTimeouts
	if d.ReadHeader <= 0 || d.ReadHeader > 30*time.Second || d.Read <= 0 || d.Read > 30*time.Second {
		t.Errorf("read timeouts %s (headers), %s (request), want both within 30s", d.ReadHeader, d.Read)
	}
	if d.Write < d.Read+apiRequestTimeout {
		t.Errorf("write timeout %s cuts a request read in %s and handled in %s", d.Write, d.Read, apiRequestTimeout)
	}
	if d.Idle <= 60*time.Second {
		t.Errorf("idle timeout %s, want above the 60s load balancers keep idle connections", d.Idle)
	}
	srv := newHTTPServer(http.NotFoundHandler(), slog.New(slog.DiscardHandler), d)
	if srv.ReadHeaderTimeout != d.ReadHeader || srv.ReadTimeout != d.Read || srv.WriteTimeout != d.Write || srv.IdleTimeout != d.Idle {
		t.Errorf("server timeouts %s %s %s %s, want %+v", srv.ReadHeaderTimeout, srv.ReadTimeout, srv.WriteTimeout, srv.IdleTimeout, d)
	}
}

// "Check now" of a target slower than the server's write timeout still
// gets its answer: the route moves its own deadline by the target's timeout.
func TestCheckNowOutlastsTheWriteTimeout(t *testing.T) {
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(4 * short.Write):
		case <-r.Context().Done():
		}
	}))
	defer slow.Close()
	sv := serveInProcess(t, short)
	body := fmt.Sprintf(`{"url": %q, "interval": "1h", "timeout": "30s"}`, slow.URL)
	if code, b := sv.do(t, "PUT", "/api/v1/targets/slow", body); code != http.StatusCreated {
		t.Fatalf("create: %d %s", code, b)
	}
	code, b := sv.do(t, "POST", "/api/v1/targets/slow/check", "")
	var res struct {
		Status string `json:"status"`
		Code   int    `json:"code"`
	}
	if code != http.StatusOK || json.Unmarshal(b, &res) != nil || res.Status != "up" || res.Code != 200 {
		t.Fatalf("check now: %d %s, want 200 and an up result", code, b)
	}
}

// A clean stop logs no error: the dispatcher's and the scheduler's ends
// are not failures.
func TestCleanStopLogsNoError(t *testing.T) {
	sv := serveInProcess(t, defaultHTTPTimeouts)
	if code, b := sv.do(t, "GET", "/health/ready", ""); code != http.StatusOK {
		t.Fatalf("ready: %d %s", code, b)
	}
	if err := sv.stop(); err != nil {
		t.Fatalf("serve: %v\n%s", err, sv.logs)
	}
	logs := sv.logs.String()
	if !strings.Contains(logs, `"msg":"stopped"`) {
		t.Fatalf("no stopped line:\n%s", logs)
	}
	for line := range strings.SplitSeq(logs, "\n") {
		if strings.Contains(line, `"level":"ERROR"`) {
			t.Errorf("error logged on a clean stop: %s", line)
		}
	}
}
