// Package healthdoc recognises the health documents that services serve on
// their health endpoints and normalises them to an overall status and a flat
// list of components, each of which Lookout keeps a history of and can name
// as the cause of its dependents' incidents.
//
// Recognised formats, detected from the body's shape with the content type as
// a hint:
//
//   - "ietf": application/health+json (draft-inadarei-api-health-check), with
//     "checks" or the early drafts' "details" keyed "component:measurement".
//   - "spring": Spring Boot Actuator 1.x (flat), 2.0–2.1 ("details") and 2.2+
//     ("components", nested), and the bare {"status":"UP"}.
//   - "microprofile": MicroProfile Health 1.x ("outcome", "state") and 2.x+.
//   - "dotnet": ASP.NET Core HealthChecks JSON writers ("results", "checks")
//     and AspNetCore.HealthChecks.UI ("entries").
//   - "terminus": NestJS Terminus ("info", "error", "details").
//   - "alexliesenfeld": github.com/alexliesenfeld/health.
//   - "hellofresh": github.com/hellofresh/health-go (only failures are listed,
//     so only failing components are known).
//   - "adhoc": {"status":…,"checks":{…}}, "details" as a list or a map, and
//     flat objects whose members carry a status.
//   - "k8s-verbose": Kubernetes' /readyz?verbose, /livez?verbose text.
//   - "token": a single word such as "ok", "Healthy" or ".".
//
// Status words are matched case-insensitively, with "_" and "-" read as
// spaces; see the table in words.go.
//
// Verdicts. The overall Status is the document's own top-level status when it
// gives one; the components do not override it. A document that says "up"
// while listing a failing component stays up, and the failing component is
// recorded with its own status: that is the service's judgement of whether a
// dependency is critical (Spring's status aggregation, health-go's
// SkipOnErr, .NET's failure status all make that choice on purpose). Only
// when the document has no top-level status, or says "unknown", is the
// overall status the worst of its components' (uptime.Worst). A document with
// no components and a status of its own (Spring's default) is judged on that
// status alone. A Doc whose Status is StatusUnknown gives no verdict; the HTTP
// status then decides.
//
// Broken documents. Parse says only whether a body is a document it reads;
// Malformed tells a body that presents itself as one (by its Content-Type or
// its start) but cannot be read from a body that is simply not one, so that
// a health endpoint answering 200 with a broken document is not taken as up.
//
// Components. Nested components are named by dotted paths ("broker.us1"). A
// composite component is recorded as well as its parts, so "broker" carries
// the aggregate its service reported. IETF checks with several entries under
// one key are named "key.componentId" (or "key.N" without an id). Duplicate
// names get a "#2", "#3" suffix. Components are sorted by name.
//
// Limits. Bodies come from servers Lookout does not control, so the parser
// keeps at most MaxComponents components, descends at most MaxDepth levels,
// cuts names to MaxNameLen bytes and outputs to uptime.MaxErrorLen bytes,
// replaces invalid UTF-8 and control characters, and never panics. JSON is
// decoded once by encoding/json, in time linear in the body.
package healthdoc

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/lookout/lookout/internal/uptime"
)

// Limits on what one document may contribute.
const (
	// MaxComponents is the most components one document yields.
	MaxComponents = 1000
	// MaxDepth is the deepest nesting of components followed; top-level
	// components are at depth 1.
	MaxDepth = 8
	// MaxNameLen is the longest component name, in bytes.
	MaxNameLen = 200
	// maxUnitLen is the longest observed unit kept, in bytes.
	maxUnitLen = 32
	// maxTokenLen is the longest body read as a single token.
	maxTokenLen = 64
)

// The format names a Doc may carry.
const (
	FormatIETF           = "ietf"
	FormatSpring         = "spring"
	FormatMicroProfile   = "microprofile"
	FormatDotNet         = "dotnet"
	FormatAdhoc          = "adhoc"
	FormatTerminus       = "terminus"
	FormatAlexLiesenfeld = "alexliesenfeld"
	FormatHelloFresh     = "hellofresh"
	FormatK8sVerbose     = "k8s-verbose"
	FormatToken          = "token"
)

