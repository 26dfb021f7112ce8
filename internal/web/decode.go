package web

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/lookout/lookout/internal/uptime"
)

// maxBodyBytes caps every request body at 1 MiB (a larger one is a 413),
// so that no client can make the server buffer without end.
const maxBodyBytes = 1 << 20

// readBody checks the Content-Type against the accepted media types and
// reads the body, at most maxBodyBytes. A larger body is a 413, a wrong
// media type a 415, an empty body a 400.
func readBody(w http.ResponseWriter, r *http.Request, accept ...string) ([]byte, error) {
	return readBodyUpTo(w, r, maxBodyBytes, accept...)
}

// readBodyUpTo is readBody with a cap of limit bytes.
func readBodyUpTo(w http.ResponseWriter, r *http.Request, limit int64, accept ...string) ([]byte, error) {
	ct := r.Header.Get("Content-Type")
	mt, _, err := mime.ParseMediaType(ct)
	if ct == "" || err != nil || !slices.Contains(accept, mt) {
		e := newHTTPError(http.StatusUnsupportedMediaType,
			fmt.Sprintf("the body must be sent as %s", strings.Join(accept, " or ")),
			uptime.FieldError{Field: "Content-Type", Problem: fmt.Sprintf("%q is not supported", ct)})
		e.header = http.Header{"Accept-Post": {strings.Join(accept, ", ")}}
		if r.Method == http.MethodPatch {
			e.header = http.Header{"Accept-Patch": {strings.Join(accept, ", ")}}
		}
		return nil, e
	}
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var mb *http.MaxBytesError
		if errors.As(err, &mb) {
			return nil, newHTTPError(http.StatusRequestEntityTooLarge, "the request body is too large",
				uptime.FieldError{Field: "body", Problem: fmt.Sprintf("must be at most %d bytes (%d MiB)", limit, limit>>20)})
		}
		return nil, newHTTPError(http.StatusBadRequest, "the request body could not be read",
			uptime.FieldError{Field: "body", Problem: "could not be read"})
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return nil, uptime.Invalid("body", "is empty; send a JSON object")
	}
	return b, nil
}

// decodeJSON reads one JSON value from b into dst, refusing unknown fields,
// a member given twice in one object, and anything after the value. Every
// failure is a *uptime.ValidationError naming the JSON path of the
// offending field ("http.expect_status"), or "body" when no single field
// is to blame.
func decodeJSON(b []byte, dst any) error {
	if field, problem := duplicateMember(b, reflect.TypeOf(dst)); field != "" {
		return uptime.Invalid(field, problem)
	}
	err := strictDecode(b, dst)
	if err == nil {
		return nil
	}
	var (
		syn *json.SyntaxError
		typ *json.UnmarshalTypeError
	)
	switch {
	case errors.As(err, &syn):
		// Offset counts the bytes read, so it is the 1-based position of the bad byte.
		return uptime.Invalid("body", fmt.Sprintf("malformed JSON at byte %d: %s", syn.Offset, strings.TrimPrefix(syn.Error(), "json: ")))
	case errors.Is(err, io.ErrUnexpectedEOF):
		return uptime.Invalid("body", fmt.Sprintf("malformed JSON: unexpected end of input after byte %d", len(b)))
	case errors.Is(err, errTrailing):
		return uptime.Invalid("body", "unexpected data after the JSON value")
	case errors.As(err, &typ):
		field := stripEmbedded(typ.Field, reflect.TypeOf(dst))
		if field == "" {
			field = "body"
		}
		return uptime.Invalid(field, fmt.Sprintf("must be %s, not %s", jsonKind(typ.Type), article(typ.Value)))
	}
	// Errors from UnmarshalJSON methods (durations, status ranges) and
	// unknown fields carry no path: find the field by decoding each member alone.
	field := locate(b, reflect.TypeOf(dst))
	msg := strings.TrimPrefix(err.Error(), "json: ")
	if strings.HasPrefix(msg, "unknown field ") {
		return uptime.Invalid(field, "is not a known field")
	}
	return uptime.Invalid(field, msg)
}

// sentMembers returns whether the JSON object b has a member of a name,
// with a value other than null: a member sent as null counts as left out,
// as it does in a merge patch. Names match as encoding/json matches them
// to struct fields, regardless of case. b must be one that decoded.
func sentMembers(b []byte) func(name string) bool {
	var members map[string]json.RawMessage
	_ = json.Unmarshal(b, &members) // not an object: nothing was sent
	return func(name string) bool {
		for k, v := range members {
			if strings.EqualFold(k, name) && string(bytes.TrimSpace(v)) != "null" {
				return true
			}
		}
		return false
	}
}

// stripEmbedded drops the Go name of an embedded struct that
// UnmarshalTypeError puts in front of a promoted field's JSON path
// ("Target.http.headers" for targetInput).
func stripEmbedded(field string, t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return field
	}
	for i := range t.NumField() {
		if f := t.Field(i); f.Anonymous {
			if rest, ok := strings.CutPrefix(field, f.Name+"."); ok {
				return stripEmbedded(rest, f.Type)
			}
		}
	}
	return field
}

var errTrailing = errors.New("trailing data")

func strictDecode(b []byte, dst any) error {
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	if err := d.Decode(dst); err != nil {
		return err
	}
	if _, err := d.Token(); err != io.EOF {
		return errTrailing
	}
	return nil
}

