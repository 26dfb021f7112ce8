package main

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"

	"github.com/lookout/lookout/internal/uptime"
)

// applyFile is what a file given to `lookout apply` holds: the owner it
// names, if any, and its targets and channels as the JSON objects the API
// takes. A nil list is a kind the file left out, which the sync leaves
// alone; an empty one deletes every object of that kind the owner has.
type applyFile struct {
	Owner    string
	Targets  []json.RawMessage
	Channels []json.RawMessage
}

// Limits on what a file may expand to, so that a few aliases cannot make
// a small file take all memory.
const (
	applyMaxDepth  = 64
	applyMaxValues = 200_000
)

// parseApplyFile reads a YAML or JSON file of targets and channels: either
// an object with owner, targets and channels, each optional, or a bare list
// of targets. Its errors name the line and the path of what is wrong.
func parseApplyFile(b []byte) (applyFile, error) {
	v, err := decodeApplyFile(b)
	if err != nil {
		return applyFile{}, err
	}
	var f applyFile
	switch v := v.(type) {
	case []any:
		f.Targets, err = objectList(v, "targets", "a target")
		return f, err
	case map[string]any:
		var unknown []string
		for k := range v {
			if k != "owner" && k != "targets" && k != "channels" {
				unknown = append(unknown, fmt.Sprintf("%q", k))
			}
		}
		if len(unknown) > 0 {
			slices.Sort(unknown)
			return applyFile{}, fmt.Errorf("unknown key %s at the top of the file: it may hold only owner, targets and channels", strings.Join(unknown, ", "))
		}
		if o, ok := v["owner"]; ok {
			s, isString := o.(string)
			if !isString || s == "" {
				return applyFile{}, errors.New(`owner must be a name such as "team-a", or left out for --owner`)
			}
			f.Owner = s
		}
		if l, ok := v["targets"]; ok {
			if f.Targets, err = objectList(l, "targets", "a target"); err != nil {
				return applyFile{}, err
			}
		}
		if l, ok := v["channels"]; ok {
			if f.Channels, err = objectList(l, "channels", "a channel"); err != nil {
				return applyFile{}, err
			}
		}
		if f.Targets == nil && f.Channels == nil {
			return applyFile{}, errors.New("the file has neither targets: nor channels:, so there is nothing to sync; write targets: [] to delete every target of the owner")
		}
		return f, nil
	default:
		return applyFile{}, fmt.Errorf("the file holds %s: it must hold an object with owner, targets and channels, or a list of targets", describe(v))
	}
}

// decodeApplyFile decodes the one YAML document in b into JSON-ready
// values. JSON that YAML does not read (escapes such as \/ or surrogate
// pairs) is read as JSON.
func decodeApplyFile(b []byte) (any, error) {
	empty := errors.New("the file is empty: list targets in it, or write targets: [] to delete every target of the owner")
	dec := yaml.NewDecoder(bytes.NewReader(b))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, empty
		}
		if json.Valid(b) {
			d := json.NewDecoder(bytes.NewReader(b))
			d.UseNumber()
			return jsonValue(d, "", 0)
		}
		return nil, fmt.Errorf("not valid YAML or JSON: %w", err)
	}
	var more yaml.Node
	if err := dec.Decode(&more); !errors.Is(err, io.EOF) {
		return nil, errors.New("the file holds several YAML documents (separated by ---): put all targets and channels in one")
	}
	if len(doc.Content) == 0 {
		return nil, empty
	}
	c := yamlConverter{}
	return c.value(doc.Content[0], "", 0)
}

