package healthdoc

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	alex "github.com/alexliesenfeld/health"
	hellofresh "github.com/hellofresh/health-go/v5"
)

// fetch GETs url and parses what comes back.
func fetch(t *testing.T, url string) (int, Doc) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		t.Fatal(err)
	}
	doc, ok := Parse(resp.Header.Get("Content-Type"), body)
	if !ok {
		t.Fatalf("not recognised as a health document: %s", body)
	}
	t.Logf("%d %s", resp.StatusCode, body)
	return resp.StatusCode, doc
}

func TestAlexLiesenfeldHealth(t *testing.T) {
	checker := alex.NewChecker(
		alex.WithCacheDuration(time.Second),
		alex.WithTimeout(5*time.Second),
		alex.WithCheck(alex.Check{
			Name:  "database",
			Check: func(context.Context) error { return nil },
		}),
		alex.WithCheck(alex.Check{
			Name:  "search",
			Check: func(context.Context) error { return errors.New("search index unreachable") },
		}),
	)
	srv := httptest.NewServer(alex.NewHandler(checker))
	defer srv.Close()

	code, doc := fetch(t, srv.URL)
	if code != http.StatusServiceUnavailable {
		t.Errorf("HTTP %d, want 503", code)
	}
	want := Doc{Format: "alexliesenfeld", Status: down, Components: []comp{
		{Name: "database", Status: up},
		{Name: "search", Status: down, Output: "search index unreachable"},
	}}
	if diff := cmp.Diff(want, doc); diff != "" {
		t.Errorf("mismatch (-want +got):\n%s", diff)
	}
}

func TestHelloFreshHealthGo(t *testing.T) {
	newServer := func(t *testing.T, cfgs ...hellofresh.Config) *httptest.Server {
		t.Helper()
		h, err := hellofresh.New(
			hellofresh.WithComponent(hellofresh.Component{Name: "orders", Version: "v1.4.0"}),
			hellofresh.WithSystemInfo(),
		)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range cfgs {
			if err := h.Register(c); err != nil {
				t.Fatal(err)
			}
		}
		srv := httptest.NewServer(h.Handler())
		t.Cleanup(srv.Close)
		return srv
	}
	ok := hellofresh.Config{Name: "postgres", Check: func(context.Context) error { return nil }}
	cache := hellofresh.Config{Name: "memcached", SkipOnErr: true,
		Check: func(context.Context) error { return errors.New("memcache: no servers configured or available") }}
	broker := hellofresh.Config{Name: "rabbitmq",
		Check: func(context.Context) error { return errors.New("dial tcp 127.0.0.1:5672: connect: connection refused") }}
	// health-go lists failures only: passing checks are not in the document.
	sorted := cmpopts.SortSlices(func(a, b comp) bool { return a.Name < b.Name })

	t.Run("non-critical failure", func(t *testing.T) {
		code, doc := fetch(t, newServer(t, ok, cache).URL)
		if code != http.StatusOK {
			t.Errorf("HTTP %d, want 200", code)
		}
		want := Doc{Format: "hellofresh", Status: degraded, Components: []comp{
			{Name: "memcached", Status: down, Output: "memcache: no servers configured or available"},
		}}
		if diff := cmp.Diff(want, doc, sorted); diff != "" {
			t.Errorf("mismatch (-want +got):\n%s", diff)
		}
	})
	t.Run("critical failure", func(t *testing.T) {
		code, doc := fetch(t, newServer(t, ok, cache, broker).URL)
		if code != http.StatusServiceUnavailable {
			t.Errorf("HTTP %d, want 503", code)
		}
		want := Doc{Format: "hellofresh", Status: down, Components: []comp{
			{Name: "memcached", Status: down, Output: "memcache: no servers configured or available"},
			{Name: "rabbitmq", Status: down, Output: "dial tcp 127.0.0.1:5672: connect: connection refused"},
		}}
		if diff := cmp.Diff(want, doc, sorted); diff != "" {
			t.Errorf("mismatch (-want +got):\n%s", diff)
		}
	})
	t.Run("all passing", func(t *testing.T) {
		_, doc := fetch(t, newServer(t, ok).URL)
		if diff := cmp.Diff(Doc{Format: "hellofresh", Status: up}, doc); diff != "" {
			t.Errorf("mismatch (-want +got):\n%s", diff)
		}
	})
}
