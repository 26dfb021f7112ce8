package probe

import (
	"net/url"
	"strings"
	"testing"

	"github.com/go-sql-driver/mysql"
	"github.com/lookout/lookout/internal/uptime"
)

// mysqlBase returns the test server's DSN (LOOKOUT_TEST_MYSQL, in the
// driver's form) parsed, or skips the test.
func mysqlBase(t *testing.T) *mysql.Config {
	t.Helper()
	raw := dbServer(t, "MySQL/MariaDB", "LOOKOUT_TEST_MYSQL", "root@tcp(127.0.0.1:3306)/test",
		func(s string) (string, error) {
			cfg, err := mysql.ParseDSN(s)
			if err != nil {
				return "", err
			}
			return cfg.Addr, nil
		})
	cfg, _ := mysql.ParseDSN(raw)
	return cfg
}

// mysqlDSN returns base's DSN with edit applied.
func mysqlDSN(base *mysql.Config, edit func(c *mysql.Config)) string {
	c := base.Clone()
	if edit != nil {
		edit(c)
	}
	return c.FormatDSN()
}

func withMySQLQuery(q string) func(*uptime.Target) {
	return func(t *uptime.Target) { t.MySQL = &uptime.QueryOptions{Query: q} }
}

func TestMySQLUp(t *testing.T) {
	base := mysqlBase(t)
	r := dbRun(t, "mysql", mysqlDSN(base, nil))
	dbWantUp(t, r)
	if !strings.HasPrefix(r.Detail, "MariaDB ") && !strings.HasPrefix(r.Detail, "MySQL ") {
		t.Errorf("detail %q, want the server's name and version", r.Detail)
	}

	u := url.URL{Scheme: "mysql", Host: base.Addr, Path: "/" + base.DBName}
	if base.Passwd != "" {
		u.User = url.UserPassword(base.User, base.Passwd)
	} else {
		u.User = url.User(base.User)
	}
	r2 := dbRun(t, "mysql", u.String())
	dbWantUp(t, r2)
	if r2.Detail != r.Detail {
		t.Errorf("mysql:// URL: detail %q, want %q", r2.Detail, r.Detail)
	}
}

func TestMySQLQuery(t *testing.T) {
	dsn := mysqlDSN(mysqlBase(t), nil)
	r := dbRun(t, "mysql", dsn, withMySQLQuery("SELECT 40 + 2, 'second column'"))
	dbWantUp(t, r)
	if !strings.HasSuffix(r.Detail, "; query returned 42") {
		t.Errorf("detail %q, want it to end with the first cell", r.Detail)
	}

	r = dbRun(t, "mysql", dsn, withMySQLQuery("SELECT NULL"))
	dbWantUp(t, r)
	if !strings.HasSuffix(r.Detail, "; query returned NULL") {
		t.Errorf("detail %q", r.Detail)
	}

	r = dbRun(t, "mysql", dsn, withMySQLQuery("SELECT REPEAT('x', 10000)"))
	dbWantUp(t, r)
	if len(r.Detail) > 100 || !strings.HasSuffix(r.Detail, "…") {
		t.Errorf("detail %q, want the cell cut", r.Detail)
	}

	r = dbRun(t, "mysql", dsn, withMySQLQuery("SELECT 1 FROM DUAL WHERE 1 = 0"))
	dbWantUp(t, r)
	if !strings.HasSuffix(r.Detail, "; query returned no rows") {
		t.Errorf("detail %q", r.Detail)
	}

	r = dbRun(t, "mysql", dsn, withMySQLQuery("SELECT * FROM lookout_no_such_table"))
	dbWantDown(t, r, uptime.ClassAssertion, "query: ", "lookout_no_such_table", "1146")
}

func TestMySQLServerErrors(t *testing.T) {
	base := mysqlBase(t)
	for _, tc := range []struct {
		name  string
		edit  func(c *mysql.Config)
		texts []string
	}{
		{"wrong password", func(c *mysql.Config) { c.Passwd = dbSecret }, []string{"1045", "Access denied"}},
		{"unknown user", func(c *mysql.Config) {
			c.User, c.Passwd = "lookout_no_such_user", dbSecret
		}, []string{"1045", "lookout_no_such_user"}},
		{"unknown database", func(c *mysql.Config) { c.DBName = "nonexistent_db_xyz" }, []string{"1049", "nonexistent_db_xyz"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := dbRun(t, "mysql", mysqlDSN(base, tc.edit))
			dbWantDown(t, r, uptime.ClassProtocol, tc.texts...)
			dbWantNoSecret(t, r, dbSecret)
		})
	}
}