// jsonValue reads the next JSON value from d, whose numbers are
// json.Numbers, refusing a key given twice in one object as YAML does.
func jsonValue(d *json.Decoder, path string, depth int) (any, error) {
	if depth > applyMaxDepth {
		return nil, fmt.Errorf("%s: the file nests too deeply", where(path))
	}
	tok, err := d.Token()
	if err != nil {
		return nil, fmt.Errorf("not valid JSON: %w", err)
	}
	switch tok {
	case json.Delim('{'):
		out := map[string]any{}
		for d.More() {
			kt, err := d.Token()
			if err != nil {
				return nil, fmt.Errorf("not valid JSON: %w", err)
			}
			k, _ := kt.(string)
			p := k
			if path != "" {
				p = path + "." + k
			}
			if _, dup := out[k]; dup {
				return nil, fmt.Errorf("%s appears twice; keep one", p)
			}
			if out[k], err = jsonValue(d, p, depth+1); err != nil {
				return nil, err
			}
		}
		_, err = d.Token()
		return out, err
	case json.Delim('['):
		out := []any{}
		for i := 0; d.More(); i++ {
			v, err := jsonValue(d, fmt.Sprintf("%s[%d]", path, i), depth+1)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		_, err = d.Token()
		return out, err
	}
	return tok, nil
}

// objectList encodes each item of the list v, which must all be objects,
// as JSON. The result is never nil: an empty list stays present.
func objectList(v any, path, what string) ([]json.RawMessage, error) {
	items, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("%s must be a list (write %s: [] for none), not %s", path, path, describe(v))
	}
	out := make([]json.RawMessage, 0, len(items))
	for i, it := range items {
		if _, ok := it.(map[string]any); !ok {
			return nil, fmt.Errorf("%s[%d] must be an object (%s), not %s", path, i, what, describe(it))
		}
		b, err := json.Marshal(it)
		if err != nil {
			return nil, fmt.Errorf("%s[%d]: %w", path, i, err)
		}
		out = append(out, b)
	}
	return out, nil
}

// describe names the kind of a converted YAML value for an error.
func describe(v any) string {
	switch v.(type) {
	case nil:
		return "nothing (null)"
	case map[string]any:
		return "an object"
	case []any:
		return "a list"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	default:
		return "a number"
	}
}

// yamlConverter turns YAML nodes into values encoding/json writes as the
// same document: objects with string keys, lists, strings, numbers,
// booleans and null. It counts what it produces to stop runaway aliases.
type yamlConverter struct {
	values int
}

// value converts n, found at path, into a JSON-ready value.
func (c *yamlConverter) value(n *yaml.Node, path string, depth int) (any, error) {
	c.values++
	if c.values > applyMaxValues || depth > applyMaxDepth {
		return nil, fmt.Errorf("line %d: %s: the file nests or repeats (through aliases) too much; write it out plainly", n.Line, where(path))
	}
	switch n.Kind {
	case yaml.AliasNode:
		return c.value(n.Alias, path, depth+1)
	case yaml.SequenceNode:
		if n.ShortTag() != "!!seq" {
			return nil, fmt.Errorf("line %d: %s: the tag %s is not supported; remove it", n.Line, where(path), n.Tag)
		}
		out := make([]any, 0, len(n.Content))
		for i, it := range n.Content {
			v, err := c.value(it, fmt.Sprintf("%s[%d]", path, i), depth+1)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, nil
	case yaml.MappingNode:
		return c.mapping(n, path, depth)
	case yaml.ScalarNode:
		return scalar(n, path)
	default:
		return nil, fmt.Errorf("line %d: %s: unexpected YAML node", n.Line, where(path))
	}
}

// mapping converts a YAML mapping into an object. Keys must be strings and
// appear once; merge keys (<<: *defaults) fill in the keys the mapping
// does not set itself.
func (c *yamlConverter) mapping(n *yaml.Node, path string, depth int) (any, error) {
	if n.ShortTag() != "!!map" {
		return nil, fmt.Errorf("line %d: %s: the tag %s is not supported; remove it", n.Line, where(path), n.Tag)
	}
	out := map[string]any{}
	var merges []*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind == yaml.ScalarNode && k.ShortTag() == "!!merge" {
			merges = append(merges, v)
			continue
		}
		if k.Kind != yaml.ScalarNode || k.ShortTag() != "!!str" {
			return nil, fmt.Errorf("line %d: %s: the key %s is not a string; quote it", k.Line, where(path), keyText(k))
		}
		p := k.Value
		if path != "" {
			p = path + "." + k.Value
		}
		if _, dup := out[k.Value]; dup {
			return nil, fmt.Errorf("line %d: %s appears twice; keep one", k.Line, p)
		}
		val, err := c.value(v, p, depth+1)
		if err != nil {
			return nil, err
		}
		out[k.Value] = val
	}
	for _, m := range merges {
		srcs := []*yaml.Node{m}
		if m.Kind == yaml.SequenceNode {
			srcs = m.Content
		}
		for _, s := range srcs {
			v, err := c.value(s, path, depth+1)
			if err != nil {
				return nil, err
			}
			obj, ok := v.(map[string]any)
			if !ok {
				return nil, fmt.Errorf("line %d: %s: << must merge an object, not %s", s.Line, where(path), describe(v))
			}
			for k, val := range obj {
				if _, set := out[k]; !set {
					out[k] = val
				}
			}
		}
	}
	return out, nil
}

