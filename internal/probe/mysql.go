package probe

import (
	"context"
	"database/sql"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/lookout/lookout/internal/uptime"
)

func init() {
	Register(Kind{Name: "mysql", Validate: validateMySQL, Check: checkMySQL})
}

const mysqlSyntax = "is not a valid MySQL DSN (want user:password@tcp(host:3306)/dbname or mysql://user:password@host:3306/dbname)"

// validateMySQL checks that the url is a DSN the driver accepts, in its
// own form (user:password@tcp(host:3306)/dbname?param=value) or as a
// mysql:// URL, and that it names the server's address: a monitor must not
// fall back on the driver's default of 127.0.0.1:3306. Nothing is
// dialled. Problems never quote the url, which may hold a password.
func validateMySQL(t *uptime.Target) error {
	var v uptime.ValidationError
	if strings.TrimSpace(t.URL) != "" {
		if _, problem := mysqlConfig(t.URL); problem != "" {
			v.Add("url", problem)
		}
	}
	if t.MySQL != nil {
		if problem := queryProblem(t.MySQL.Query); problem != "" {
			v.Add("mysql.query", problem)
		}
	}
	return v.Err()
}

// mysqlConfig parses a MySQL target's url, or says what is wrong with it.
// A mysql://user:password@host:port/dbname?param=value URL is converted:
// user and password are taken decoded, the port defaults to 3306, and the
// parameters are the driver's DSN parameters.
func mysqlConfig(raw string) (*mysql.Config, string) {
	if scheme, ok := urlScheme(raw); ok {
		if !strings.EqualFold(scheme, "mysql") {
			return nil, "must be a mysql:// URL or a DSN such as user:password@tcp(host:3306)/dbname"
		}
		u, err := url.Parse(raw)
		if err != nil {
			return nil, mysqlSyntax
		}
		if u.Hostname() == "" {
			return nil, "must name a host"
		}
		addr := u.Host
		if u.Port() == "" {
			addr = net.JoinHostPort(u.Hostname(), "3306")
		}
		if problem := hostPortProblem(addr); problem != "" {
			return nil, problem
		}
		db := strings.TrimPrefix(u.Path, "/")
		if strings.Contains(db, "/") {
			return nil, "must name one database after the host (mysql://host:3306/dbname)"
		}
		dsn := "tcp(" + addr + ")/" + url.PathEscape(db)
		if u.RawQuery != "" {
			dsn += "?" + u.RawQuery
		}
		cfg, err := mysql.ParseDSN(dsn)
		if err != nil {
			return nil, mysqlSyntax
		}
		if u.User != nil {
			cfg.User = u.User.Username()
			cfg.Passwd, _ = u.User.Password()
		}
		return cfg, ""
	}
	cfg, err := mysql.ParseDSN(raw)
	if err != nil {
		// The driver's messages may quote parameter values: say what is
		// expected instead.
		return nil, mysqlSyntax
	}
	// The address is the "(…)" before the last '/', where the database name starts.
	if !strings.Contains(raw[:strings.LastIndex(raw, "/")], "(") {
		return nil, "must name the server's address, as in user:password@tcp(host:3306)/dbname"
	}
	switch cfg.Net {
	case "tcp", "tcp4", "tcp6":
		if problem := hostPortProblem(cfg.Addr); problem != "" {
			return nil, problem
		}
	case "unix":
	default:
		return nil, "must use the tcp or unix protocol, as in user:password@tcp(host:3306)/dbname"
	}
	return cfg, ""
}

// checkMySQL opens one connection, asks for the server's VERSION() — which
// proves the server answers queries, so no separate ping is sent — runs
// the target's query if it has one, and closes the connection: no pool is
// kept between checks.
//
// Detail records the server ("MariaDB 10.11.19", "MySQL 8.0.36") and, for
// a query of the target's own, the first column of its first row.
//
// Error classes, as for postgres:
//   - the network (refused, DNS, TLS, timeouts, a connection closed
//     mid-way, a server that does not speak MySQL): as classify says.
//   - an error the server reports while the connection is set up — access
//     denied (1045), unknown database (1049), too many connections (1040),
//     host not allowed (1130): protocol, with the server's text, which
//     never holds the password.
//   - an error the server reports for a query: assertion.
func checkMySQL(ctx context.Context, p *Prober, t *uptime.Target, r *uptime.Result) {
	cfg, problem := mysqlConfig(t.URL)
	if problem != "" {
		// The validator accepts only DSNs mysqlConfig takes.
		r.Fail(uptime.ClassInternal, "invalid DSN")
		return
	}
	defer hideSecret(r, cfg.Passwd)
	// The driver logs connection trouble to stderr by default; the result
	// carries it instead.
	cfg.Logger = &mysql.NopLogger{}
	// The context bounds connect and handshake too; a dial timeout is set
	// only so that no default of the driver's ever outlives it.
	if deadline, ok := ctx.Deadline(); ok && cfg.Timeout == 0 {
		cfg.Timeout = max(time.Until(deadline), time.Millisecond)
	}
	connector, err := mysql.NewConnector(cfg)
	if err != nil {
		r.Fail(uptime.ClassInternal, "invalid DSN")
		return
	}
	db := sql.OpenDB(connector)
	defer db.Close()
	db.SetMaxOpenConns(1)

	conn, err := db.Conn(ctx)
	if err != nil {
		failServer[*mysql.MySQLError](ctx, r, err, uptime.ClassProtocol, "", "connecting")
		return
	}
	defer conn.Close()

	var version string
	if err := conn.QueryRowContext(ctx, "SELECT VERSION()").Scan(&version); err != nil {
		failServer[*mysql.MySQLError](ctx, r, err, uptime.ClassAssertion, "SELECT VERSION(): ", "asking the version")
		return
	}
	detail := mysqlServerName(version)

	if t.MySQL != nil && t.MySQL.Query != "" {
		first, gotRow, err := firstCell(ctx, conn, t.MySQL.Query)
		if err != nil {
			failServer[*mysql.MySQLError](ctx, r, err, uptime.ClassAssertion, "query: ", "running the query")
			return
		}
		if gotRow {
			detail += "; query returned " + cellText(first)
		} else {
			detail += "; query returned no rows"
		}
	}
	r.Detail = detail
	r.Status = uptime.StatusUp
}

// mysqlServerName names the server from its VERSION(): "MariaDB 10.11.19"
// for "10.11.19-MariaDB-0+deb12u1", "MySQL 8.0.36" for "8.0.36".
func mysqlServerName(version string) string {
	if strings.Contains(strings.ToLower(version), "mariadb") {
		return "MariaDB " + serverVersion(version)
	}
	return "MySQL " + serverVersion(version)
}

// firstCell runs query and returns the first column of its first row.
func firstCell(ctx context.Context, conn *sql.Conn, query string) (any, bool, error) {
	rows, err := conn.QueryContext(ctx, query)
	if err != nil {
		return nil, false, err
	}
	defer rows.Close()
	if !rows.Next() {
		return nil, false, rows.Err()
	}
	cols, err := rows.Columns()
	if err != nil {
		return nil, false, err
	}
	cells := make([]any, len(cols))
	for i := range cells {
		cells[i] = new(any)
	}
	if err := rows.Scan(cells...); err != nil {
		return nil, false, err
	}
	var first any
	if len(cells) > 0 {
		first = *cells[0].(*any)
	}
	// Close reads what is left of the answer; an error there is the query's.
	if err := rows.Close(); err != nil {
		return nil, false, err
	}
	return first, true, rows.Err()
}
