package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/lookout/lookout/internal/testkit"
)

// chromiumPath is Debian's chromium; .ci/run installs it.
const chromiumPath = "/usr/bin/chromium"

var screenshots = flag.Bool("screenshots", false, "write the dashboard's screenshots to docs/screenshots/")

// TestDashboardInBrowser drives headless Chromium through a real Lookout
// checking real loopback targets: sign-in, the overview's states, the
// filter, a target page with its chart, "check now" through the API with
// the session cookie and CSRF token, dark mode. With -screenshots it
// writes the README's screenshots to docs/screenshots/.
func TestDashboardInBrowser(t *testing.T) {
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Skipf("no Chromium at %s (apt-get install chromium): the dashboard's browser test is skipped", chromiumPath)
	}
	bin := binary(t)

	healthy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/health+json")
		fmt.Fprint(w, `{"status":"pass","checks":{"db":[{"status":"pass","observedValue":3,"observedUnit":"ms"}],"cache":[{"status":"pass"}]}}`)
	}))
	defer healthy.Close()
	broken := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/health+json")
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprint(w, `{"status":"fail","checks":{"db":[{"status":"fail","output":"connection refused"}],"cache":[{"status":"pass"}]}}`)
	}))
	defer broken.Close()

	in := start(t, bin, filepath.Join(t.TempDir(), "lookout.db"),
		"--api-token", "write-secret", "--read-tokens", "viewer", "--status-page-label", "public=yes")
	api := func(method, path, body string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest(method, in.base+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer write-secret")
		req.Header.Set("Content-Type", "application/json")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	for name, spec := range map[string]string{
		"checkout":      `{"url":"` + healthy.URL + `/health","interval":"1s","timeout":"500ms","labels":{"team":"shop","public":"yes"}}`,
		"payments-api":  `{"url":"` + broken.URL + `/health","interval":"1s","timeout":"500ms","failure_threshold":1,"labels":{"team":"payments","public":"yes"}}`,
		"search":        `{"url":"` + healthy.URL + `/health","interval":"1s","timeout":"500ms","labels":{"team":"shop"}}`,
		"payments-edge": `{"url":"` + healthy.URL + `/","interval":"1s","timeout":"500ms","labels":{"team":"payments"},"depends_on":[]}`,
	} {
		res := api("PUT", "/api/v1/targets/"+name, spec)
		res.Body.Close()
		if res.StatusCode != http.StatusCreated {
			t.Fatalf("register %s: %d", name, res.StatusCode)
		}
	}
	want := map[string]string{"checkout": "up", "payments-api": "down", "search": "up", "payments-edge": "up"}
	waitFor(t, 20*time.Second, "every target judged", func() bool {
		for name, st := range want {
			res := api("GET", "/api/v1/targets/"+name, "")
			var v struct {
				State struct{ Status string } `json:"state"`
			}
			_ = json.NewDecoder(res.Body).Decode(&v)
			res.Body.Close()
			if v.State.Status != st {
				return false
			}
		}
		return true
	})

	profile := t.TempDir()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.NoFirstRun, chromedp.UserDataDir(profile),
		chromedp.WindowSize(1280, 860),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	if err := chromedp.Do(ctx); err != nil { // start the browser, with no timeout on it
		t.Fatalf("start Chromium: %v", err)
	}
	ctx, cancelTimeout := context.WithTimeout(ctx, 30*time.Second)
	defer cancelTimeout()
	b := &browser{t: t, ctx: ctx, logs: in.logs}
	shots := t.TempDir()
	if *screenshots {
		shots = filepath.Join("..", "..", "docs", "screenshots")
	}
	shot := func(name string) {
		t.Helper()
		png := see(b, "screenshot "+name, chromedp.FullScreenshot(100))
		if err := os.WriteFile(filepath.Join(shots, name), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	rows := func() string {
		t.Helper()
		got := see(b, "read the rows", chromedp.Evaluate[map[string]string](`Object.fromEntries([...document.querySelectorAll("table.targets tbody tr")]
			.filter(r => r.querySelector("th a")).map(r => [r.querySelector("th a").textContent, r.querySelector(".st").textContent]))`))
		return fmt.Sprint(got)
	}

	// Tokens are configured: the dashboard asks for one first.
	b.do("open the overview", chromedp.Navigate(in.base+"/"), chromedp.WaitVisible(chromedp.CSS(`#token`)))
	if url := see(b, "location", chromedp.Location()); !strings.Contains(url, "/login") {
		t.Fatalf("without a token the overview opened at %s, not the sign-in page", url)
	}
	b.do("sign in", chromedp.SendKeys(chromedp.CSS(`#token`), "write-secret"), chromedp.Submit(chromedp.CSS(`#token`)),
		chromedp.WaitVisible(chromedp.CSS(`table.targets`)))
	if got := rows(); got != fmt.Sprint(want) {
		t.Errorf("the overview shows %v, want %v", got, want)
	}
	if first := see(b, "first row", chromedp.Text(chromedp.CSS(`table.targets tbody tr th a`))); first != "payments-api" {
		t.Errorf("first row %q, want the down target first", first)
	}
	shot("overview.png")

	b.do("filter by name", chromedp.SendKeys(chromedp.CSS(`input[name=q]`), "pay"), chromedp.Submit(chromedp.CSS(`input[name=q]`)),
		chromedp.WaitVisible(chromedp.CSS(`form.filters a[href="/"]`))) // "Clear": the overview is filtered
	if got := rows(); got != fmt.Sprint(map[string]string{"payments-api": "down", "payments-edge": "up"}) {
		t.Errorf("filtered by 'pay', the overview shows %v", got)
	}
	b.do("filter by state and label", chromedp.Navigate(in.base+"/?status=up&label=team%3Dshop"), chromedp.WaitVisible(chromedp.CSS(`table.targets`)))
	if got := rows(); got != fmt.Sprint(map[string]string{"checkout": "up", "search": "up"}) {
		t.Errorf("filtered by up and team=shop, the overview shows %v", got)
	}

	b.do("dark mode", chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
			Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: "dark"}}})
		return err
	}), chromedp.Navigate(in.base+"/"), chromedp.WaitVisible(chromedp.CSS(`table.targets`)))
	if bg := see(b, "background", chromedp.Evaluate[string](`getComputedStyle(document.body).backgroundColor`)); bg != "rgb(13, 17, 23)" {
		t.Errorf("in dark mode the page's background is %s", bg)
	}
	shot("overview-dark.png")
	b.do("light mode again", chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{})
		return err
	}))

	b.do("open a target", chromedp.Navigate(in.base+"/targets/payments-api?range=1h"), chromedp.WaitVisible(chromedp.CSS(`figure.chart svg`)))
	if n := see(b, "count the chart's lines", chromedp.Evaluate[int](`document.querySelectorAll("figure.chart polyline, figure.chart circle").length`)); n == 0 {
		t.Error("the target page's chart has no line")
	}
	if why := see(b, "read why", chromedp.Text(chromedp.CSS(`.why`))); !strings.Contains(why, "db") || !strings.Contains(why, "connection refused") {
		t.Errorf("the target page does not say why it is down: %q", why)
	}
	shot("target.png")

	// Pause and check now go to the API with the cookie and the CSRF token.
	b.do("pause", chromedp.Click(chromedp.CSS(`button[data-action=pause]`)), chromedp.WaitVisible(chromedp.CSS(`button[data-action=resume]`)))
	res := api("GET", "/api/v1/targets/payments-api", "")
	var paused struct{ Paused bool }
	_ = json.NewDecoder(res.Body).Decode(&paused)
	res.Body.Close()
	if !paused.Paused {
		t.Error("the Pause button did not pause the target")
	}
	count := func() int {
		res := api("GET", "/api/v1/targets/payments-api/results?limit=500", "")
		defer res.Body.Close()
		var v struct{ Results []json.RawMessage }
		_ = json.NewDecoder(res.Body).Decode(&v)
		return len(v.Results)
	}
	before := count()
	b.do("check now", chromedp.Click(chromedp.CSS(`button[data-action=check]`)))
	waitFor(t, 10*time.Second, "the result of check now", func() bool { return count() > before })

}

// browser runs chromedp actions for a test, failing it with Lookout's
// log on error.
type browser struct {
	t    *testing.T
	ctx  context.Context
	logs *testkit.LogBuffer
}

func (b *browser) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, steps...); err != nil {
		b.t.Fatalf("%s: %v\nlookout's log:\n%s", what, err, b.logs)
	}
}

func see[T any](b *browser, what string, a chromedp.Action[T]) T {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, a)
	if err != nil {
		b.t.Fatalf("%s: %v\nlookout's log:\n%s", what, err, b.logs)
	}
	return v
}

// waitFor polls cond until it holds, or fails the test after d.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, d)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
