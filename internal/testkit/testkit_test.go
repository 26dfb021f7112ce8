package testkit

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// fatalTB records a Fatalf instead of ending the test, so that WaitFor's
// failure can be observed.
type fatalTB struct {
	testing.TB
	msg string
}

func (f *fatalTB) Helper() {}

func (f *fatalTB) Fatalf(format string, args ...any) {
	f.msg = fmt.Sprintf(format, args...)
	panic(f)
}

func TestWaitForReturnsOnceTheConditionHolds(t *testing.T) {
	n := 0
	WaitFor(t, func() bool { n++; return n == 3 }, Waiting("the third poll"))
	if n != 3 {
		t.Errorf("polled %d times, want 3", n)
	}
}

func TestWaitForFailsWithTheDescription(t *testing.T) {
	ft := &fatalTB{TB: t}
	start := time.Now()
	func() {
		defer func() {
			if r := recover(); r != nil && r != ft {
				panic(r)
			}
		}()
		waitFor(ft, 20*time.Millisecond, func() bool { return false }, Waiting("%s", "nothing"))
	}()
	if !strings.Contains(ft.msg, "waiting for nothing") {
		t.Errorf("failure %q does not say what it waited for", ft.msg)
	}
	if d := time.Since(start); d < 20*time.Millisecond {
		t.Errorf("gave up after %s, before its limit", d)
	}
}

func TestClock(t *testing.T) {
	t0 := time.Date(2026, 3, 14, 9, 0, 0, 0, time.UTC)
	c := NewClock(t0)
	c.Advance(90 * time.Second)
	if got := c.Now(); !got.Equal(t0.Add(90 * time.Second)) {
		t.Errorf("after Advance: %v", got)
	}
	c.Set(t0)
	if got := c.Now(); !got.Equal(t0) {
		t.Errorf("after Set: %v", got)
	}
}

func TestSignedWebhook(t *testing.T) {
	// The signature was computed apart from Go, with Python's hmac module
	// and the key whose secret is WebhookSecret.
	w := NewSignedWebhook(t)
	body := `{"type":"incident.opened","data":{"target":"api"}}`
	h := http.Header{}
	h.Set("webhook-id", "msg_1")
	h.Set("webhook-timestamp", "1773480413")
	h.Set("webhook-signature", "v1,mTGdrTqpAQ9QVLRqaYdPXIn8AxM5E6pKjqzJN8RZWoo=")
	if WebhookSecret != "whsec_"+base64.StdEncoding.EncodeToString(webhookKey) {
		t.Fatalf("WebhookSecret %s is not the key's", WebhookSecret)
	}
	if !SignatureValid(webhookKey, h, []byte(body)) {
		t.Fatal("the reference signature is refused")
	}
	if SignatureValid(webhookKey, h, []byte(body+" ")) {
		t.Fatal("a signature is valid for another body")
	}
	req, _ := http.NewRequest("POST", w.URL, strings.NewReader(body))
	req.Header = h
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Errorf("status %d, want 204", resp.StatusCode)
	}
	ms := w.Messages(t)
	if len(ms) != 1 || ms[0].ID != "msg_1" || ms[0].Type != "incident.opened" || ms[0].Data["target"] != "api" {
		t.Errorf("messages %+v", ms)
	}
}