// Doc is a recognised health document.
type Doc struct {
	// Format names the recognised format ("spring"); see the Format constants.
	Format string
	// Status is the document's overall verdict; StatusUnknown gives none.
	Status uptime.Status
	// Components are the reported parts, named by dotted paths, sorted by name.
	Components []uptime.Component
}

// Parse recognises a health document. ok is false when the body is not one;
// then the HTTP status alone judges the check.
func Parse(contentType string, body []byte) (doc Doc, ok bool) {
	defer func() {
		// Belt and braces: a hostile body must never take a worker down.
		// FuzzParse calls parse directly, so a panic still shows there.
		if recover() != nil {
			doc, ok = Doc{}, false
		}
	}()
	return parse(contentType, body)
}

func parse(contentType string, body []byte) (Doc, bool) {
	body = bytes.TrimPrefix(body, []byte("\xef\xbb\xbf"))
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return Doc{}, false
	}
	switch body[0] {
	case '{':
		return parseJSON(contentType, body)
	case '"':
		var s string
		if len(body) <= maxTokenLen+2 && json.Unmarshal(body, &s) == nil {
			return parseToken(s)
		}
		return Doc{}, false
	}
	if d, ok := parseK8s(body); ok {
		return d, true
	}
	if len(body) <= maxTokenLen {
		return parseToken(string(body))
	}
	return Doc{}, false
}

func parseToken(s string) (Doc, bool) {
	s = strings.TrimSpace(s)
	if s == "." {
		return Doc{Format: FormatToken, Status: uptime.StatusUp}, true
	}
	st, ok := lookupWord(s)
	if !ok {
		return Doc{}, false
	}
	return Doc{Format: FormatToken, Status: st}, true
}

// parseK8s reads Kubernetes' verbose health output: "[+]name ok",
// "[-]name failed: reason", and a final "readyz check passed" or "… failed".
// Every non-blank line must be one of those.
func parseK8s(body []byte) (Doc, bool) {
	if !isK8s(body) {
		return Doc{}, false
	}
	d, problem := readK8s(body)
	return d, problem == ""
}

func isK8s(body []byte) bool {
	return bytes.HasPrefix(body, []byte("[+]")) || bytes.HasPrefix(body, []byte("[-]"))
}

// readK8s is parseK8s for a body that starts as one, saying what is wrong
// when it is not one after all.
func readK8s(body []byte) (Doc, string) {
	p := &collector{}
	overall := uptime.StatusUnknown
	checks := 0
	for n := 1; len(body) > 0; n++ {
		var line []byte
		line, body, _ = bytes.Cut(body, []byte("\n"))
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		switch {
		case bytes.HasPrefix(line, []byte("[+]")) || bytes.HasPrefix(line, []byte("[-]")):
			up := line[1] == '+'
			name, rest, _ := bytes.Cut(line[3:], []byte(" "))
			if len(name) == 0 {
				return Doc{}, fmt.Sprintf("line %d names no check", n)
			}
			c := uptime.Component{Name: string(name), Status: uptime.StatusUp}
			if !up {
				c.Status = uptime.StatusDown
				if _, reason, found := bytes.Cut(rest, []byte("failed: ")); found {
					c.Output = string(reason)
				} else {
					c.Output = string(rest)
				}
			}
			p.add(c)
			checks++
		case bytes.HasSuffix(line, []byte(" check passed")):
			overall = uptime.StatusUp
		case bytes.HasSuffix(line, []byte(" check failed")):
			overall = uptime.StatusDown
		default:
			return Doc{}, fmt.Sprintf(`line %d is neither a "[+]name ok" or "[-]name failed" check nor a summary`, n)
		}
	}
	return p.doc(FormatK8sVerbose, overall), ""
}

// Malformed returns why a body that presents itself as a health document
// cannot be read as one, or nil when it does not present itself as one.
// body is one Parse did not recognise. A body presents itself as a health
// document by its Content-Type (application/health+json, or a Spring Boot
// Actuator type) or by its start: a JSON object with a "status", "outcome",
// "checks" or "components" member before it goes wrong, or Kubernetes'
// verbose "[+]" and "[-]" lines. Any other body is simply not one.
func Malformed(contentType string, body []byte) (err error) {
	defer func() {
		// As in Parse; FuzzParse calls malformed directly.
		if recover() != nil {
			err = nil
		}
	}()
	return malformed(contentType, body)
}

