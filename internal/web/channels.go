package web

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/lookout/lookout/internal/uptime"
)

// minScrubLen is the shortest secret value scrubbed from error texts:
// replacing shorter ones would garble the text and hide nothing worth hiding.
const minScrubLen = 4

// channelView is a channel as the API shows it: every secret, the URL
// included, is "***" when set.
func channelView(c uptime.Channel) uptime.Channel {
	for _, s := range []*uptime.Secret{&c.URL, &c.Secret, &c.Token} {
		if *s != "" {
			*s = uptime.Redacted
		}
	}
	c.CreatedAt, c.UpdatedAt = c.CreatedAt.UTC(), c.UpdatedAt.UTC()
	return c
}

// decodeChannel decodes a channel, drops the fields the server owns and
// fills in the defaults of what was left out: group_wait "0s" is kept (send
// at once), repeat_interval "0s" refused. It does not validate further.
// Errors are *uptime.ValidationError.
func decodeChannel(b []byte) (uptime.Channel, error) {
	var c uptime.Channel
	if err := decodeJSON(b, &c); err != nil {
		return uptime.Channel{}, err
	}
	c.CreatedAt, c.UpdatedAt = time.Time{}, time.Time{}
	if err := c.RefuseGivenZeros(sentMembers(b)); err != nil {
		return uptime.Channel{}, err
	}
	c.Normalize()
	return c, nil
}

// keepChannelSecrets lets a client send back what it read: a secret given
// as "***" keeps the value of old (nil when there is none). The signing
// secret is kept only while the URL it signs for stays the same, so that a
// new endpoint never receives requests signed with the old secret. A "***"
// that cannot be resolved is a *uptime.ValidationError, never stored.
func keepChannelSecrets(c *uptime.Channel, old *uptime.Channel) error {
	var v uptime.ValidationError
	keep := func(field string, s *uptime.Secret, prev uptime.Secret) {
		if *s != uptime.Redacted {
			return
		}
		if prev == "" {
			v.Add(field, `"***" stands for the stored value, and there is none: send the value`)
			return
		}
		*s = prev
	}
	var prev uptime.Channel
	if old != nil {
		prev = *old
	}
	keep("url", &c.URL, prev.URL)
	keep("token", &c.Token, prev.Token)
	if c.Secret == uptime.Redacted && old != nil && c.URL != prev.URL {
		v.Add("secret", "the url changed: send the signing secret again")
	} else {
		keep("secret", &c.Secret, prev.Secret)
	}
	return v.Err()
}

// validateChannel runs the shared rules and the kind's own.
func (s *Server) validateChannel(c *uptime.Channel) error {
	var v uptime.ValidationError
	if err := c.Validate(); !v.Merge(err) {
		return err
	}
	if c.Kind != "" {
		if err := s.notifier.Validate(c); !v.Merge(err) {
			return err
		}
	}
	return v.Err()
}

// scrubber hides the real values of the given channels' secrets in texts
// that may echo them: validation problems and delivery errors.
type scrubber []string

func scrubberOf(cs ...*uptime.Channel) scrubber {
	var sc scrubber
	for _, c := range cs {
		if c == nil {
			continue
		}
		for _, s := range []uptime.Secret{c.URL, c.Secret, c.Token} {
			if v := s.Reveal(); len(v) >= minScrubLen && v != uptime.Redacted {
				sc = append(sc, v)
			}
		}
	}
	// Longest first, so that a secret containing another is hidden whole.
	slices.SortFunc(sc, func(a, b string) int { return len(b) - len(a) })
	return sc
}

func (sc scrubber) text(s string) string {
	for _, v := range sc {
		s = strings.ReplaceAll(s, v, uptime.Redacted)
	}
	return s
}

// err scrubs the problems of a *uptime.ValidationError; other errors are
// returned as they are, since writeError never shows their text.
func (sc scrubber) err(err error) error {
	var verr *uptime.ValidationError
	if len(sc) == 0 || !errors.As(err, &verr) {
		return err
	}
	out := &uptime.ValidationError{}
	for _, f := range verr.Errors {
		out.Add(f.Field, sc.text(f.Problem))
	}
	return out
}

func channelLocation(name string) string { return "/api/v1/channels/" + url.PathEscape(name) }

// channelList is the body of GET /api/v1/channels.
type channelList struct {
	Channels []uptime.Channel `json:"channels"`
}