// locate returns the JSON path of the member of the object b that fails to
// decode into a fresh value of type t (a pointer type), descending into
// nested objects. It returns "body" when no single member fails alone.
func locate(b []byte, t reflect.Type) string {
	var path []string
	wrap := func(inner []byte) []byte { return inner }
	obj := b
	for depth := 0; depth < 8; depth++ {
		var members map[string]json.RawMessage
		if json.Unmarshal(obj, &members) != nil {
			break
		}
		keys := make([]string, 0, len(members))
		for k := range members {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		found := false
		for _, k := range keys {
			kb, _ := json.Marshal(k)
			single := wrap(slices.Concat([]byte("{"), kb, []byte(":"), members[k], []byte("}")))
			if strictDecode(single, reflect.New(t.Elem()).Interface()) != nil {
				path = append(path, k)
				outer := wrap
				wrap = func(inner []byte) []byte {
					return outer(slices.Concat([]byte("{"), kb, []byte(":"), inner, []byte("}")))
				}
				obj = members[k]
				found = true
				break
			}
		}
		if !found {
			break
		}
	}
	if len(path) == 0 {
		return "body"
	}
	return strings.Join(path, ".")
}

func jsonKind(t reflect.Type) string {
	if t == nil {
		return "another type"
	}
	switch t.Kind() {
	case reflect.Bool:
		return "a boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.String:
		return "a string"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Map, reflect.Struct:
		return "an object"
	case reflect.Pointer:
		return jsonKind(t.Elem())
	}
	return "another type"
}

// article turns the JSON value kind of an UnmarshalTypeError ("number",
// "string", "number 1.5") into words.
func article(v string) string {
	switch {
	case v == "":
		return "this value"
	case v == "array" || v == "object":
		return "an " + v
	default:
		return "a " + v
	}
}

// readMergePatch reads a PATCH body and checks that it is a JSON object,
// reporting syntax and shape errors with offsets into what the client sent.
func readMergePatch(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	b, err := readBody(w, r, "application/merge-patch+json", "application/json")
	if err != nil {
		return nil, err
	}
	var members map[string]json.RawMessage
	if err := decodeJSON(b, &members); err != nil {
		return nil, err
	}
	if members == nil {
		return nil, uptime.Invalid("body", "a merge patch must be a JSON object")
	}
	return b, nil
}

// patched returns cur, marshalled as the API shows it, with patch merged in
// and decoded again by decode. It refuses a change of name.
func patched[T any](cur any, name string, patch []byte, decode func([]byte) (T, error), nameOf func(T) string) (T, error) {
	var zero T
	doc, err := json.Marshal(cur)
	if err != nil {
		return zero, fmt.Errorf("encode %q: %w", name, err)
	}
	merged, err := mergePatch(doc, patch)
	if err != nil {
		return zero, err
	}
	v, err := decode(merged)
	if err != nil {
		return zero, err
	}
	if nameOf(v) != name {
		return zero, uptime.Invalid("name", "cannot be changed; create it under its new name and delete this one")
	}
	return v, nil
}

// mergePatch applies an RFC 7386 JSON merge patch to the JSON object doc.
func mergePatch(doc, patch []byte) ([]byte, error) {
	p, err := decodeAny(patch)
	if err != nil {
		return nil, err
	}
	if _, ok := p.(map[string]any); !ok {
		return nil, uptime.Invalid("body", "a merge patch must be a JSON object")
	}
	d, err := decodeAny(doc)
	if err != nil {
		return nil, fmt.Errorf("merge patch: decode stored target: %w", err)
	}
	return json.Marshal(mergeValue(d, p))
}

// decodeAny decodes JSON keeping numbers exact.
func decodeAny(b []byte) (any, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, err
	}
	return v, nil
}

func mergeValue(target, patch any) any {
	pm, ok := patch.(map[string]any)
	if !ok {
		return patch
	}
	tm, ok := target.(map[string]any)
	if !ok {
		tm = map[string]any{}
	}
	for k, v := range pm {
		if v == nil {
			delete(tm, k)
			continue
		}
		tm[k] = mergeValue(tm[k], v)
	}
	return tm
}

// queryTime parses the RFC 3339 query parameter field; absent is the zero
// time. A bad value is added to verr.
func queryTime(v url.Values, field string, verr *uptime.ValidationError) time.Time {
	s := v.Get(field)
	if s == "" {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		verr.Add(field, fmt.Sprintf("%q is not an RFC 3339 time such as 2025-01-02T15:04:05Z", s))
	}
	return t.UTC()
}

// queryLimit parses ?limit=, from 1 to maxLimit, def when absent. A bad
// value is added to verr.
func queryLimit(v url.Values, def, maxLimit int, verr *uptime.ValidationError) int {
	s := v.Get("limit")
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > maxLimit {
		verr.Add("limit", fmt.Sprintf("must be a number from 1 to %d", maxLimit))
		return def
	}
	return n
}

// queryCursor parses the ?cursor= of a listing paged by id, newest first:
// the id of the last item of the previous page. 0 means the first page.
func queryCursor(v url.Values, verr *uptime.ValidationError) int64 {
	c := v.Get("cursor")
	if c == "" {
		return 0
	}
	b, err := base64.RawURLEncoding.DecodeString(c)
	id, perr := strconv.ParseInt(string(b), 10, 64)
	if err != nil || perr != nil || id < 1 {
		verr.Add("cursor", "is not a cursor this API returned")
		return 0
	}
	return id
}

// pageByID cuts a listing paged by id, fetched with one item more than
// limit to tell whether a next page exists, to limit, and returns the
// cursor of the next page, "" when there is none.
func pageByID[T any](items []T, limit int, id func(T) int64) ([]T, string) {
	if len(items) <= limit {
		return items, ""
	}
	items = items[:limit]
	return items, idCursor(id(items[limit-1]))
}

// idCursor is the opaque cursor of the page after the item with this id.
func idCursor(id int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(id, 10)))
}
