package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/lookout/lookout/internal/uptime"
)

// maxSyncBodyBytes caps the body of POST /api/v1/sync, which carries a
// whole fleet (10,000 targets are about 2 MiB), where every other body
// is capped at 1 MiB.
const maxSyncBodyBytes = 32 << 20

// syncRequest is the body of POST /api/v1/sync. A kind left out (or null)
// is left alone; given, even as [], the owner's set of that kind becomes
// exactly the list. Entries are decoded one by one, so that a problem is
// reported under the entry's index.
type syncRequest struct {
	Owner    string      `json:"owner"`
	Prune    *bool       `json:"prune"`
	DryRun   bool        `json:"dry_run"`
	Targets  []syncEntry `json:"targets"`
	Channels []syncEntry `json:"channels"`
}

// syncEntry is one target or channel of a sync as sent, decoded (and
// checked for members sent twice) on its own, so that a problem is named
// under its index.
type syncEntry []byte

func (e *syncEntry) UnmarshalJSON(b []byte) error {
	*e = append((*e)[:0], b...)
	return nil
}

// handleSync makes the targets labelled owner=<owner> (and, when sent,
// the owner's channels) exactly the lists sent, and answers with the diff.
func (s *Server) handleSync(w http.ResponseWriter, r *http.Request) {
	b, err := readBodyUpTo(w, r, maxSyncBodyBytes, "application/json")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	rep, err := s.Sync(r.Context(), b)
	var ferr *uptime.ForeignError
	if errors.As(err, &ferr) {
		err = newHTTPError(http.StatusConflict, "the sync names targets or channels that exist and are not the owner's; nothing was applied", ferr.Errors...)
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeJSON(w, r, http.StatusOK, rep)
}

// Sync applies a sync request (the body of POST /api/v1/sync) and returns
// its report: the same decoding, validation and store transaction as the
// endpoint, for callers in the same process such as a configuration file
// loaded at start. Errors are a *uptime.ValidationError naming the entry
// and field, an *uptime.ForeignError, or the store's.
func (s *Server) Sync(ctx context.Context, body []byte) (uptime.SyncReport, error) {
	var req syncRequest
	if err := decodeJSON(body, &req); err != nil {
		return uptime.SyncReport{}, err
	}
	var v uptime.ValidationError
	switch {
	case req.Owner == "":
		v.Add("owner", "is required: the sync manages the targets labelled owner=<owner>")
	case !uptime.ValidName(req.Owner):
		v.Add("owner", "must match [a-z0-9][a-z0-9._-]{0,62}")
	}
	sync := uptime.Sync{Owner: req.Owner, DryRun: req.DryRun, Prune: req.Prune == nil || *req.Prune,
		SyncTargets: req.Targets != nil, SyncChannels: req.Channels != nil}

	// A target that does not say whether it is paused keeps its state, so
	// that a re-apply does not resume what someone paused by hand.
	keepPaused := map[string]bool{}
	var err error
	sync.Targets, err = decodeEntries(&v, "targets", req.Targets, decodeTarget,
		func(t *uptime.Target) string { return t.Name },
		func(t *uptime.Target, raw []byte) error {
			if o, ok := t.Labels[uptime.OwnerLabel]; ok && o != req.Owner {
				return uptime.Invalid("labels."+uptime.OwnerLabel, fmt.Sprintf("is %q; the sync labels its targets %s=%s: leave it out", o, uptime.OwnerLabel, req.Owner))
			}
			t.Labels[uptime.OwnerLabel] = req.Owner
			keepPaused[t.Name] = !sentMembers(raw)("paused")
			// Validated here too, so that one answer lists every entry's
			// problems; again once its stored secrets are back in place.
			return s.validate(t)
		})
	if err != nil {
		return uptime.SyncReport{}, err
	}
	sync.PrepareTarget = func(t, old *uptime.Target) error {
		if old != nil {
			t.KeepSecrets(old)
			if keepPaused[t.Name] {
				t.Paused = old.Paused
			}
		}
		return s.validate(t)
	}

	sync.Channels, err = decodeEntries(&v, "channels", req.Channels, decodeChannel,
		func(c *uptime.Channel) string { return c.Name },
		func(c *uptime.Channel, _ []byte) error {
			if c.Owner != "" && c.Owner != req.Owner {
				return uptime.Invalid("owner", fmt.Sprintf("is %q; the sync's channels are owner %q's: leave it out", c.Owner, req.Owner))
			}
			c.Owner = req.Owner
			return nil
		})
	if err != nil {
		return uptime.SyncReport{}, err
	}
	sync.PrepareChannel = func(c, old *uptime.Channel) error {
		if err := keepChannelSecrets(c, old); err != nil {
			return err
		}
		return scrubberOf(c).err(s.validateChannel(c))
	}
	if err := v.Err(); err != nil {
		return uptime.SyncReport{}, err
	}

	res, err := s.store.Sync(ctx, sync)
	if err != nil {
		return uptime.SyncReport{}, err
	}
	rep := uptime.SyncReport{Owner: sync.Owner, DryRun: sync.DryRun, Prune: sync.Prune}
	if sync.SyncTargets {
		if rep.Targets, err = diffOf(res.Targets, targetForDiff); err != nil {
			return uptime.SyncReport{}, err
		}
	}
	if sync.SyncChannels {
		if rep.Channels, err = diffOf(res.Channels, channelForDiff); err != nil {
			return uptime.SyncReport{}, err
		}
	}
	return rep, nil
}

// decodeEntries decodes each entry of a sync's list, named kind, and
// hands it to adopt; it keeps those that decode, are named once in the
// list and that adopt takes. Their problems go to v under the entry's
// index. An error that is not a validation problem is returned as is.
func decodeEntries[T any](v *uptime.ValidationError, kind string, raws []syncEntry, decode func([]byte) (T, error),
	nameOf func(*T) string, adopt func(x *T, raw []byte) error) ([]T, error) {
	var out []T
	firstAt := map[string]int{}
	for i, raw := range raws {
		at := fmt.Sprintf("%s[%d]", kind, i)
		x, err := decode(raw)
		if !v.MergeUnder(at, err) {
			return nil, err
		}
		if err != nil {
			continue
		}
		name := nameOf(&x)
		if j, dup := firstAt[name]; dup && name != "" {
			v.Add(at+".name", fmt.Sprintf("%q is listed twice (also %s[%d])", name, kind, j))
			continue
		}
		firstAt[name] = i
		if err := adopt(&x, raw); err != nil {
			if !v.MergeUnder(at, err) {
				return nil, err
			}
			continue
		}
		out = append(out, x)
	}
	return out, nil
}

// diffOf sorts a sync's objects into the report's lists; form gives an
// object's full value (shown false) or its value as the API shows it.
func diffOf[T any](synced []uptime.Synced[T], form func(x *T, shown bool) any) (*uptime.SyncDiff, error) {
	d := &uptime.SyncDiff{Created: []string{}, Changed: []uptime.SyncChange{}, Deleted: []string{}, Unchanged: []string{}}
	for _, x := range synced {
		switch {
		case x.Old == nil:
			d.Created = append(d.Created, x.Name)
		case x.New == nil:
			d.Deleted = append(d.Deleted, x.Name)
		case !x.Changed:
			d.Unchanged = append(d.Unchanged, x.Name)
		default:
			fields, err := uptime.DiffFields(form(x.Old, false), form(x.New, false), form(x.Old, true), form(x.New, true))
			if err != nil {
				return nil, err
			}
			d.Changed = append(d.Changed, uptime.SyncChange{Name: x.Name, Fields: fields})
		}
	}
	return d, nil
}

// targetForDiff is a target without the members the server owns.
func targetForDiff(t *uptime.Target, shown bool) any {
	c := *t
	if shown {
		c = c.Redacted()
	}
	c.ID, c.CreatedAt, c.UpdatedAt = 0, time.Time{}, time.Time{}
	return c
}

// channelForDiff is a channel without its timestamps; in full, with its
// secrets' values, which its JSON never shows.
func channelForDiff(c *uptime.Channel, shown bool) any {
	v := *c
	v.CreatedAt, v.UpdatedAt = time.Time{}, time.Time{}
	if shown {
		return channelView(v)
	}
	return struct {
		uptime.Channel
		URL    string `json:"url,omitempty"`
		Secret string `json:"secret,omitempty"`
		Token  string `json:"token,omitempty"`
	}{v, v.URL.Reveal(), v.Secret.Reveal(), v.Token.Reveal()}
}