func malformed(contentType string, body []byte) error {
	ct := strings.ToLower(contentType)
	claimed := strings.Contains(ct, "health+json") || strings.Contains(ct, "spring-boot.actuator")
	body = bytes.TrimSpace(bytes.TrimPrefix(body, []byte("\xef\xbb\xbf")))
	switch {
	case len(body) == 0:
		if claimed {
			return errors.New("the body is empty")
		}
	case body[0] == '{':
		return malformedJSON(body, claimed)
	case isK8s(body):
		if _, problem := readK8s(body); problem != "" {
			return errors.New(problem)
		}
	case claimed:
		return errors.New("the body is not a JSON object")
	}
	return nil
}

// marks are the top-level members that make a JSON object recognisably a
// health document, even one that goes wrong after them.
var marks = [...]string{"status", "outcome", "checks", "components"}

func malformedJSON(body []byte, claimed bool) error {
	if json.Valid(body) {
		// One object, which Parse did not recognise: only a body that
		// claims to be a health document is wrong to be so.
		if claimed {
			return errors.New(`it has no "status" Lookout recognises`)
		}
		return nil
	}
	// Walk the tokens up to the fault, noting the top-level member names.
	dec := json.NewDecoder(bytes.NewReader(body))
	recognised := claimed
	depth, started := 0, false
	name := false // the next token at depth 1 is a member name
	for {
		tok, err := dec.Token()
		var fault error
		switch {
		case depth == 0 && started && errors.Is(err, io.EOF):
			return nil // whole after all
		case depth == 0 && started:
			fault = errors.New("data follows the JSON object")
		case errors.Is(err, io.EOF):
			fault = errors.New("the JSON ends before the document does")
		case err != nil:
			// The decoder's offsets count from its last token; a full
			// scan gives the bad byte's position in the body.
			var syn *json.SyntaxError
			if !errors.As(json.Unmarshal(body, new(any)), &syn) {
				return nil
			}
			fault = fmt.Errorf("invalid JSON at byte %d: %s", syn.Offset, syn.Error())
		}
		if fault != nil {
			if !recognised {
				return nil
			}
			return fault
		}
		started = true
		switch tok {
		case json.Delim('{'), json.Delim('['):
			depth++
			name = depth == 1
		case json.Delim('}'), json.Delim(']'):
			depth--
			name = depth == 1
		default:
			if depth != 1 {
				break
			}
			if k, ok := tok.(string); ok && name {
				recognised = recognised || slices.ContainsFunc(marks[:], func(m string) bool { return strings.EqualFold(m, k) })
			}
			name = !name
		}
	}
}

func parseJSON(contentType string, body []byte) (Doc, bool) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil || m == nil {
		return Doc{}, false
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return Doc{}, false // trailing data: not one JSON document
	}
	top, hasTop := statusOf(m)
	word, _ := str(get(m, "status"))
	ct := strings.ToLower(contentType)
	p := &collector{}

	// Formats that are told apart by keys of their own.
	if st, ok := hellofreshStatus(m); ok {
		if f, ok := get(m, "failures").(map[string]any); ok {
			for _, k := range sortedKeys(f) {
				if s, ok := f[k].(string); ok {
					p.add(uptime.Component{Name: k, Status: uptime.StatusDown, Output: s})
				}
			}
		}
		return p.doc(FormatHelloFresh, st), true
	}
	if isTerminus(m) {
		if d, ok := get(m, "details").(map[string]any); ok {
			p.entries("", d, 1, true)
		} else {
			for _, key := range []string{"info", "error"} {
				if d, ok := get(m, key).(map[string]any); ok {
					p.entries("", d, 1, true)
				}
			}
		}
		return p.doc(FormatTerminus, top), true
	}
	if isIETF(ct, m, word) {
		for _, key := range []string{"checks", "details"} {
			if c, ok := get(m, key).(map[string]any); ok {
				p.ietf(c)
				break
			}
		}
		if !hasTop && len(p.comps) == 0 {
			return Doc{}, false
		}
		return p.doc(FormatIETF, top), true
	}

	kind := p.children("", m, 1)
	if !hasTop && len(p.comps) == 0 {
		return Doc{}, false
	}
	return p.doc(label(kind, m, word), top), true
}

