package web

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/google/go-cmp/cmp"

	"github.com/lookout/lookout/internal/uptime"
)

type openAPIDoc struct {
	OpenAPI string                                `json:"openapi"`
	Paths   map[string]map[string]json.RawMessage `json:"paths"`
}

// stubUI stands in for the dashboard's handler, so that its routes can be
// told apart in a walk of the router.
type stubUI struct{}

func (*stubUI) ServeHTTP(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) }

// The document describes every route the router serves, and no other. The
// real router is walked (chi.Walk), both as built without a dashboard and
// with one. The document covers the API: /api/v1, the health probes,
// /metrics, /openapi.json and GET / (the index without a dashboard). The
// dashboard's pages are not API and are left out of it on purpose: a route
// served by the dashboard's handler need not be documented, and counts as
// routed for a documented path it shares ("/"). HEAD (answered by every
// GET route) and OPTIONS (answered by every route) are automatic and not
// documented per route, so a walk that reports them ignores them.
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
	ui := &stubUI{}
	for _, tc := range []struct {
		name string
		s    *Server
	}{
		{"without a dashboard", e.s},
		{"with a dashboard", newEnv(t, func(c *Config) { c.UI = ui }).s},
	} {
		t.Run(tc.name, func(t *testing.T) {
			routed := map[string]bool{}
			api := 0
			err := chi.Walk(tc.s.handler.(chi.Routes), func(method, route string, h http.Handler, _ ...func(http.Handler) http.Handler) error {
				if method == http.MethodHead || method == http.MethodOptions {
					return nil
				}
				route = strings.TrimSuffix(route, "/*")
				if route != "/" {
					route = strings.TrimSuffix(route, "/")
				}
				routed[strings.ToLower(method)+" "+route] = true
				if h == http.Handler(ui) {
					return nil // a dashboard page
				}
				api++
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
			if api < 15 {
				t.Errorf("walked only %d API routes", api)
			}
		})
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

// The document stays in the subset of OpenAPI 3.1 that common client
// generators (oapi-codegen, ogen) read: a schema's type is one type, or one
// type and "null"; a union of types is a oneOf of schemas. Bounds are
// minimum and maximum: ogen reads a numeric exclusiveMinimum or
// exclusiveMaximum as OpenAPI 3.0's boolean and rejects the document.
func TestOpenAPIFitsClientGenerators(t *testing.T) {
	var doc map[string]any
	decodeInto(t, openAPI, &doc)
	var walk func(path string, v any)
	walk = func(path string, v any) {
		switch v := v.(type) {
		case map[string]any:
			if types, ok := v["type"].([]any); ok {
				var other []any
				for _, x := range types {
					if x != "null" {
						other = append(other, x)
					}
				}
				if len(other) != 1 {
					t.Errorf("%s: type %v; write a union of types as a oneOf of schemas", path, types)
				}
			}
			for _, k := range []string{"exclusiveMinimum", "exclusiveMaximum"} {
				if _, ok := v[k]; ok {
					t.Errorf("%s: %s; use minimum and maximum and say in the description that a bound is excluded", path, k)
				}
			}
			for k, x := range v {
				walk(path+"/"+k, x)
			}
		case []any:
			for i, x := range v {
				walk(fmt.Sprintf("%s/%d", path, i), x)
			}
		}
	}
	walk("#", doc)
}

func TestIndexPage(t *testing.T) {
	e := newEnv(t)
	r := e.do("GET", "/", "")
	if r.status != 200 || !strings.HasPrefix(r.header.Get("Content-Type"), "text/html") || !strings.Contains(string(r.body), "Lookout") {
		t.Errorf("GET /: %d %q", r.status, r.header.Get("Content-Type"))
	}
}

// Every object schema names exactly the members the handlers write (and,
// for Target, read), nested objects included: each Go type is filled in
// completely, marshalled, and its JSON compared with the schema.
func TestOpenAPISchemasMatchTypes(t *testing.T) {
	var doc map[string]any
	decodeInto(t, openAPI, &doc)
	schemas := doc["components"].(map[string]any)["schemas"].(map[string]any)
	types := map[string]any{
		"Target": targetInput{}, "State": stateView{}, "TargetView": targetView{}, "TargetList": targetList{},
		"Result": uptime.Result{}, "ResultList": resultList{}, "Problem": problem{}, "Health": healthDoc{},
		"Channel": uptime.Channel{}, "ChannelList": channelList{},
		"Incident": incidentView{}, "IncidentList": incidentList{},
		"Event": uptime.Event{}, "Notification": deliveryView{}, "NotificationList": notificationList{},
		"Silence": silenceView{}, "Maintenance": uptime.Maintenance{},
		"Component": uptime.ComponentState{}, "ComponentView": componentView{}, "ComponentList": componentList{},
		"ComponentPoint": uptime.ComponentPoint{}, "Uptime": uptime.Uptime{}, "ComponentDetail": componentDetail{},
		"ErrorBudget": errorBudget{}, "UptimeWindow": uptimeWindow{}, "UptimeReport": uptimeResponse{},
		"Latency": latencyView{}, "TrendBucket": trendBucket{}, "Trend": trendResponse{},
		"TrendRow": trendRow{}, "Trends": trendsResponse{}, "Summary": summary{},
		"Cluster": clusterView{}, "Instance": instanceView{},
		"SyncReport": uptime.SyncReport{}, "SyncDiff": uptime.SyncDiff{}, "SyncChange": uptime.SyncChange{},
		"FieldChange": uptime.FieldChange{},
	}
	resolve := func(s any) map[string]any {
		m, _ := s.(map[string]any)
		if ref, ok := m["$ref"].(string); ok {
			m, _ = schemas[strings.TrimPrefix(ref, "#/components/schemas/")].(map[string]any)
		}
		return m
	}
	// props is a schema's members, those of every allOf part merged.
	var props func(s map[string]any) map[string]any
	props = func(s map[string]any) map[string]any {
		parts, ok := s["allOf"].([]any)
		if !ok {
			p, _ := s["properties"].(map[string]any)
			return p
		}
		out := map[string]any{}
		for _, part := range parts {
			maps.Copy(out, props(resolve(part)))
		}
		return out
	}
	var compare func(path string, v any, s map[string]any)
	compare = func(path string, v any, s map[string]any) {
		switch v := v.(type) {
		case map[string]any:
			if p := props(s); p != nil {
				if diff := cmp.Diff(slices.Sorted(maps.Keys(p)), slices.Sorted(maps.Keys(v))); diff != "" {
					t.Errorf("%s: members (-openapi.json +Go):\n%s", path, diff)
				}
				for k, x := range v {
					compare(path+"."+k, x, resolve(p[k]))
				}
			} else if ap, ok := s["additionalProperties"].(map[string]any); ok {
				for k, x := range v {
					compare(path+"."+k, x, resolve(ap))
				}
			}
		case []any:
			for _, x := range v {
				compare(path+"[]", x, resolve(s["items"]))
			}
		}
	}
	for name, s := range schemas {
		s := s.(map[string]any)
		typ, ok := types[name]
		if !ok {
			if props(s) != nil {
				t.Errorf("schema %s has no Go type to compare with", name)
			}
			continue
		}
		v := reflect.New(reflect.TypeOf(typ)).Elem()
		fillValue(v)
		b, err := json.Marshal(v.Interface())
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var got any
		decodeInto(t, b, &got)
		compare(name, got, s)
	}
}

// fillValue sets every exported field, element and pointer reachable from
// v to a non-zero value, so that no omitempty member is left out.
func fillValue(v reflect.Value) {
	switch v.Type() {
	case reflect.TypeFor[time.Time]():
		v.Set(reflect.ValueOf(time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)))
		return
	case reflect.TypeFor[json.RawMessage]():
		v.SetBytes([]byte("{}"))
		return
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString("x")
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(1)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(1)
	case reflect.Float32, reflect.Float64:
		v.SetFloat(0.5)
	case reflect.Interface:
		v.Set(reflect.ValueOf(1.0))
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fillValue(v.Elem())
	case reflect.Slice:
		v.Set(reflect.MakeSlice(v.Type(), 1, 1))
		fillValue(v.Index(0))
	case reflect.Map:
		m := reflect.MakeMap(v.Type())
		k, e := reflect.New(v.Type().Key()).Elem(), reflect.New(v.Type().Elem()).Elem()
		fillValue(k)
		fillValue(e)
		m.SetMapIndex(k, e)
		v.Set(m)
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				fillValue(v.Field(i))
			}
		}
	}
}
