package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/lookout/lookout/internal/uptime"
)

// Webhook: a JSON POST signed per the Standard Webhooks spec. The
// webhook-id is the same on every retry of the same deliveries, so that a
// receiver can drop duplicates; webhook-timestamp is the attempt's.
func init() {
	register(kind{
		name:     "webhook",
		validate: validateWebhook,
		send:     sendWebhook,
		render: func(m message) ([]byte, error) {
			return json.MarshalIndent(webhookBody(m), "", "  ")
		},
	})
}

// secretPrefix starts a Standard Webhooks signing secret; the rest is the
// base64 of the key.
const secretPrefix = "whsec_"

func validateWebhook(c *uptime.Channel) error {
	var v uptime.ValidationError
	if c.URL == "" {
		v.Add("url", "is required")
	} else if !httpURL(c.URL.Reveal()) {
		v.Add("url", "must be an http(s) URL")
	}
	if c.Secret != "" {
		if _, err := webhookKey(c.Secret.Reveal()); err != nil {
			v.Add("secret", err.Error())
		}
	}
	if c.Token != "" {
		v.Add("token", "is only used by slack channels")
	}
	if c.Channel != "" {
		v.Add("channel", "is only used by slack channels")
	}
	if c.APIURL != "" {
		v.Add("api_url", "is only used by slack bot channels")
	}
	return v.Err()
}

// webhookKey decodes a "whsec_<base64>" secret into the HMAC key.
func webhookKey(secret string) ([]byte, error) {
	b64, ok := strings.CutPrefix(secret, secretPrefix)
	if !ok {
		return nil, fmt.Errorf("must start with %q", secretPrefix)
	}
	key, err := base64.StdEncoding.DecodeString(b64)
	if err != nil || len(key) == 0 {
		return nil, fmt.Errorf("must be %q followed by the base64 of the key", secretPrefix)
	}
	return key, nil
}

// sign returns the webhook-signature header: "v1," and the base64 of the
// HMAC-SHA256 of "id.timestamp.body".
func sign(key []byte, id string, ts int64, body []byte) string {
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id + "." + strconv.FormatInt(ts, 10) + "."))
	mac.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// webhookEnvelope is the body of every webhook.
type webhookEnvelope struct {
	Type      uptime.EventType `json:"type"`
	Timestamp string           `json:"timestamp"`
	Data      webhookData      `json:"data"`
}

// webhookTarget is what an event says of its target.
type webhookTarget struct {
	Target     string    `json:"target,omitempty"`
	IncidentID int64     `json:"incident_id,omitempty"`
	Since      time.Time `json:"since,omitzero"`
	At         time.Time `json:"at"`
	// Duration is the outage so far, or in all for a resolution.
	Duration   *uptime.Duration   `json:"duration,omitempty"`
	Error      string             `json:"error,omitempty"`
	ErrorClass uptime.ErrorClass  `json:"error_class,omitempty"`
	Failures   int                `json:"failures,omitempty"`
	Components []uptime.Component `json:"components,omitempty"`
	Labels     map[string]string  `json:"labels,omitempty"`
	Cause      string             `json:"cause,omitempty"`
	URL        string             `json:"url,omitempty"`
	// IncidentURL opens the incident on the dashboard.
	IncidentURL string `json:"incident_url,omitempty"`
	// ExpiresAt and DaysLeft are a certificate warning's: when the
	// certificate expires, and the days left, a started day counting whole.
	ExpiresAt time.Time `json:"expires_at,omitzero"`
	DaysLeft  int       `json:"days_left,omitempty"`
	// A burn-rate alert's severity, objective, threshold, the burn rates
	// of its two windows and the budget spent.
	*uptime.SLOBurn
}

type webhookData struct {
	webhookTarget
	// Targets lists every target of a grouped message; Cause, then, is
	// what they are attributed to, the cause's own event among them when
	// it is a target that is down too.
	Targets []webhookTarget `json:"targets,omitempty"`
	// Channel and Message are a test's.
	Channel string `json:"channel,omitempty"`
	Message string `json:"message,omitempty"`
}

