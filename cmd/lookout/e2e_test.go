package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/lookout/lookout/internal/testkit"
)

// TestMain removes the binary the tests built and the PostgreSQL schemas
// they shared, and lets more tests run at
// once than there are CPUs unless -test.parallel is given: the end-to-end
// tests spend their time waiting for a lookout process's one-second check
// intervals and its group_wait, not on the CPU.
func TestMain(m *testing.M) {
	flag.Parse()
	given := false
	flag.Visit(func(f *flag.Flag) { given = given || f.Name == "test.parallel" })
	if !given {
		if err := flag.Set("test.parallel", strconv.Itoa(max(8, runtime.GOMAXPROCS(0)))); err != nil {
			panic(err)
		}
	}
	code := m.Run()
	testkit.DropPostgresSchemas()
	if binaryDir != "" {
		os.RemoveAll(binaryDir)
	}
	os.Exit(code)
}

// binaryDir holds the lookout binary buildBinary built, if it did.
var binaryDir string

// buildBinary builds lookout once per test run.
var buildBinary = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "lookout-e2e-")
	if err != nil {
		return "", err
	}
	binaryDir = dir
	bin := filepath.Join(dir, "lookout")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, out)
	}
	return bin, nil
})

func binary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs the binary; skipped with -short")
	}
	bin, err := buildBinary()
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

// instance is a running lookout process.
type instance struct {
	cmd  *exec.Cmd
	base string
	logs *testkit.LogBuffer
	done chan error
}

// start runs `lookout serve` on a free loopback port with the given DB
// (and flags) and waits for its "lookout listening" log line.
func start(t *testing.T, bin, db string, flags ...string) *instance {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"serve", "--addr", "127.0.0.1:0", "--db", db, "--log-format", "json"}, flags...)...)
	cmd.Env = append(os.Environ(), "LOOKOUT_API_TOKEN=") // no token: loopback only
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	in := &instance{cmd: cmd, logs: &testkit.LogBuffer{}, done: make(chan error, 1)}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			line := sc.Text()
			fmt.Fprintln(in.logs, line)
			var rec struct {
				Msg  string `json:"msg"`
				Addr string `json:"addr"`
			}
			if json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == "lookout listening" {
				addr <- rec.Addr
			}
		}
		in.done <- cmd.Wait()
	}()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
		}
	})
	select {
	case in.base = <-addr:
	case err := <-in.done:
		t.Fatalf("lookout exited before listening: %v\n%s", err, in.logs)
	case <-time.After(30 * time.Second):
		t.Fatalf("lookout did not log where it listens within 30s\n%s", in.logs)
	}
	return in
}

// stop sends SIGTERM and asserts a clean exit.
func (in *instance) stop(t *testing.T) {
	t.Helper()
	if err := in.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-in.done:
		if err != nil {
			t.Fatalf("lookout exited with %v after SIGTERM\n%s", err, in.logs)
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("lookout did not stop within 20s of SIGTERM\n%s", in.logs)
	}
}

func (in *instance) do(t *testing.T, method, path, body string, want int) []byte {
	t.Helper()
	req, err := http.NewRequest(method, in.base+path, strings.NewReader(body))
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
	if resp.StatusCode != want {
		t.Fatalf("%s %s: status %d, want %d: %s", method, path, resp.StatusCode, want, b)
	}
	return b
}

type apiResult struct {
	Status     string `json:"status"`
	Code       int    `json:"code"`
	ErrorClass string `json:"error_class"`
	Error      string `json:"error"`
	DurationUS int64  `json:"duration_us"`
	StartedAt  string `json:"started_at"`
}

func (in *instance) results(t *testing.T, name string) []apiResult {
	t.Helper()
	var page struct {
		Results []apiResult `json:"results"`
	}
	if err := json.Unmarshal(in.do(t, "GET", "/api/v1/targets/"+name+"/results?limit=1000", "", 200), &page); err != nil {
		t.Fatal(err)
	}
	return page.Results
}

// waitResults polls until name has at least n results.
func (in *instance) waitResults(t *testing.T, name string, n int) []apiResult {
	t.Helper()
	var rs []apiResult
	testkit.WaitFor(t, func() bool { rs = in.results(t, name); return len(rs) >= n },
		func() string { return fmt.Sprintf("%s has %d results, want %d\n%s", name, len(rs), n, in.logs) })
	return rs
}