// scalar converts a YAML scalar by its resolved tag, so that 8080 stays a
// number, "8080" a string and no a string (YAML 1.2).
func scalar(n *yaml.Node, path string) (any, error) {
	switch n.ShortTag() {
	case "!!str", "!!timestamp", "!!binary":
		return n.Value, nil
	case "!!null":
		return nil, nil
	case "!!bool":
		var b bool
		if err := n.Decode(&b); err != nil {
			return nil, fmt.Errorf("line %d: %s: %w", n.Line, where(path), err)
		}
		return b, nil
	case "!!int":
		var i any
		if err := n.Decode(&i); err != nil {
			return nil, fmt.Errorf("line %d: %s: %w", n.Line, where(path), err)
		}
		switch i.(type) {
		case int, int64, uint64:
			return i, nil
		}
		return nil, fmt.Errorf("line %d: %s: %s is not a number JSON can hold; quote it", n.Line, where(path), n.Value)
	case "!!float":
		var f float64
		if err := n.Decode(&f); err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
			return nil, fmt.Errorf("line %d: %s: %s is not a number JSON can hold; quote it", n.Line, where(path), n.Value)
		}
		return f, nil
	default:
		return nil, fmt.Errorf("line %d: %s: the tag %s is not supported; remove it", n.Line, where(path), n.Tag)
	}
}

// keyText shows a mapping key in an error: its text, or what it is.
func keyText(k *yaml.Node) string {
	switch k.Kind {
	case yaml.ScalarNode:
		return k.Value + " (" + k.ShortTag() + ")"
	case yaml.MappingNode:
		return "{…} (an object)"
	case yaml.SequenceNode:
		return "[…] (a list)"
	default:
		return "*" + k.Value + " (an alias)"
	}
}

// where names a path for an error: the path, or the top of the file.
func where(path string) string {
	if path == "" {
		return "the top of the file"
	}
	return path
}

// syncRequest is the body of POST /api/v1/sync. A nil list is left out of
// the JSON, so the server leaves that kind alone; an empty one is sent.
type syncRequest struct {
	Owner    string            `json:"owner"`
	Prune    bool              `json:"prune"`
	DryRun   bool              `json:"dry_run"`
	Targets  []json.RawMessage `json:"targets,omitzero"`
	Channels []json.RawMessage `json:"channels,omitzero"`
}

// apiProblem is an RFC 9457 problem details document as the API sends it.
type apiProblem struct {
	Title  string              `json:"title"`
	Status int                 `json:"status"`
	Detail string              `json:"detail"`
	Errors []uptime.FieldError `json:"errors"`
}

// Exit codes of `lookout apply`, after Terraform's -detailed-exitcode; a
// usage error is exitUnknown as everywhere.
const (
	applyExitError   = 1
	applyExitChanges = 2
)

