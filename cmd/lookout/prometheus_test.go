package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/lookout/lookout/internal/testkit"
)

// TestPrometheusScrapesLookout runs a real Prometheus server scraping a
// running Lookout on loopback every second and asks Prometheus' own HTTP
// API for what a user would chart: the checks counter and the 95th
// percentile of the check duration histogram; then every query of the
// Grafana dashboard in deploy/grafana, which must parse and name only
// series Lookout exports. promtool, beside it, lints the exposition. Both
// come from Debian's prometheus package; without it the test skips.
func TestPrometheusScrapesLookout(t *testing.T) {
	t.Parallel()
	prom, err := exec.LookPath("prometheus")
	if err != nil {
		t.Skip("prometheus is not installed (Debian package prometheus): the scrape by a real Prometheus is not tested")
	}
	in := start(t, binary(t), filepath.Join(t.TempDir(), "lookout.db"), "--metrics-targets")
	in.do(t, "PUT", "/api/v1/targets/self", `{"url":"`+in.base+`/livez","interval":"1s"}`, http.StatusCreated)

	var exposition []byte
	testkit.WaitFor(t, func() bool {
		exposition = in.do(t, "GET", "/metrics", "", http.StatusOK)
		return bytes.Contains(exposition, []byte("lookout_target_duration_seconds{"))
	}, testkit.Waiting("the target's first check in /metrics"))
	if promtool, err := exec.LookPath("promtool"); err == nil {
		cmd := exec.Command(promtool, "check", "metrics")
		cmd.Stdin = bytes.NewReader(exposition)
		if out, err := cmd.CombinedOutput(); err != nil || len(bytes.TrimSpace(out)) > 0 {
			t.Errorf("promtool check metrics: %v\n%s", err, out)
		}
	}

	dir := t.TempDir()
	target := strings.TrimPrefix(in.base, "http://")
	config := fmt.Sprintf("global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: lookout\n    static_configs:\n      - targets: [%q]\n", target)
	if err := os.WriteFile(filepath.Join(dir, "prometheus.yml"), []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	logs := &testkit.LogBuffer{}
	cmd := exec.Command(prom, "--config.file="+filepath.Join(dir, "prometheus.yml"), "--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr)
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })

	query := func(q string) (int, string) {
		resp, err := http.Get("http://" + addr + "/api/v1/query?query=" + url.QueryEscape(q))
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		var body struct {
			Status string `json:"status"`
			Data   struct {
				Result []struct {
					Value []any `json:"value"`
				} `json:"result"`
			} `json:"data"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
			return 0, err.Error()
		}
		if body.Status != "success" || len(body.Data.Result) == 0 {
			return 0, fmt.Sprintf("status %s, %d series", body.Status, len(body.Data.Result))
		}
		v, _ := body.Data.Result[0].Value[1].(string)
		return len(body.Data.Result), v
	}
	for _, q := range []string{
		`up{job="lookout"} == 1`,
		`lookout_checks_total{job="lookout"} > 0`,
		`histogram_quantile(0.95, sum by (le) (rate(lookout_check_duration_seconds_bucket{job="lookout"}[10s]))) > 0`,
	} {
		var last string
		testkit.WaitFor(t, func() bool {
			n, v := query(q)
			last = v
			return n > 0
		}, func() string { return fmt.Sprintf("Prometheus has no answer to %s (last: %s)\n%s", q, last, logs) })
	}

	testGrafanaQueries(t, exposition, func(q string) error {
		resp, err := http.Get("http://" + addr + "/api/v1/query?query=" + url.QueryEscape(q))
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		var body struct {
			Status string `json:"status"`
			Error  string `json:"error"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
			return err
		}
		if body.Status != "success" {
			return fmt.Errorf("%s", body.Error)
		}
		return nil
	})
}

// testGrafanaQueries evaluates each query of the dashboard (its variables
// set as Grafana would) and checks that each series it names is in the
// exposition.
func testGrafanaQueries(t *testing.T, exposition []byte, eval func(string) error) {
	raw, err := os.ReadFile(filepath.Join("..", "..", "deploy", "grafana", "lookout.json"))
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(raw, &dash); err != nil {
		t.Fatalf("deploy/grafana/lookout.json: %v", err)
	}
	name := regexp.MustCompile(`lookout_[a-z_]+`)
	// The lease series exist only on PostgreSQL (several instances); on
	// this SQLite Lookout they are looked for in the metrics' definitions.
	defs, err := os.ReadFile(filepath.Join("..", "..", "internal", "web", "metrics.go"))
	if err != nil {
		t.Fatal(err)
	}
	clustered := map[string]bool{"lookout_cluster_instances": true, "lookout_leases_held": true}
	queries := 0
	for _, p := range dash.Panels {
		for _, tg := range p.Targets {
			queries++
			q := strings.NewReplacer("$job", "lookout", "$__rate_interval", "10s").Replace(tg.Expr)
			if err := eval(q); err != nil {
				t.Errorf("panel %q: %s: %v", p.Title, q, err)
			}
			for _, n := range name.FindAllString(q, -1) {
				if clustered[n] && bytes.Contains(defs, []byte(`"`+n+`"`)) {
					continue
				}
				if !bytes.Contains(exposition, []byte("\n"+n)) {
					t.Errorf("panel %q names %s, which /metrics does not export", p.Title, n)
				}
			}
		}
	}
	if queries < 10 {
		t.Errorf("the dashboard has %d queries", queries)
	}
}
