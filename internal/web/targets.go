package web

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/lookout/lookout/internal/uptime"
)

// Page sizes of GET /api/v1/targets.
const (
	defaultTargetLimit = 100
	maxTargetLimit     = 500
	// scanBatch and maxScans bound the work of one listing page when
	// filtering by a status the store cannot filter on (paused): a page
	// may come back short, with a cursor to continue from.
	scanBatch = 500
	maxScans  = 20
)

// targetView is a target as the API shows it: secrets redacted, with its
// current state.
type targetView struct {
	uptime.Target
	State stateView `json:"state"`
	// Incident is the open incident, shown by GET /api/v1/targets/{name} only.
	Incident *incidentView `json:"incident,omitempty"`
}

// stateView is the API's view of uptime.State; its status is "paused"
// while the target is paused. flapping is shown false too, so that a
// target that is not flapping says so.
type stateView struct {
	Status               string            `json:"status"`
	Since                time.Time         `json:"since,omitzero"`
	LastCheck            time.Time         `json:"last_check,omitzero"`
	LastResult           uptime.Status     `json:"last_result"`
	LastError            string            `json:"last_error,omitempty"`
	LastErrorClass       uptime.ErrorClass `json:"last_error_class,omitempty"`
	ConsecutiveFailures  int               `json:"consecutive_failures"`
	ConsecutiveSuccesses int               `json:"consecutive_successes"`
	FailingSince         time.Time         `json:"failing_since,omitzero"`
	Flapping             bool              `json:"flapping"`
	FlappingSince        time.Time         `json:"flapping_since,omitzero"`
	Cause                string            `json:"cause,omitempty"`
	CertExpiry           time.Time         `json:"cert_expiry,omitzero"`
	CertWarned           int               `json:"cert_warned,omitempty"`
}

func viewOf(sn uptime.Snapshot) targetView {
	st := sn.State
	t := sn.Target.Redacted()
	t.CreatedAt, t.UpdatedAt = t.CreatedAt.UTC(), t.UpdatedAt.UTC()
	return targetView{Target: t, State: stateView{
		Status: shownStatus(sn), Since: st.Since.UTC(), LastCheck: st.LastCheck.UTC(), LastResult: st.LastResult,
		LastError: st.LastError, LastErrorClass: st.LastErrorClass,
		ConsecutiveFailures: st.ConsecutiveFailures, ConsecutiveSuccesses: st.ConsecutiveSuccesses,
		FailingSince: st.FailingSince.UTC(), Flapping: st.Flapping, FlappingSince: st.FlappingSince.UTC(), Cause: st.Cause, CertExpiry: st.CertExpiry.UTC(), CertWarned: st.CertWarned,
	}}
}

func shownStatus(sn uptime.Snapshot) string {
	if sn.Target.Paused {
		return "paused"
	}
	return sn.State.Status.String()
}

// targetInput is what POST, PUT and PATCH accept: a target, plus the
// read-only members a GET returns, so that a client can send back what it
// read. Those are ignored.
type targetInput struct {
	uptime.Target
	State    json.RawMessage `json:"state,omitempty"`
	Incident json.RawMessage `json:"incident,omitempty"`
}

// decodeTarget decodes a target from a request body, drops the fields the
// server owns (id, created_at, updated_at) and fills in the defaults of
// what was left out; a zero sent where a default would replace it is
// refused. It does not validate further. Errors are *uptime.ValidationError.
func decodeTarget(b []byte) (uptime.Target, error) {
	var in targetInput
	if err := decodeJSON(b, &in); err != nil {
		return uptime.Target{}, err
	}
	t := in.Target
	t.ID = 0
	t.CreatedAt, t.UpdatedAt = time.Time{}, time.Time{}
	if err := t.RefuseGivenZeros(sentMembers(b)); err != nil {
		return uptime.Target{}, err
	}
	t.Normalize()
	return t, nil
}

func routeName(r *http.Request) string { return chi.URLParam(r, "name") }

// nameFromPath reconciles the name in a PUT body with the one in the path:
// left out, it is the path's; given, it must be the same.
func nameFromPath(name *string, path string) error {
	switch *name {
	case "":
		*name = path
	case path:
	default:
		return uptime.Invalid("name", fmt.Sprintf("must be %q as in the path, or left out", path))
	}
	return nil
}

func targetLocation(name string) string { return "/api/v1/targets/" + url.PathEscape(name) }

