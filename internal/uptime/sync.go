package uptime

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// OwnerLabel is the label that marks a target as one of a sync owner's:
// POST /api/v1/sync makes the set of targets carrying owner=<x> equal to
// the list it is given. Channels carry their owner in Channel.Owner.
const OwnerLabel = "owner"

// SyncReport is the answer to a sync: what it did, or on a dry run what it
// would do, to the owner's targets and channels. A kind left out of the
// request is left alone and has no diff.
type SyncReport struct {
	Owner    string    `json:"owner"`
	DryRun   bool      `json:"dry_run"`
	Prune    bool      `json:"prune"`
	Targets  *SyncDiff `json:"targets,omitempty"`
	Channels *SyncDiff `json:"channels,omitempty"`
}

// Changes reports whether the sync changes anything.
func (r *SyncReport) Changes() bool {
	return r.Targets.changes() || r.Channels.changes()
}

// SyncDiff lists the names of one kind of object by what a sync does to
// them, each list sorted by name. Deleted is empty unless the sync prunes.
type SyncDiff struct {
	Created   []string     `json:"created"`
	Changed   []SyncChange `json:"changed"`
	Deleted   []string     `json:"deleted"`
	Unchanged []string     `json:"unchanged"`
}

func (d *SyncDiff) changes() bool {
	return d != nil && len(d.Created)+len(d.Changed)+len(d.Deleted) > 0
}

// SyncChange is one changed object and the fields that changed.
type SyncChange struct {
	Name   string        `json:"name"`
	Fields []FieldChange `json:"fields"`
}

// FieldChange is one changed field, named by its JSON path
// ("http.expect_status", "labels.env"), with its old and new JSON values;
// a value is left out when the field was not set on that side. A secret
// shows as it does on read ("***"), with Sensitive set when that hides
// the change.
type FieldChange struct {
	Field     string          `json:"field"`
	Old       json.RawMessage `json:"old,omitempty"`
	New       json.RawMessage `json:"new,omitempty"`
	Sensitive bool            `json:"sensitive,omitempty"`
}

// DiffFields compares two objects by their JSON encodings and returns the
// fields that differ, sorted by path. Objects are walked member by member
// (so a changed label is "labels.env"); any other value, arrays included,
// is compared whole. shownOld and shownNew are the same objects as the API
// shows them (secrets redacted): their values are what a change displays,
// and a change they do not show is marked Sensitive.
func DiffFields(old, new, shownOld, shownNew any) ([]FieldChange, error) {
	flat := func(v any) (map[string]json.RawMessage, error) {
		b, err := json.Marshal(v)
		if err != nil {
			return nil, err
		}
		out := map[string]json.RawMessage{}
		return out, flatten("", b, out)
	}
	o, err := flat(old)
	if err != nil {
		return nil, fmt.Errorf("diff: %w", err)
	}
	n, err := flat(new)
	if err != nil {
		return nil, fmt.Errorf("diff: %w", err)
	}
	so, err := flat(shownOld)
	if err != nil {
		return nil, fmt.Errorf("diff: %w", err)
	}
	sn, err := flat(shownNew)
	if err != nil {
		return nil, fmt.Errorf("diff: %w", err)
	}
	var out []FieldChange
	seen := map[string]bool{}
	for _, m := range []map[string]json.RawMessage{o, n} {
		for path := range m {
			if seen[path] {
				continue
			}
			seen[path] = true
			if string(o[path]) == string(n[path]) {
				continue
			}
			c := FieldChange{Field: path, Old: so[path], New: sn[path]}
			c.Sensitive = string(c.Old) == string(c.New)
			out = append(out, c)
		}
	}
	slices.SortFunc(out, func(a, b FieldChange) int { return strings.Compare(a.Field, b.Field) })
	return out, nil
}

// flatten records b's leaves in out under their dotted paths. An empty
// object, an empty array, "" and null count as not set, as the API's
// defaults make them.
func flatten(prefix string, b json.RawMessage, out map[string]json.RawMessage) error {
	var obj map[string]json.RawMessage
	if len(b) > 0 && b[0] == '{' {
		if err := json.Unmarshal(b, &obj); err != nil {
			return err
		}
		for k, v := range obj {
			p := k
			if prefix != "" {
				p = prefix + "." + k
			}
			if err := flatten(p, v, out); err != nil {
				return err
			}
		}
		return nil
	}
	switch strings.TrimSpace(string(b)) {
	case "", "null", `""`, "[]":
		return nil
	}
	out[prefix] = b
	return nil
}

// Sync is one declarative sync of an owner's targets and channels: after
// it, the targets labelled owner=Owner are exactly Targets and the
// channels of Owner exactly Channels (when Prune; without it none is
// deleted). A kind whose Sync flag is false is left alone.
type Sync struct {
	Owner         string
	DryRun, Prune bool

	SyncTargets bool
	Targets     []Target // normalised and validated, labelled owner=Owner
	// PrepareTarget is called inside the sync's transaction for each
	// target before anything is written, with the stored target of that
	// name (nil when there is none), to keep secrets sent back as "***"
	// and validate what is left. A *ValidationError it returns is
	// reported under the entry's index.
	PrepareTarget func(t, old *Target) error

	SyncChannels   bool
	Channels       []Channel // normalised, Owner set
	PrepareChannel func(c, old *Channel) error
}

// SyncResult is what a sync did (or would do) to each object it touched:
// Old is nil for one created, New nil for one deleted, and Changed is
// false for one left as it was.
type SyncResult struct {
	Targets  []Synced[Target]
	Channels []Synced[Channel]
}

// Synced is one object of a sync, before and after.
type Synced[T any] struct {
	Name     string
	Old, New *T
	Changed  bool
}

// ForeignError is a sync's refusal to take over objects that exist but
// are not the owner's: each entry names one, by its place in the request.
// It wraps ErrConflict.
type ForeignError struct{ Errors []FieldError }

func (e *ForeignError) Error() string {
	var b strings.Builder
	b.WriteString("owned by another: ")
	for i, f := range e.Errors {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(f.Field + ": " + f.Problem)
	}
	return b.String()
}

func (e *ForeignError) Unwrap() error { return ErrConflict }