func webhookBody(m message) webhookEnvelope {
	env := webhookEnvelope{Type: m.Type, Timestamp: m.at().UTC().Format(time.RFC3339)}
	switch {
	case m.Type == uptime.EventChannelTest:
		env.Data = webhookData{webhookTarget: webhookTarget{At: m.at().UTC()}, Channel: m.Channel,
			Message: "This is a test message from Lookout. Alerts will arrive here."}
	case m.grouped():
		env.Data.At, env.Data.Cause = m.at().UTC(), m.Cause
		for _, e := range m.Events {
			env.Data.Targets = append(env.Data.Targets, webhookOf(m, e))
		}
	default:
		e := m.first()
		env.Data.webhookTarget = webhookOf(m, e)
		if e.Type == uptime.EventCertExpiring {
			env.Data.Message = uptime.CertExpiryText(e.Since, e.At)
		}
	}
	return env
}

func webhookOf(m message, e uptime.Event) webhookTarget {
	t := webhookTarget{
		Target: e.Target, IncidentID: e.IncidentID, At: e.At.UTC(), Error: e.Error, ErrorClass: e.ErrorClass,
		Failures: e.Failures, Components: e.Components, Labels: e.Labels, Cause: e.Cause, URL: m.targetURL(e.Target),
		IncidentURL: m.incidentURL(e.IncidentID),
	}
	if !e.Since.IsZero() {
		t.Since = e.Since.UTC()
	}
	switch e.Type {
	case uptime.EventIncidentOpened, uptime.EventIncidentReminder, uptime.EventIncidentResolved:
		d := uptime.Duration(e.Duration())
		t.Duration = &d
	case uptime.EventSLOBurn, uptime.EventSLORecovered:
		t.SLOBurn = e.SLO
		if e.Type == uptime.EventSLORecovered {
			// Since is when the alert started firing.
			d := uptime.Duration(e.Duration())
			t.Duration = &d
		}
	case uptime.EventCertExpiring:
		// Since is the expiry; Error is the text, given as the message.
		t.Since, t.Error = time.Time{}, ""
		t.ExpiresAt, t.DaysLeft = e.Since.UTC(), uptime.DaysLeft(e.Since, e.At)
	}
	return t
}

// maxErrorBody is how much of a refusing receiver's answer is kept: enough
// to say why ("invalid signature"), scrubbed of secrets.
const maxErrorBody = 200

func sendWebhook(ctx context.Context, d *Dispatcher, c uptime.Channel, m message) (result, error) {
	body, err := json.Marshal(webhookBody(m))
	if err != nil {
		return result{}, &sendError{msg: "webhook: encode body: " + err.Error(), err: err}
	}
	u, err := url.Parse(c.URL.Reveal())
	if err != nil {
		return result{}, &sendError{msg: "webhook: the url does not parse", status: http.StatusBadRequest}
	}
	where := "webhook " + u.Scheme + "://" + u.Host
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader(body))
	if err != nil {
		return result{}, &sendError{msg: where + ": " + netError(err), status: http.StatusBadRequest}
	}
	ts := m.Attempt.Unix()
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Lookout")
	req.Header.Set("webhook-id", m.ID)
	req.Header.Set("webhook-timestamp", strconv.FormatInt(ts, 10))
	if c.Secret != "" {
		key, err := webhookKey(c.Secret.Reveal())
		if err != nil {
			return result{}, &sendError{msg: where + ": the signing secret is not valid", status: http.StatusBadRequest}
		}
		req.Header.Set("webhook-signature", sign(key, m.ID, ts, body))
	}
	resp, err := d.http.Do(req)
	if err != nil {
		return result{}, &sendError{msg: where + ": " + netError(err), err: err}
	}
	defer resp.Body.Close()
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // keep the connection reusable
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return result{}, nil
	}
	msg := where + " answered " + resp.Status
	if s := strings.Join(strings.Fields(string(snippet)), " "); s != "" {
		msg += ": " + s
	}
	e := &sendError{msg: msg, status: resp.StatusCode}
	if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable {
		e.retryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), d.now())
	}
	return result{}, e
}