// handleTargetCreate registers a new target: 201 with Location, or 409 when
// the name is taken.
func (s *Server) handleTargetCreate(w http.ResponseWriter, r *http.Request) {
	b, err := readBody(w, r, "application/json")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	t, err := decodeTarget(b)
	if err == nil {
		err = s.validate(&t)
	}
	if err == nil {
		err = s.store.CreateTarget(r.Context(), &t)
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Location", targetLocation(t.Name))
	s.writeJSON(w, r, http.StatusCreated, viewOf(uptime.Snapshot{Target: t}))
}

// handleTargetPut creates or replaces the target named in the path: 201
// when created, 200 otherwise. Sending the same body twice changes nothing.
// Secrets sent back as "***" keep their stored values.
func (s *Server) handleTargetPut(w http.ResponseWriter, r *http.Request) {
	name := routeName(r)
	b, err := readBody(w, r, "application/json")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	t, err := decodeTarget(b)
	if err == nil {
		err = nameFromPath(&t.Name, name)
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	old, err := s.store.GetTarget(r.Context(), name)
	switch {
	case err == nil:
		t.KeepSecrets(&old.Target)
	case !errors.Is(err, uptime.ErrNotFound):
		s.writeError(w, r, err)
		return
	}
	if err := s.validate(&t); err != nil {
		s.writeError(w, r, err)
		return
	}
	created, _, err := s.store.PutTarget(r.Context(), &t)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	sn, err := s.store.GetTarget(r.Context(), name)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
		w.Header().Set("Location", targetLocation(name))
	}
	s.writeJSON(w, r, status, viewOf(sn))
}

// handleTargetGet returns one target with its state and its open
// incident, if any.
func (s *Server) handleTargetGet(w http.ResponseWriter, r *http.Request) {
	sn, err := s.store.GetTarget(r.Context(), routeName(r))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	v := viewOf(sn)
	inc, err := s.store.OpenIncident(r.Context(), sn.Target.ID)
	switch {
	case err == nil:
		iv := incidentViewOf(inc, s.now())
		v.Incident = &iv
	case !errors.Is(err, uptime.ErrNotFound):
		s.writeError(w, r, err)
		return
	}
	s.writeJSON(w, r, http.StatusOK, v)
}

// handleTargetPatch applies a JSON merge patch (RFC 7386) to the stored
// target and validates the result as a whole; the name cannot change.
func (s *Server) handleTargetPatch(w http.ResponseWriter, r *http.Request) {
	b, err := readMergePatch(w, r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	t, err := s.store.UpdateTarget(r.Context(), routeName(r), func(cur *uptime.Target) error {
		t, err := patched(cur, cur.Name, b, decodeTarget, func(t uptime.Target) string { return t.Name })
		if err != nil {
			return err
		}
		t.KeepSecrets(cur)
		if err := s.validate(&t); err != nil {
			return err
		}
		t.ID, t.CreatedAt, t.UpdatedAt = cur.ID, cur.CreatedAt, cur.UpdatedAt
		*cur = t
		return nil
	})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.respondTarget(w, r, t.Name)
}

// handleTargetDelete removes a target and stops checking it: 204.
func (s *Server) handleTargetDelete(w http.ResponseWriter, r *http.Request) {
	if err := s.store.DeleteTarget(r.Context(), routeName(r)); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// handleTargetPause stops checking a target, keeping its history.
func (s *Server) handleTargetPause(w http.ResponseWriter, r *http.Request) { s.setPaused(w, r, true) }

// handleTargetResume checks a paused target again.
func (s *Server) handleTargetResume(w http.ResponseWriter, r *http.Request) {
	s.setPaused(w, r, false)
}

func (s *Server) setPaused(w http.ResponseWriter, r *http.Request, paused bool) {
	t, err := s.store.UpdateTarget(r.Context(), routeName(r), func(t *uptime.Target) error {
		t.Paused = paused
		return nil
	})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.respondTarget(w, r, t.Name)
}

// respondTarget answers 200 with the target as now stored, with its state.
func (s *Server) respondTarget(w http.ResponseWriter, r *http.Request, name string) {
	sn, err := s.store.GetTarget(r.Context(), name)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeJSON(w, r, http.StatusOK, viewOf(sn))
}

// handleTargetCheck runs a check at once and returns its result. It is
// given the target's timeout on top of the usual request timeout, and so
// is the connection's write deadline, which a server sizes for the usual
// request timeout: a target's timeout has no upper bound.
func (s *Server) handleTargetCheck(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.RequestTimeout)
	defer cancel()
	sn, err := s.store.GetTarget(ctx, routeName(r))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	limit := s.cfg.RequestTimeout + sn.Target.Timeout.D()
	ctx, cancel = context.WithTimeout(r.Context(), limit)
	defer cancel()
	// Not every ResponseWriter supports deadlines (a test's recorder): then
	// there is none to move.
	_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(limit + checkWriteMargin))
	res, err := s.sched.CheckNow(ctx, sn.Target.ID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeJSON(w, r, http.StatusOK, utcResult(res))
}

// checkWriteMargin is the time "check now" leaves for writing its answer
// once its deadline has passed.
const checkWriteMargin = 30 * time.Second

// targetList is the body of GET /api/v1/targets.
type targetList struct {
	Targets    []targetView `json:"targets"`
	NextCursor string       `json:"next_cursor"`
}

// handleTargetList lists targets by name, filtered by labels
// (?label=team=payments, all must match) and shown status
// (?status=down,paused, any may match), a page at a time.
func (s *Server) handleTargetList(w http.ResponseWriter, r *http.Request) {
	q, err := parseListQuery(r.URL.Query())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	page, next, err := s.listTargets(r.Context(), q)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := targetList{Targets: make([]targetView, len(page)), NextCursor: next}
	for i, sn := range page {
		out.Targets[i] = viewOf(sn)
	}
	s.writeJSON(w, r, http.StatusOK, out)
}

type listQuery struct {
	labels map[string]string
	status map[string]bool // shown statuses, "paused" included
	after  string
	limit  int
}

func parseListQuery(v url.Values) (listQuery, error) {
	var (
		q    listQuery
		verr uptime.ValidationError
	)
	q.labels = parseLabelFilter(v, &verr)
	for _, list := range v["status"] {
		for st := range strings.SplitSeq(list, ",") {
			if _, err := uptime.ParseStatus(st); err != nil && st != "paused" {
				verr.Add("status", fmt.Sprintf("%q is not one of unknown, up, degraded, down, paused", st))
				continue
			}
			if q.status == nil {
				q.status = map[string]bool{}
			}
			q.status[st] = true
		}
	}
	q.limit = queryLimit(v, defaultTargetLimit, maxTargetLimit, &verr)
	if c := v.Get("cursor"); c != "" {
		name, err := decodeCursor(c)
		if err != nil {
			verr.Add("cursor", "is not a cursor this API returned")
		}
		q.after = name
	}
	return q, verr.Err()
}

// parseLabelFilter reads ?label=name=value (repeatable, all must match);
// nil when none is given.
func parseLabelFilter(v url.Values, verr *uptime.ValidationError) map[string]string {
	var labels map[string]string
	for _, l := range v["label"] {
		k, val, ok := strings.Cut(l, "=")
		if !ok || k == "" {
			verr.Add("label", fmt.Sprintf("%q must be name=value", l))
			continue
		}
		if labels == nil {
			labels = map[string]string{}
		}
		labels[k] = val
	}
	return labels
}

// listTargets fetches one page. The store filters by labels and by judged
// status; whether a target is shown as paused is filtered here, so a page
// can need more than one store call.
func (s *Server) listTargets(ctx context.Context, q listQuery) ([]uptime.Snapshot, string, error) {
	f := uptime.TargetFilter{Labels: q.labels, After: q.after, Limit: q.limit + 1}
	postFilter := len(q.status) > 0
	if postFilter && !q.status["paused"] {
		for st := range q.status {
			v, _ := uptime.ParseStatus(st)
			f.Status = append(f.Status, v)
		}
	}
	if postFilter {
		f.Limit = max(f.Limit, scanBatch)
	}
	want := q.limit + 1
	var (
		out       []uptime.Snapshot
		last      string
		exhausted bool
	)
	for range maxScans {
		page, err := s.store.ListTargets(ctx, f)
		if err != nil {
			return nil, "", err
		}
		for _, sn := range page {
			last = sn.Target.Name
			if !postFilter || q.status[shownStatus(sn)] {
				out = append(out, sn)
			}
			if len(out) == want {
				break
			}
		}
		if len(page) < f.Limit {
			exhausted = true
		}
		if exhausted || len(out) == want || !postFilter {
			break
		}
		f.After = last
	}
	switch {
	case len(out) > q.limit:
		out = out[:q.limit]
		return out, encodeCursor(out[len(out)-1].Target.Name), nil
	case !exhausted && last != "":
		return out, encodeCursor(last), nil
	}
	return out, "", nil
}

// Cursors are opaque to clients; today they wrap the last name returned.
func encodeCursor(name string) string { return base64.RawURLEncoding.EncodeToString([]byte(name)) }

func decodeCursor(c string) (string, error) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil || !uptime.ValidName(string(b)) {
		return "", errors.New("bad cursor")
	}
	return string(b), nil
}