// container kinds found by children, used to name the format.
const (
	kindNone = iota
	kindComponents
	kindChecksMap
	kindChecksList
	kindEntries
	kindResults
	kindDetailsMap
	kindDetailsList
	kindFlat
)

func label(kind int, m map[string]any, word string) string {
	spring := word == "UP" || word == "DOWN" || word == "OUT_OF_SERVICE" || word == "UNKNOWN"
	dotnet := word == "Healthy" || word == "Degraded" || word == "Unhealthy"
	switch kind {
	case kindComponents:
		return FormatSpring
	case kindEntries, kindResults:
		return FormatDotNet
	case kindChecksList:
		if get(m, "outcome") != nil || word == "UP" || word == "DOWN" {
			return FormatMicroProfile
		}
		if dotnet {
			return FormatDotNet
		}
	case kindChecksMap:
		if dotnet {
			return FormatDotNet
		}
	case kindDetailsMap:
		if isAlexLiesenfeld(m, word) {
			return FormatAlexLiesenfeld
		}
		if spring {
			return FormatSpring
		}
	case kindFlat, kindNone:
		if spring {
			return FormatSpring
		}
		if dotnet {
			return FormatDotNet
		}
		if kind == kindNone && get(m, "outcome") != nil {
			return FormatMicroProfile
		}
	}
	return FormatAdhoc
}

// isAlexLiesenfeld reports the exact shape alexliesenfeld/health writes:
// lowercase statuses and details holding only status, timestamp and error.
func isAlexLiesenfeld(m map[string]any, word string) bool {
	if word != "up" && word != "down" && word != "unknown" {
		return false
	}
	d, _ := m["details"].(map[string]any)
	for _, v := range d {
		e, ok := v.(map[string]any)
		if !ok {
			return false
		}
		s, _ := e["status"].(string)
		if s != "up" && s != "down" && s != "unknown" {
			return false
		}
		for k := range e {
			if k != "status" && k != "timestamp" && k != "error" {
				return false
			}
		}
	}
	return true
}

func hellofreshStatus(m map[string]any) (uptime.Status, bool) {
	s, _ := str(get(m, "status"))
	var st uptime.Status
	switch strings.ToLower(s) {
	case "ok":
		st = uptime.StatusUp
	case "partially available":
		st = uptime.StatusDegraded
	case "unavailable":
		st = uptime.StatusDown
	default:
		return 0, false
	}
	_, comp := get(m, "component").(map[string]any)
	_, fail := get(m, "failures").(map[string]any)
	return st, comp || fail
}

func isTerminus(m map[string]any) bool {
	s, _ := str(get(m, "status"))
	switch strings.ToLower(s) {
	case "ok", "error", "shutting_down":
	default:
		return false
	}
	if _, ok := get(m, "error").(map[string]any); !ok {
		return false
	}
	_, info := get(m, "info").(map[string]any)
	_, details := get(m, "details").(map[string]any)
	return info || details
}

func isIETF(ct string, m map[string]any, word string) bool {
	if strings.Contains(ct, "health+json") {
		return true
	}
	switch strings.ToLower(word) {
	case "pass", "warn", "fail":
		return true
	}
	for _, key := range []string{"checks", "details"} {
		if c, ok := get(m, key).(map[string]any); ok {
			for _, v := range c {
				if _, ok := v.([]any); ok {
					return true
				}
			}
		}
	}
	return false
}

// collector gathers components within the limits.
type collector struct {
	comps []uptime.Component
	seen  map[string]int
}

func (p *collector) full() bool { return len(p.comps) >= MaxComponents }

