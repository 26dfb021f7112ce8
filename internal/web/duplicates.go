package web

import (
	"bytes"
	"encoding"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"unicode"
)

// duplicateMember returns the JSON path of the first member that appears
// twice in one object of b, with the problem to report, or "" when there is
// none or b is not well-formed JSON (decoding then says why). encoding/json
// keeps the last of duplicates without a word, so {"interval":"1m",
// "interval":"0s"} would be read as whichever came last. In an object
// decoded into a struct, names that differ only in case are duplicates too,
// since encoding/json matches both to one field; t, the type b is decoded
// into, tells which objects those are.
func duplicateMember(b []byte, t reflect.Type) (field, problem string) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	field, problem, err := walkMembers(d, t, "")
	if err != nil {
		return "", ""
	}
	return field, problem
}

var syncEntryType = reflect.TypeFor[syncEntry]()

// walkMembers reads one value from d, whose JSON path is path and whose Go
// type is t (nil when unknown), and reports its first duplicate member.
func walkMembers(d *json.Decoder, t reflect.Type, path string) (field, problem string, err error) {
	if t == syncEntryType {
		// Kept as sent, to be decoded (and checked) on its own later.
		var skip json.RawMessage
		return "", "", d.Decode(&skip)
	}
	tok, err := d.Token()
	if err != nil {
		return "", "", err
	}
	delim, ok := tok.(json.Delim)
	if !ok {
		return "", "", nil
	}
	t = decodedAs(t)
	switch delim {
	case '[':
		var elem reflect.Type
		if t != nil && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) {
			elem = t.Elem()
		}
		for i := 0; d.More(); i++ {
			if field, problem, err := walkMembers(d, elem, fmt.Sprintf("%s[%d]", path, i)); err != nil || field != "" {
				return field, problem, err
			}
		}
	case '{':
		isStruct := t != nil && t.Kind() == reflect.Struct
		seen := map[string]string{} // the key as compared → as sent
		for d.More() {
			tok, err := d.Token()
			if err != nil {
				return "", "", err
			}
			key, _ := tok.(string)
			same, name, sub := key, key, reflect.Type(nil)
			switch {
			case isStruct:
				same = foldKey(key)
				name, sub = structMember(t, key)
			case t != nil && t.Kind() == reflect.Map:
				sub = t.Elem()
			}
			member := name
			if path != "" {
				member = path + "." + name
			}
			if prev, dup := seen[same]; dup {
				if prev == key {
					return member, "appears twice in one object; send it once", nil
				}
				return member, fmt.Sprintf("is sent twice, as %q and %q (names match regardless of case); send it once", prev, key), nil
			}
			seen[same] = key
			if field, problem, err := walkMembers(d, sub, member); err != nil || field != "" {
				return field, problem, err
			}
		}
	}
	_, err = d.Token() // the closing delimiter
	return "", "", err
}

var (
	jsonUnmarshaler = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// decodedAs is the type whose members a JSON value fills: t without its
// pointers, or nil when t is unknown or decodes itself (json.RawMessage,
// durations, status ranges), so that only exact duplicates count below it.
func decodedAs(t reflect.Type) reflect.Type {
	for t != nil {
		if t.Implements(jsonUnmarshaler) || t.Implements(textUnmarshaler) ||
			reflect.PointerTo(t).Implements(jsonUnmarshaler) || reflect.PointerTo(t).Implements(textUnmarshaler) {
			return nil
		}
		if t.Kind() != reflect.Pointer {
			return t
		}
		t = t.Elem()
	}
	return nil
}

// structMember returns the JSON name and type of the field of struct t
// that encoding/json fills from key (an exact match first, then one
// regardless of case), looking into embedded structs; key and nil when
// there is none.
func structMember(t reflect.Type, key string) (string, reflect.Type) {
	var folded reflect.StructField
	var foldedName string
	var find func(t reflect.Type) (string, reflect.Type, bool)
	find = func(t reflect.Type) (string, reflect.Type, bool) {
		for i := range t.NumField() {
			f := t.Field(i)
			tag, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if tag == "-" || (!f.IsExported() && !f.Anonymous) {
				continue
			}
			if f.Anonymous && tag == "" && f.Type.Kind() == reflect.Struct {
				if name, typ, ok := find(f.Type); ok {
					return name, typ, true
				}
				continue
			}
			name := tag
			if name == "" {
				name = f.Name
			}
			if name == key {
				return name, f.Type, true
			}
			if foldedName == "" && strings.EqualFold(name, key) {
				folded, foldedName = f, name
			}
		}
		return "", nil, false
	}
	if name, typ, ok := find(t); ok {
		return name, typ
	}
	if foldedName != "" {
		return foldedName, folded.Type
	}
	return key, nil
}

// foldKey maps every string that strings.EqualFold (the comparison
// encoding/json matches field names with) finds equal to one value: each
// rune becomes the smallest of its case-folding orbit.
func foldKey(s string) string {
	return strings.Map(func(r rune) rune {
		low := r
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			low = min(low, f)
		}
		return low
	}, s)
}
