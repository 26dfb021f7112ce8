package probe

import (
	"net"
	"net/url"
	"strings"
	"testing"

	"github.com/lookout/lookout/internal/uptime"
)

// pgBase returns the test server's URL (LOOKOUT_TEST_POSTGRES, in URL form)
// or skips the test.
func pgBase(t *testing.T) *url.URL {
	t.Helper()
	raw := dbServer(t, "PostgreSQL", "LOOKOUT_TEST_POSTGRES", "postgres://root@127.0.0.1:5432/test?sslmode=disable",
		func(s string) (string, error) {
			u, err := url.Parse(s)
			if err != nil {
				return "", err
			}
			host := u.Host
			if u.Port() == "" {
				host = net.JoinHostPort(u.Hostname(), "5432")
			}
			return host, nil
		})
	u, _ := url.Parse(raw)
	return u
}

// pgURL returns base with edit applied.
func pgURL(base *url.URL, edit func(u *url.URL)) string {
	u := *base
	edit(&u)
	return u.String()
}

func withPostgresQuery(q string) func(*uptime.Target) {
	return func(t *uptime.Target) { t.Postgres = &uptime.QueryOptions{Query: q} }
}

func TestPostgresUp(t *testing.T) {
	base := pgBase(t)
	r := dbRun(t, "postgres", base.String())
	dbWantUp(t, r)
	if !strings.HasPrefix(r.Detail, "PostgreSQL 1") || strings.Contains(r.Detail, "query") {
		t.Errorf("detail %q, want the server version alone", r.Detail)
	}
}

func TestPostgresQuery(t *testing.T) {
	base := pgBase(t)
	r := dbRun(t, "postgres", base.String(), withPostgresQuery("SELECT 40 + 2, 'second column'"))
	dbWantUp(t, r)
	if !strings.HasSuffix(r.Detail, "; query returned 42") {
		t.Errorf("detail %q, want it to end with the first cell", r.Detail)
	}

	r = dbRun(t, "postgres", base.String(), withPostgresQuery("SELECT repeat('x', 10000)"))
	dbWantUp(t, r)
	if len(r.Detail) > 100 || !strings.HasSuffix(r.Detail, "…") {
		t.Errorf("detail %q, want the cell cut", r.Detail)
	}

	r = dbRun(t, "postgres", base.String(), withPostgresQuery("SELECT 1 WHERE false"))
	dbWantUp(t, r)
	if !strings.HasSuffix(r.Detail, "; query returned no rows") {
		t.Errorf("detail %q", r.Detail)
	}

	r = dbRun(t, "postgres", base.String(), withPostgresQuery("SELECT * FROM lookout_no_such_table"))
	dbWantDown(t, r, uptime.ClassAssertion, "query: ", "lookout_no_such_table", "42P01")

	// An error raised while rows are read is the query's failure too.
	r = dbRun(t, "postgres", base.String(), withPostgresQuery("SELECT 1/(g-2) FROM generate_series(1, 3) g"))
	dbWantDown(t, r, uptime.ClassAssertion, "division by zero", "22012")
}

func TestPostgresServerErrors(t *testing.T) {
	base := pgBase(t)
	for _, tc := range []struct {
		name  string
		edit  func(u *url.URL)
		texts []string
	}{
		{"unknown database", func(u *url.URL) {
			u.User = url.UserPassword(u.User.Username(), dbSecret)
			u.Path = "/nonexistent_db_xyz"
		}, []string{"nonexistent_db_xyz", "3D000"}},
		// Trust authentication accepts any password, but not an unknown role.
		{"unknown role", func(u *url.URL) {
			u.User = url.UserPassword("lookout_no_such_role", dbSecret)
		}, []string{"lookout_no_such_role", "28000"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := dbRun(t, "postgres", pgURL(base, tc.edit))
			dbWantDown(t, r, uptime.ClassProtocol, tc.texts...)
			dbWantNoSecret(t, r, dbSecret)
		})
	}
}