// add records a component, cleaning and capping its name and output and
// making its name unique.
func (p *collector) add(c uptime.Component) {
	if p.full() {
		return
	}
	c.Name = uptime.Truncate(cleanName(c.Name), MaxNameLen)
	c.Output = uptime.Truncate(cleanText(c.Output), uptime.MaxErrorLen)
	c.Unit = uptime.Truncate(cleanText(c.Unit), maxUnitLen)
	if p.seen == nil {
		p.seen = make(map[string]int)
	}
	if k, dup := p.seen[c.Name]; dup {
		base := c.Name
		for {
			k++
			suffix := "#" + strconv.Itoa(k)
			c.Name = uptime.Truncate(base, MaxNameLen-len(suffix)) + suffix
			if _, taken := p.seen[c.Name]; !taken {
				break
			}
		}
		p.seen[base] = k
	}
	p.seen[c.Name] = 1
	p.comps = append(p.comps, c)
}

func (p *collector) doc(format string, top uptime.Status) Doc {
	slices.SortFunc(p.comps, func(a, b uptime.Component) int { return strings.Compare(a.Name, b.Name) })
	st := top
	if st == uptime.StatusUnknown {
		for _, c := range p.comps {
			st = uptime.Worst(st, c.Status)
		}
	}
	return Doc{Format: format, Status: st, Components: p.comps}
}

// ietf reads an IETF checks object: each key holds an array of check
// objects (or, leniently, one object).
func (p *collector) ietf(checks map[string]any) {
	for _, key := range sortedKeys(checks) {
		if p.full() {
			return
		}
		switch v := checks[key].(type) {
		case map[string]any:
			p.ietfCheck(key, v)
		case []any:
			var objs []map[string]any
			for _, e := range v {
				if o, ok := e.(map[string]any); ok {
					objs = append(objs, o)
				}
			}
			// Several instances are told apart by componentId when the ids
			// are distinct, by their position otherwise.
			var ids []string
			if len(objs) > 1 {
				seen := make(map[string]bool, len(objs))
				for _, o := range objs {
					id, _ := str(get(o, "componentId"))
					if id == "" || seen[id] {
						ids = nil
						break
					}
					seen[id] = true
					ids = append(ids, id)
				}
			}
			for i, o := range objs {
				name := key
				switch {
				case ids != nil:
					name = key + "." + ids[i]
				case len(objs) > 1:
					name = key + "." + strconv.Itoa(i)
				}
				p.ietfCheck(name, o)
				if p.full() {
					return
				}
			}
		}
	}
}

func (p *collector) ietfCheck(name string, o map[string]any) {
	st, _ := statusOf(o)
	c := uptime.Component{Name: name, Status: st, Output: outputOf(o)}
	// Early drafts called them metricValue and metricUnit.
	value, unit := get(o, "observedValue"), get(o, "observedUnit")
	if value == nil {
		value, unit = get(o, "metricValue"), get(o, "metricUnit")
	}
	if n, ok := value.(json.Number); ok {
		if f, err := n.Float64(); err == nil {
			c.Observed = f
			c.Unit, _ = str(unit)
		}
	}
	p.add(c)
}

// component records the component obj at path and descends into its parts.
func (p *collector) component(path string, obj map[string]any, depth int) {
	st, _ := statusOf(obj)
	p.add(uptime.Component{Name: path, Status: st, Output: outputOf(obj)})
	if depth < MaxDepth {
		p.children(path, obj, depth+1)
	}
}

// children finds the container of obj's parts and records them at depth.
// It returns the kind of container used.
func (p *collector) children(prefix string, obj map[string]any, depth int) int {
	if m, ok := get(obj, "components").(map[string]any); ok && len(m) > 0 {
		p.entries(prefix, m, depth, true)
		return kindComponents
	}
	if m, ok := get(obj, "entries").(map[string]any); ok && len(m) > 0 {
		p.entries(prefix, m, depth, true)
		return kindEntries
	}
	if m, ok := get(obj, "results").(map[string]any); ok && len(m) > 0 && hasStatusMember(m) {
		p.entries(prefix, m, depth, true)
		return kindResults
	}
	switch c := get(obj, "checks").(type) {
	case map[string]any:
		if len(c) > 0 {
			p.entries(prefix, c, depth, true)
			return kindChecksMap
		}
	case []any:
		if len(c) > 0 {
			p.list(prefix, c, depth)
			return kindChecksList
		}
	}
	switch c := get(obj, "details").(type) {
	case map[string]any:
		if hasStatusMember(c) {
			p.entries(prefix, c, depth, false)
			return kindDetailsMap
		}
	case []any:
		if len(c) > 0 {
			p.list(prefix, c, depth)
			return kindDetailsList
		}
	}
	// Spring Boot 1.x: the parts are members beside "status".
	if hasStatusMember(obj) {
		p.entries(prefix, obj, depth, false)
		return kindFlat
	}
	return kindNone
}

