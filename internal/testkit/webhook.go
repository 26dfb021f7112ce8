package testkit

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
)

// Webhook is an HTTP endpoint standing in for a webhook receiver: it
// records every request it accepts and answers as SetAnswer says (204 by
// default). It is safe for concurrent use.
type Webhook struct {
	// URL is where the endpoint listens until the test ends.
	URL string

	mu     sync.Mutex
	got    []Request
	answer func(r *http.Request, body []byte) int
}

// Request is one request a Webhook accepted.
type Request struct {
	Header http.Header
	Body   []byte
}

// Message is a Standard Webhooks message of Lookout's: its webhook-id
// header and its JSON body's type and data.
type Message struct {
	ID   string
	Type string
	Data map[string]any
}

// NewWebhook starts a Webhook that the test's end closes.
func NewWebhook(t testing.TB) *Webhook {
	t.Helper()
	w := &Webhook{}
	srv := httptest.NewServer(http.HandlerFunc(w.serve))
	t.Cleanup(srv.Close)
	w.URL = srv.URL
	return w
}

// WebhookSecret is the whsec_ secret that NewSignedWebhook checks
// signatures against: register the channel with it.
const WebhookSecret = "whsec_MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="

var webhookKey = []byte("0123456789abcdef0123456789abcdef")

// NewSignedWebhook starts a Webhook that also checks every request's
// Standard Webhooks signature against WebhookSecret: a request signed
// otherwise fails the test and is answered 401, unrecorded.
func NewSignedWebhook(t testing.TB) *Webhook {
	t.Helper()
	w := NewWebhook(t)
	w.SetAnswer(func(r *http.Request, body []byte) int {
		if !SignatureValid(webhookKey, r.Header, body) {
			t.Errorf("webhook %s is not signed with the test secret: %q", r.Header.Get("webhook-id"), r.Header.Get("webhook-signature"))
			return http.StatusUnauthorized
		}
		return http.StatusNoContent
	})
	return w
}

// SignatureValid reports whether h carries the Standard Webhooks v1
// signature of body under key, computed here independently of the code
// under test.
func SignatureValid(key []byte, h http.Header, body []byte) bool {
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(h.Get("webhook-id") + "." + h.Get("webhook-timestamp") + "." + string(body)))
	return hmac.Equal([]byte(h.Get("webhook-signature")), []byte("v1,"+base64.StdEncoding.EncodeToString(mac.Sum(nil))))
}

func (w *Webhook) serve(rw http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	w.mu.Lock()
	answer := w.answer
	w.mu.Unlock()
	status := http.StatusNoContent
	if answer != nil {
		status = answer(r, body)
	}
	if status < 300 {
		w.mu.Lock()
		w.got = append(w.got, Request{Header: r.Header.Clone(), Body: body})
		w.mu.Unlock()
	}
	rw.WriteHeader(status)
}

// SetAnswer makes fn choose the status of each later request; a request
// answered 300 or more is not recorded. nil answers 204.
func (w *Webhook) SetAnswer(fn func(r *http.Request, body []byte) int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.answer = fn
}

// Received returns the requests accepted so far, oldest first.
func (w *Webhook) Received() []Request {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.got)
}

// Messages returns the accepted requests decoded as Lookout's webhook
// messages. A body that is not such JSON fails the test.
func (w *Webhook) Messages(t testing.TB) []Message {
	t.Helper()
	var out []Message
	for _, r := range w.Received() {
		var m struct {
			Type string         `json:"type"`
			Data map[string]any `json:"data"`
		}
		if err := json.Unmarshal(r.Body, &m); err != nil {
			t.Fatalf("webhook body %s: %v", r.Body, err)
		}
		out = append(out, Message{ID: r.Header.Get("webhook-id"), Type: m.Type, Data: m.Data})
	}
	return out
}