// settled waits until the outbox holds no pending delivery of the event
// types: everything of theirs was sent, or given up.
func (in *instance) settled(t *testing.T, types ...string) {
	t.Helper()
	testkit.WaitFor(t, func() bool {
		var page struct {
			Notifications []struct {
				Event struct {
					Type string `json:"type"`
				} `json:"event"`
			} `json:"notifications"`
		}
		mustJSON(t, in.do(t, "GET", "/api/v1/notifications?status=pending&limit=500", "", 200), &page)
		for _, n := range page.Notifications {
			if slices.Contains(types, n.Event.Type) {
				return false
			}
		}
		return true
	}, func() string { return fmt.Sprintf("deliveries of %v still pending\n%s", types, in.logs) })
}

func TestEndToEnd(t *testing.T) {
	t.Parallel()
	bin := binary(t)
	healthy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"status":"UP"}`)
	}))
	defer healthy.Close()
	failing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "database unreachable", http.StatusInternalServerError)
	}))
	defer failing.Close()
	release := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	}))
	defer slow.Close()
	defer close(release)

	db := filepath.Join(t.TempDir(), "lookout.db")
	in := start(t, bin, db)
	for _, tg := range []struct{ name, body string }{
		{"healthy", `{"url":"` + healthy.URL + `","interval":"1s","labels":{"team":"e2e"}}`},
		{"failing", `{"url":"` + failing.URL + `","interval":"1s","failure_threshold":2}`},
		{"slow", `{"url":"` + slow.URL + `","interval":"1s","timeout":"300ms"}`},
	} {
		in.do(t, "PUT", "/api/v1/targets/"+tg.name, tg.body, http.StatusCreated)
		// The same PUT again changes nothing.
		in.do(t, "PUT", "/api/v1/targets/"+tg.name, tg.body, http.StatusOK)
	}

	for _, r := range in.waitResults(t, "healthy", 2) {
		if r.Status != "up" || r.Code != 200 || r.ErrorClass != "" {
			t.Errorf("healthy result %+v, want up 200", r)
		}
	}
	for _, r := range in.waitResults(t, "failing", 2) {
		if r.Status != "down" || r.Code != 500 || r.ErrorClass != "status" {
			t.Errorf("failing result %+v, want down 500 class status", r)
		}
	}
	for _, r := range in.waitResults(t, "slow", 2) {
		// Far below the default timeout of 10 s, with room for a loaded
		// machine.
		if r.Status != "down" || r.ErrorClass != "timeout" || r.DurationUS > 2_500_000 {
			t.Errorf("slow result %+v, want down class timeout within ~300ms", r)
		}
	}
	rs := in.results(t, "healthy")
	var prev time.Time
	for i, r := range rs {
		at, err := time.Parse(time.RFC3339Nano, r.StartedAt)
		if err != nil {
			t.Fatalf("result %d: started_at %q: %v", i, r.StartedAt, err)
		}
		if i > 0 && !at.Before(prev) {
			t.Errorf("results are not newest first: %s (result %d) after %s", r.StartedAt, i, rs[i-1].StartedAt)
		}
		prev = at
	}

	var failingTarget struct {
		State struct {
			Status              string `json:"status"`
			ConsecutiveFailures int    `json:"consecutive_failures"`
			LastErrorClass      string `json:"last_error_class"`
		} `json:"state"`
	}
	if err := json.Unmarshal(in.do(t, "GET", "/api/v1/targets/failing", "", 200), &failingTarget); err != nil {
		t.Fatal(err)
	}
	if s := failingTarget.State; s.Status != "down" || s.ConsecutiveFailures < 2 || s.LastErrorClass != "status" {
		t.Errorf("failing target state %+v, want down after ≥2 failures", s)
	}

	// Check now returns a fresh result.
	var now apiResult
	if err := json.Unmarshal(in.do(t, "POST", "/api/v1/targets/healthy/check", "", 200), &now); err != nil {
		t.Fatal(err)
	}
	if now.Status != "up" || now.Code != 200 {
		t.Errorf("check now: %+v, want up 200", now)
	}

	// History answers from the checks so far: uptime per window, a trend,
	// the summary.
	var up struct {
		Windows []struct {
			Uptime *float64 `json:"uptime"`
			Checks int      `json:"checks"`
		} `json:"windows"`
	}
	mustJSON(t, in.do(t, "GET", "/api/v1/targets/failing/uptime?windows=1h", "", 200), &up)
	if len(up.Windows) != 1 || up.Windows[0].Checks < 2 || up.Windows[0].Uptime == nil || *up.Windows[0].Uptime != 0 {
		t.Errorf("failing's uptime %+v, want 0 over its checks; results %d", up.Windows, len(in.results(t, "failing")))
	}
	if trend := string(in.do(t, "GET", "/api/v1/targets/healthy/trend?step=1m", "", 200)); !strings.Contains(trend, `"uptime":1`) {
		t.Errorf("healthy's trend has no bucket of full uptime: %s", trend)
	}
	if sum := string(in.do(t, "GET", "/api/v1/summary", "", 200)); !strings.Contains(sum, `"targets":3`) || !strings.Contains(sum, `"down":`) {
		t.Errorf("summary %s, want 3 targets, some down", sum)
	}

	// Probes and metrics answer.
	in.do(t, "GET", "/health/live", "", 200)
	if r := string(in.do(t, "GET", "/health/ready", "", 200)); !strings.Contains(r, `"scheduler:missed":[{"status":"pass","observedValue":0`) {
		t.Errorf("/health/ready lacks a passing scheduler:missed: %s", r)
	}
	m := string(in.do(t, "GET", "/metrics", "", 200))
	for _, want := range []string{"lookout_checks_total", `lookout_checks_missed_total{reason="overloaded"} 0`} {
		if !strings.Contains(m, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}

	before := map[string]int{}
	for _, n := range []string{"healthy", "failing", "slow"} {
		before[n] = len(in.results(t, n))
	}
	in.stop(t)
	if !strings.Contains(in.logs.String(), `"msg":"stopped"`) {
		t.Errorf("no 'stopped' log line after SIGTERM:\n%s", in.logs)
	}

	// A restart keeps targets and history, and checking goes on.
	in = start(t, bin, db)
	var list struct {
		Targets []struct {
			Name string `json:"name"`
		} `json:"targets"`
	}
	if err := json.Unmarshal(in.do(t, "GET", "/api/v1/targets", "", 200), &list); err != nil {
		t.Fatal(err)
	}
	if len(list.Targets) != 3 {
		t.Fatalf("after restart %d targets, want 3: %+v", len(list.Targets), list.Targets)
	}
	for n, c := range before {
		if got := len(in.results(t, n)); got < c {
			t.Errorf("after restart %s has %d results, had %d before", n, got, c)
		}
	}
	in.waitResults(t, "healthy", before["healthy"]+1)
	in.stop(t)
}

func TestCheckCommand(t *testing.T) {
	t.Parallel()
	bin := binary(t)
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok") }))
	defer up.Close()
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(503) }))
	defer down.Close()
	tests := []struct {
		args     []string
		wantCode int
		wantOut  string
	}{
		{[]string{"check", up.URL}, 0, "UP " + up.URL + " 200"},
		{[]string{"check", down.URL}, 2, "DOWN " + down.URL + " 503"},
		{[]string{"check", "--expect-status", "503", down.URL}, 0, "UP"},
		{[]string{"check", "http://127.0.0.1:1/"}, 2, "refused"},
		{[]string{"check"}, 3, "give exactly one URL"},
		{[]string{"check", "--expect-status", "999", up.URL}, 3, "not an HTTP status code"},
		{[]string{"check", "ftp://example.test/"}, 3, "pass --kind"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			out, err := exec.Command(bin, tt.args...).CombinedOutput()
			code := 0
			var exit *exec.ExitError
			if errors.As(err, &exit) {
				code = exit.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			if code != tt.wantCode || !strings.Contains(string(out), tt.wantOut) {
				t.Errorf("exit %d, output %q; want exit %d and %q", code, out, tt.wantCode, tt.wantOut)
			}
		})
	}
}

func mustJSON(t *testing.T, b []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
}
