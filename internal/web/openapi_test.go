package web

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"
)

type openAPIDoc struct {
	OpenAPI string                                `json:"openapi"`
	Paths   map[string]map[string]json.RawMessage `json:"paths"`
}

// The document describes every route the router serves, and no other.
func TestOpenAPICoversEveryRoute(t *testing.T) {
	e := newEnv(t)
	r := e.do("GET", "/openapi.json", "")
	if r.status != http.StatusOK || r.header.Get("Content-Type") != "application/json" {
		t.Fatalf("GET /openapi.json: %d %s", r.status, r.header.Get("Content-Type"))
	}
	var doc openAPIDoc
	decodeInto(t, r.body, &doc)
	if !strings.HasPrefix(doc.OpenAPI, "3.1") {
		t.Errorf("openapi %q, want 3.1", doc.OpenAPI)
	}

	routed := map[string]bool{}
	err := chi.Walk(e.s.handler.(chi.Routes), func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		route = strings.TrimSuffix(route, "/*")
		if route != "/" {
			route = strings.TrimSuffix(route, "/")
		}
		key := strings.ToLower(method) + " " + route
		routed[key] = true
		if _, ok := doc.Paths[route][strings.ToLower(method)]; !ok {
			t.Errorf("%s %s is routed but not in openapi.json", method, route)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	methods := []string{"get", "put", "post", "delete", "patch", "head", "options", "trace"}
	for path, ops := range doc.Paths {
		for m := range ops {
			if !slices.Contains(methods, m) {
				continue // "parameters" and the like
			}
			if !routed[m+" "+path] {
				t.Errorf("openapi.json describes %s %s, which is not routed", strings.ToUpper(m), path)
			}
		}
	}
	if len(routed) < 15 {
		t.Errorf("walked only %d routes", len(routed))
	}
}

// Every $ref in the document points at something it defines.
func TestOpenAPIRefsResolve(t *testing.T) {
	var doc map[string]any
	decodeInto(t, openAPI, &doc)
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			if ref, ok := v["$ref"].(string); ok {
				var cur any = doc
				for _, part := range strings.Split(strings.TrimPrefix(ref, "#/"), "/") {
					m, _ := cur.(map[string]any)
					cur = m[part]
				}
				if cur == nil {
					t.Errorf("unresolved $ref %s", ref)
				}
			}
			for _, x := range v {
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	walk(doc)
}

func TestIndexPage(t *testing.T) {
	e := newEnv(t)
	r := e.do("GET", "/", "")
	if r.status != 200 || !strings.HasPrefix(r.header.Get("Content-Type"), "text/html") || !strings.Contains(string(r.body), "Lookout") {
		t.Errorf("GET /: %d %q", r.status, r.header.Get("Content-Type"))
	}
}