// handleChannelList lists every channel by name, secrets redacted.
func (s *Server) handleChannelList(w http.ResponseWriter, r *http.Request) {
	cs, err := s.store.ListChannels(r.Context())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := channelList{Channels: make([]uptime.Channel, len(cs))}
	for i, c := range cs {
		out.Channels[i] = channelView(c)
	}
	s.writeJSON(w, r, http.StatusOK, out)
}

// handleChannelCreate adds a channel: 201 with Location, or 409 when the
// name is taken.
func (s *Server) handleChannelCreate(w http.ResponseWriter, r *http.Request) {
	b, err := readBody(w, r, "application/json")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	c, err := decodeChannel(b)
	if err == nil {
		err = keepChannelSecrets(&c, nil)
	}
	if err == nil {
		err = scrubberOf(&c).err(s.validateChannel(&c))
	}
	if err == nil {
		err = s.store.CreateChannel(r.Context(), &c)
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Location", channelLocation(c.Name))
	s.writeJSON(w, r, http.StatusCreated, channelView(c))
}

// handleChannelGet returns one channel, secrets redacted.
func (s *Server) handleChannelGet(w http.ResponseWriter, r *http.Request) {
	c, err := s.store.GetChannel(r.Context(), routeName(r))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeJSON(w, r, http.StatusOK, channelView(c))
}

// handleChannelPut creates or replaces the channel named in the path: 201
// when created, 200 otherwise. Secrets sent back as "***" keep their
// stored values.
func (s *Server) handleChannelPut(w http.ResponseWriter, r *http.Request) {
	name := routeName(r)
	b, err := readBody(w, r, "application/json")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	c, err := decodeChannel(b)
	if err == nil {
		err = nameFromPath(&c.Name, name)
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var old *uptime.Channel
	prev, err := s.store.GetChannel(r.Context(), name)
	switch {
	case err == nil:
		old = &prev
	case !errors.Is(err, uptime.ErrNotFound):
		s.writeError(w, r, err)
		return
	}
	if err := keepChannelSecrets(&c, old); err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := s.validateChannel(&c); err != nil {
		s.writeError(w, r, scrubberOf(&c, old).err(err))
		return
	}
	created, _, err := s.store.PutChannel(r.Context(), &c)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
		w.Header().Set("Location", channelLocation(name))
	}
	s.writeJSON(w, r, status, channelView(c))
}

// handleChannelPatch applies a JSON merge patch (RFC 7386) to the stored
// channel and validates the result as a whole; the name cannot change.
func (s *Server) handleChannelPatch(w http.ResponseWriter, r *http.Request) {
	b, err := readMergePatch(w, r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	c, err := s.store.UpdateChannel(r.Context(), routeName(r), func(cur *uptime.Channel) error {
		// The stored channel marshals its secrets as "***", which
		// keepChannelSecrets resolves again after the merge.
		c, err := patched(cur, cur.Name, b, decodeChannel, func(c uptime.Channel) string { return c.Name })
		if err != nil {
			return err
		}
		if err := keepChannelSecrets(&c, cur); err != nil {
			return err
		}
		if err := s.validateChannel(&c); err != nil {
			return scrubberOf(&c, cur).err(err)
		}
		c.CreatedAt, c.UpdatedAt = cur.CreatedAt, cur.UpdatedAt
		*cur = c
		return nil
	})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeJSON(w, r, http.StatusOK, channelView(c))
}

// handleChannelDelete removes a channel: 204.
func (s *Server) handleChannelDelete(w http.ResponseWriter, r *http.Request) {
	if err := s.store.DeleteChannel(r.Context(), routeName(r)); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// channelTestResult is the body of a successful POST …/test.
type channelTestResult struct {
	OK bool `json:"ok"`
}

// handleChannelTest sends a channel.test notification now: 200 when it was
// delivered, 502 with the delivery error (secrets scrubbed) when not.
func (s *Server) handleChannelTest(w http.ResponseWriter, r *http.Request) {
	c, err := s.store.GetChannel(r.Context(), routeName(r))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := s.notifier.Test(r.Context(), c); err != nil {
		if r.Context().Err() != nil {
			s.writeError(w, r, r.Context().Err())
			return
		}
		detail := scrubberOf(&c).text(err.Error())
		s.log.InfoContext(r.Context(), "channel test failed", "channel", c.Name, "err", detail)
		s.writeError(w, r, newHTTPError(http.StatusBadGateway, detail))
		return
	}
	s.writeJSON(w, r, http.StatusOK, channelTestResult{OK: true})
}