// runApply makes an owner's targets and channels on a Lookout server what
// a file says, or with --dry-run shows what that would change, and prints
// the plan.
func runApply(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("apply", flag.ContinueOnError)
	fs.SetOutput(stderr)
	server := getenv("LOOKOUT_SERVER")
	if server == "" {
		server = "http://127.0.0.1:8080"
	}
	var (
		file, owner            string
		dryRun, prune, details bool
		timeout                time.Duration
	)
	fs.StringVar(&file, "f", "", "YAML or JSON file of targets and channels (- for stdin)")
	fs.StringVar(&owner, "owner", "", "sync the targets and channels of this owner (default: the file's owner:)")
	fs.BoolVar(&dryRun, "dry-run", false, "show what would change, change nothing")
	fs.BoolVar(&prune, "prune", false, "delete the owner's targets and channels the file does not list")
	fs.BoolVar(&details, "detailed-exitcode", false, "exit 2 when there are changes (0 none, 1 error)")
	fs.StringVar(&server, "server", server, "the Lookout server's base URL (env LOOKOUT_SERVER)")
	fs.DurationVar(&timeout, "timeout", 60*time.Second, "give up waiting for the server after this long")
	fs.Usage = func() {
		fmt.Fprint(stderr, `Usage: lookout apply -f FILE [flags]

Makes an owner's targets and channels on a Lookout server what FILE says:
creates the missing ones, changes the different ones and, with --prune,
deletes the owner's others. FILE is YAML or JSON: an object with owner,
targets and channels (a kind left out is left alone), or a list of targets.
The API token is read from LOOKOUT_API_TOKEN.
Exit code: 0 done, 1 error, 2 changes (with --detailed-exitcode), 3 usage error.

Flags:
`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return exitOK
		}
		return exitUnknown
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "lookout apply: unexpected argument %q; give the file with -f FILE\n", fs.Arg(0))
		return exitUnknown
	}
	if file == "" {
		fmt.Fprintln(stderr, "lookout apply: give the file with -f FILE, or -f - to read it from stdin")
		return exitUnknown
	}
	base, err := url.Parse(strings.TrimRight(server, "/"))
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		fmt.Fprintf(stderr, "lookout apply: --server %q must be an http(s) URL such as http://127.0.0.1:8080\n", uptime.RedactURL(server))
		return exitUnknown
	}
	if timeout <= 0 {
		fmt.Fprintln(stderr, "lookout apply: --timeout must be positive, such as 60s")
		return exitUnknown
	}

	var b []byte
	if file == "-" {
		b, err = io.ReadAll(stdin)
	} else {
		b, err = os.ReadFile(file)
	}
	if err != nil {
		fmt.Fprintf(stderr, "lookout apply: %v\n", err)
		return applyExitError
	}
	f, err := parseApplyFile(b)
	if err != nil {
		fmt.Fprintf(stderr, "lookout apply: %s: %v\n", fileName(file), err)
		return applyExitError
	}
	if owner == "" {
		owner = f.Owner
	}
	if owner == "" {
		fmt.Fprintln(stderr, "lookout apply: set --owner or owner: in the file")
		return exitUnknown
	}

	req := syncRequest{Owner: owner, Prune: prune, DryRun: dryRun, Targets: f.Targets, Channels: f.Channels}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	rep, err := postSync(ctx, base.String(), getenv("LOOKOUT_API_TOKEN"), req)
	if err != nil {
		fmt.Fprintf(stderr, "lookout apply: %v\n", err)
		if errors.Is(err, context.DeadlineExceeded) && !dryRun {
			fmt.Fprintln(stderr, "  the server may still apply the sync: run lookout apply --dry-run to see where it stands")
		}
		return applyExitError
	}
	printPlan(stdout, rep)
	if details && rep.Changes() {
		return applyExitChanges
	}
	return exitOK
}

// fileName names the -f file in messages.
func fileName(file string) string {
	if file == "-" {
		return "stdin"
	}
	return file
}

// postSync sends req to the server at base and returns its report. Its
// errors say what went wrong in words a user can act on: the problem the
// server described, or why it could not be asked.
func postSync(ctx context.Context, base, token string, req syncRequest) (*uptime.SyncReport, error) {
	body, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	shown := uptime.RedactURL(base)
	r, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/api/v1/sync", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("Accept", "application/json, application/problem+json")
	r.Header.Set("User-Agent", "Lookout/"+buildVersion())
	if token != "" {
		r.Header.Set("Authorization", "Bearer "+token)
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(r)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return nil, fmt.Errorf("no answer from Lookout at %s in time: %w; raise --timeout", shown, context.DeadlineExceeded)
		}
		if ctx.Err() != nil {
			return nil, fmt.Errorf("interrupted before Lookout at %s answered", shown)
		}
		return nil, fmt.Errorf("cannot reach Lookout at %s: %v\n  is Lookout running at %s? set --server or LOOKOUT_SERVER", shown, errors.Unwrap(err), shown)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, fmt.Errorf("reading the answer of Lookout at %s: %v", shown, err)
	}
	if resp.StatusCode == http.StatusOK {
		var rep uptime.SyncReport
		if err := json.Unmarshal(b, &rep); err != nil {
			return nil, fmt.Errorf("%s answered with something other than a sync report (%v); is it a Lookout server?", shown, err)
		}
		if rep.Owner != req.Owner {
			return nil, fmt.Errorf("%s answered with a report on owner %q, not %q; is it a Lookout server?", shown, rep.Owner, req.Owner)
		}
		return &rep, nil
	}
	return nil, problemError(resp, b, shown)
}