func TestMySQLNetworkErrors(t *testing.T) {
	t.Run("refused", func(t *testing.T) {
		r := dbRun(t, "mysql", "u:"+dbSecret+"@tcp("+closedAddr(t)+")/db")
		dbWantDown(t, r, uptime.ClassRefused, "connecting: ", "refused")
		dbWantNoSecret(t, r, dbSecret)
	})
	t.Run("refused, mysql URL", func(t *testing.T) {
		r := dbRun(t, "mysql", "mysql://u:"+dbSecret+"@"+closedAddr(t)+"/db")
		dbWantDown(t, r, uptime.ClassRefused)
		dbWantNoSecret(t, r, dbSecret)
	})
	t.Run("hang", func(t *testing.T) {
		dbWantHangTimesOut(t, "mysql", "u:"+dbSecret+"@tcp("+silentAddr(t)+")/db")
	})
	t.Run("cancelled", func(t *testing.T) {
		dbWantCancelEnds(t, "mysql", "u:"+dbSecret+"@tcp("+silentAddr(t)+")/db")
	})
	t.Run("not mysql", func(t *testing.T) {
		// A server that answers, but not in MySQL's protocol.
		r := dbRun(t, "mysql", "u@tcp("+dbGarbageAddr(t)+")/db")
		dbWantDown(t, r, uptime.ClassProtocol)
	})
	t.Run("dns", func(t *testing.T) {
		r := dbRun(t, "mysql", "u@tcp(lookout-test.invalid:3306)/db")
		dbWantDown(t, r, uptime.ClassDNS)
	})
}

func TestValidateMySQL(t *testing.T) {
	for _, tc := range []struct {
		name, url string
		query     *uptime.QueryOptions
		field     string // "" for valid
	}{
		{"dsn", "u:p@tcp(db.example.com:3306)/app?tls=true", nil, ""},
		{"dsn, ipv6", "u:p@tcp([::1]:3306)/app", nil, ""},
		{"dsn, password with @ and /", "u:p@s/s@tcp(db.example.com:3306)/app", nil, ""},
		{"dsn, unix socket", "u@unix(/run/mysqld/mysqld.sock)/app", nil, ""},
		{"url", "mysql://u:p@db.example.com:3306/app", nil, ""},
		{"url, default port", "mysql://db.example.com/app", nil, ""},
		{"url with parameters", "mysql://u@db.example.com/app?tls=skip-verify&charset=utf8mb4", nil, ""},
		{"query", "u@tcp(db.example.com:3306)/app", &uptime.QueryOptions{Query: "SELECT 1"}, ""},
		{"no address", "u:p@/app", nil, "url"},
		{"no slash", "u:p@tcp(db.example.com:3306)", nil, "url"},
		{"unclosed address", "u:p@tcp(db.example.com:3306/app", nil, "url"},
		{"address without host", "u:p@tcp(:3306)/app", nil, "url"},
		{"bad port", "u:p@tcp(db.example.com:70000)/app", nil, "url"},
		{"bad protocol", "u:p@udp(db.example.com:3306)/app", nil, "url"},
		{"bad parameter", "u@tcp(db.example.com:3306)/app?parseTime=perhaps", nil, "url"},
		{"url without host", "mysql:///app", nil, "url"},
		{"url, bad port", "mysql://db.example.com:0/app", nil, "url"},
		{"url, two path segments", "mysql://db.example.com/app/more", nil, "url"},
		{"wrong scheme", "postgres://db.example.com/app", nil, "url"},
		{"blank query", "u@tcp(db.example.com:3306)/app", &uptime.QueryOptions{Query: "\t"}, "mysql.query"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			target := uptime.Target{Name: "t", Kind: "mysql", URL: tc.url, MySQL: tc.query}
			target.Normalize()
			dbCheckValidation(t, New(Options{}).Validate(&target), tc.field)
		})
	}
}

func TestValidateMySQLHidesPassword(t *testing.T) {
	for _, raw := range []string{
		"u:" + dbSecret + "@/app",
		"u:" + dbSecret + "@tcp(db.example.com:3306)/app?parseTime=" + dbSecret,
		"u:" + dbSecret + "@tcp(db.example.com:3306",
		"mysql://u:" + dbSecret + "@db.example.com:99999/app",
		"mysql://u:" + dbSecret + "@/app",
		"mysql://u:" + dbSecret + "@db.example.com/app?parseTime=" + dbSecret,
	} {
		target := uptime.Target{Name: "t", Kind: "mysql", URL: raw}
		target.Normalize()
		dbWantHiddenInValidation(t, New(Options{}).Validate(&target), dbSecret)
	}
}