// entries records the members of m that are objects; unless lenient is set,
// only those whose status is a recognised word.
func (p *collector) entries(prefix string, m map[string]any, depth int, lenient bool) {
	for _, k := range sortedKeys(m) {
		if p.full() {
			return
		}
		o, ok := m[k].(map[string]any)
		if !ok {
			continue
		}
		if !lenient {
			if _, ok := statusOf(o); !ok {
				continue
			}
		}
		p.component(join(prefix, k), o, depth)
	}
}

// list records a list of check objects named by their "name" member.
func (p *collector) list(prefix string, l []any, depth int) {
	for i, e := range l {
		if p.full() {
			return
		}
		o, ok := e.(map[string]any)
		if !ok {
			continue
		}
		name, _ := str(get(o, "name"))
		if name == "" {
			name, _ = str(get(o, "key"))
		}
		if name == "" {
			name, _ = str(get(o, "id"))
		}
		if name == "" {
			name = strconv.Itoa(i)
		}
		p.component(join(prefix, name), o, depth)
	}
}

func join(prefix, name string) string {
	if prefix == "" {
		return name
	}
	return prefix + "." + name
}

// hasStatusMember reports whether some member of m is an object with a
// recognised status.
func hasStatusMember(m map[string]any) bool {
	for _, v := range m {
		if o, ok := v.(map[string]any); ok {
			if _, ok := statusOf(o); ok {
				return true
			}
		}
	}
	return false
}

// statusOf reads an object's status from the first of its status members
// that holds a recognised word or a boolean.
func statusOf(o map[string]any) (uptime.Status, bool) {
	for _, key := range [...]string{"status", "outcome", "state", "health", "healthy"} {
		switch v := get(o, key).(type) {
		case string:
			if st, ok := lookupWord(v); ok {
				return st, true
			}
		case bool:
			if v {
				return uptime.StatusUp, true
			}
			return uptime.StatusDown, true
		}
	}
	return uptime.StatusUnknown, false
}

// outputOf finds a component's message: its own text members, then the
// "error" in Spring's "details" or in MicroProfile's "data".
func outputOf(o map[string]any) string {
	for _, key := range [...]string{"output", "error", "message", "description", "exception", "reason"} {
		if s, ok := str(get(o, key)); ok && s != "" {
			return s
		}
	}
	for _, nested := range [...]string{"details", "data"} {
		if d, ok := get(o, nested).(map[string]any); ok {
			for _, key := range [...]string{"error", "message"} {
				if s, ok := str(get(d, key)); ok && s != "" {
					return s
				}
			}
		}
	}
	return ""
}

// get returns m[key], or failing that the member whose name matches key
// case-insensitively. The fallback scan happens a bounded number of times
// per object, so the total work stays linear in the document.
func get(m map[string]any, key string) any {
	if v, ok := m[key]; ok {
		return v
	}
	for k, v := range m {
		if len(k) == len(key) && strings.EqualFold(k, key) {
			return v
		}
	}
	return nil
}

func str(v any) (string, bool) {
	s, ok := v.(string)
	return s, ok
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// cleanName makes a name printable and non-empty.
func cleanName(s string) string {
	s = strings.TrimSpace(cleanText(s))
	if s == "" {
		return "_"
	}
	return s
}

// cleanText replaces invalid UTF-8 and control characters with spaces and
// trims the result. It returns s itself when there is nothing to replace.
func cleanText(s string) string {
	clean := true
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == 0x7f || c >= utf8.RuneSelf {
			clean = false
			break
		}
	}
	if clean {
		return strings.TrimSpace(s)
	}
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return ' '
		}
		return r
	}, s)
	return strings.TrimSpace(s)
}