// problemError describes a failed sync from the server's answer: the
// problem's title, detail and bad fields, and a hint for the statuses that
// have an obvious next step.
func problemError(resp *http.Response, b []byte, shown string) error {
	var p apiProblem
	var msg strings.Builder
	if json.Unmarshal(b, &p) == nil && (p.Title != "" || p.Detail != "") {
		msg.WriteString(cmp.Or(p.Title, resp.Status))
		if p.Detail != "" {
			msg.WriteString(": " + p.Detail)
		}
		for _, e := range p.Errors {
			fmt.Fprintf(&msg, "\n  %s: %s", e.Field, e.Problem)
		}
	} else {
		fmt.Fprintf(&msg, "%s answered %s", shown, resp.Status)
		if text := strings.TrimSpace(string(b)); text != "" && len(text) <= 200 && utf8.ValidString(text) {
			msg.WriteString(": " + text)
		}
	}
	switch resp.StatusCode {
	case http.StatusUnauthorized:
		fmt.Fprintf(&msg, "\n  set LOOKOUT_API_TOKEN to an API token of the server at %s", shown)
	case http.StatusForbidden:
		msg.WriteString("\n  the token in LOOKOUT_API_TOKEN may not change targets: use one that may")
	case http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther, http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
		if loc, err := resp.Location(); err == nil {
			fmt.Fprintf(&msg, "\n  it redirects to %s: set --server to %s://%s", uptime.RedactURL(loc.String()), loc.Scheme, loc.Host)
		}
	case http.StatusNotFound, http.StatusMethodNotAllowed:
		fmt.Fprintf(&msg, "\n  the server at %s has no /api/v1/sync: upgrade it, or check --server", shown)
	}
	return errors.New(msg.String())
}

// printPlan writes a sync report as a plan: one line per object created
// (+), changed (~, with its changed fields) or deleted (-), targets before
// channels, then the counts. Unchanged objects are only counted.
func printPlan(w io.Writer, r *uptime.SyncReport) {
	var created, changed, deleted, unchanged int
	for _, d := range []*uptime.SyncDiff{r.Targets, r.Channels} {
		if d != nil {
			created, changed, deleted, unchanged = created+len(d.Created), changed+len(d.Changed), deleted+len(d.Deleted), unchanged+len(d.Unchanged)
		}
	}
	if !r.Changes() {
		fmt.Fprintf(w, "No changes: the file matches owner %q's %s.\n", r.Owner, countObjects(r, unchanged))
		return
	}
	if r.DryRun {
		fmt.Fprintf(w, "Lookout will sync owner %q (dry run: nothing is applied):\n\n", r.Owner)
	} else {
		fmt.Fprintf(w, "Lookout synced owner %q:\n\n", r.Owner)
	}
	for _, k := range []struct {
		kind string
		d    *uptime.SyncDiff
	}{{"target", r.Targets}, {"channel", r.Channels}} {
		if k.d == nil {
			continue
		}
		for _, n := range k.d.Created {
			fmt.Fprintf(w, "  + %s %s\n", k.kind, n)
		}
		for _, c := range k.d.Changed {
			fmt.Fprintf(w, "  ~ %s %s\n", k.kind, c.Name)
			for _, f := range c.Fields {
				if f.Sensitive {
					fmt.Fprintf(w, "      %s: (sensitive value changed)\n", f.Field)
					continue
				}
				fmt.Fprintf(w, "      %s: %s → %s\n", f.Field, showValue(f.Old), showValue(f.New))
			}
		}
		for _, n := range k.d.Deleted {
			fmt.Fprintf(w, "  - %s %s\n", k.kind, n)
		}
	}
	head, verbs := "Plan", [3]string{"to create", "to change", "to delete"}
	if !r.DryRun {
		head, verbs = "Applied", [3]string{"created", "changed", "deleted"}
	}
	fmt.Fprintf(w, "\n%s: %d %s, %d %s, ", head, created, verbs[0], changed, verbs[1])
	if r.Prune {
		fmt.Fprintf(w, "%d %s, ", deleted, verbs[2])
	}
	fmt.Fprintf(w, "%d unchanged.\n", unchanged)
}

// countObjects says "7 targets", "1 channel" or "7 targets and channels"
// after the kinds the report covers.
func countObjects(r *uptime.SyncReport, n int) string {
	what := "targets and channels"
	switch {
	case r.Channels == nil:
		what = "targets"
	case r.Targets == nil:
		what = "channels"
	}
	if n == 1 {
		what = strings.TrimSuffix(strings.Replace(what, "s and", " or", 1), "s")
	}
	return fmt.Sprintf("%d %s", n, what)
}

// showValue prints a field's JSON value compactly, or (unset).
func showValue(v json.RawMessage) string {
	if len(v) == 0 {
		return "(unset)"
	}
	var b bytes.Buffer
	if err := json.Compact(&b, v); err != nil {
		return string(v)
	}
	return b.String()
}