func TestPostgresNetworkErrors(t *testing.T) {
	t.Run("refused", func(t *testing.T) {
		r := dbRun(t, "postgres", "postgres://u:"+dbSecret+"@"+closedAddr(t)+"/db?sslmode=disable")
		dbWantDown(t, r, uptime.ClassRefused, "connecting: ", "refused")
		dbWantNoSecret(t, r, dbSecret)
	})
	t.Run("refused, keyword/value", func(t *testing.T) {
		host, port, _ := net.SplitHostPort(closedAddr(t))
		r := dbRun(t, "postgres", "host="+host+" port="+port+" user=u password="+dbSecret+" dbname=db sslmode=disable")
		dbWantDown(t, r, uptime.ClassRefused)
		dbWantNoSecret(t, r, dbSecret)
	})
	t.Run("hang", func(t *testing.T) {
		dbWantHangTimesOut(t, "postgres", "postgres://u:"+dbSecret+"@"+silentAddr(t)+"/db?sslmode=disable")
	})
	t.Run("cancelled", func(t *testing.T) {
		dbWantCancelEnds(t, "postgres", "postgres://u:"+dbSecret+"@"+silentAddr(t)+"/db?sslmode=disable")
	})
	t.Run("hang with TLS preferred", func(t *testing.T) {
		dbWantHangTimesOut(t, "postgres", "postgres://u@"+silentAddr(t)+"/db")
	})
	t.Run("dns", func(t *testing.T) {
		r := dbRun(t, "postgres", "postgres://u@lookout-test.invalid:5432/db?sslmode=disable")
		dbWantDown(t, r, uptime.ClassDNS)
	})
}

func TestValidatePostgres(t *testing.T) {
	for _, tc := range []struct {
		name, url string
		query     *uptime.QueryOptions
		field     string // "" for valid
	}{
		{"url", "postgres://u:p@db.example.com:5432/app?sslmode=require", nil, ""},
		{"postgresql scheme", "postgresql://db.example.com/app", nil, ""},
		{"keyword/value", "host=db.example.com port=5432 user=u password=p dbname=app", nil, ""},
		{"keyword/value, password with ://", "host=db.example.com password=a://b dbname=app", nil, ""},
		{"host in query", "postgres:///app?host=/var/run/postgresql", nil, ""},
		{"query", "postgres://db.example.com/app", &uptime.QueryOptions{Query: "SELECT count(*) FROM jobs"}, ""},
		{"empty query means SELECT 1", "postgres://db.example.com/app", &uptime.QueryOptions{}, ""},
		{"wrong scheme", "mysql://db.example.com/app", nil, "url"},
		{"no host", "postgres:///app", nil, "url"},
		{"keyword/value without host", "user=u dbname=app", nil, "url"},
		{"bad port", "postgres://db.example.com:99999/app", nil, "url"},
		{"not a port", "postgres://db.example.com:abc/app", nil, "url"},
		{"bad sslmode", "postgres://db.example.com/app?sslmode=sometimes", nil, "url"},
		{"bad keyword/value", "host=db.example.com port='5432", nil, "url"},
		{"blank query", "postgres://db.example.com/app", &uptime.QueryOptions{Query: "  "}, "postgres.query"},
		{"long query", "postgres://db.example.com/app", &uptime.QueryOptions{Query: "SELECT " + strings.Repeat("1", maxQueryBytes)}, "postgres.query"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			target := uptime.Target{Name: "t", Kind: "postgres", URL: tc.url, Postgres: tc.query}
			target.Normalize()
			err := New(Options{}).Validate(&target)
			dbCheckValidation(t, err, tc.field)
		})
	}
}

func TestValidatePostgresHidesPassword(t *testing.T) {
	for _, raw := range []string{
		"postgres://u:" + dbSecret + "@db.example.com:99999/app",
		"postgres://u:" + dbSecret + "@db.example.com/app?sslmode=sometimes",
		"postgres://u:" + dbSecret + "@/app",
		"host=db.example.com password=" + dbSecret + " sslmode=sometimes",
		"password=" + dbSecret + " dbname=app",
		"postgres://u:" + dbSecret + "@db.example.com:5432/app%zz",
	} {
		target := uptime.Target{Name: "t", Kind: "postgres", URL: raw}
		target.Normalize()
		dbWantHiddenInValidation(t, New(Options{}).Validate(&target), dbSecret)
	}
}
