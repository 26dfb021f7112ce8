package probe

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/lookout/lookout/internal/uptime"
)

func init() {
	Register(Kind{Name: "postgres", Validate: validatePostgres, Check: checkPostgres})
}

// maxQueryBytes caps the query of a database target.
const maxQueryBytes = 4 << 10

// pgHostKey finds a host or hostaddr setting in a keyword/value connection string.
var pgHostKey = regexp.MustCompile(`(?:^|\s)(?:host|hostaddr)\s*=\s*\S`)

// validatePostgres checks that the url is a connection string pgx accepts,
// as a URL (postgres://user:pass@host:port/db?sslmode=disable) or in
// keyword/value form (host=… port=… dbname=…), and that it names a host:
// a monitor must not fall back on whatever PGHOST or a local socket says.
// Nothing is dialled. Problems never quote the url, which may hold a password.
func validatePostgres(t *uptime.Target) error {
	var v uptime.ValidationError
	if strings.TrimSpace(t.URL) != "" {
		if problem := postgresURLProblem(t.URL); problem != "" {
			v.Add("url", problem)
		}
	}
	if t.Postgres != nil {
		if problem := queryProblem(t.Postgres.Query); problem != "" {
			v.Add("postgres.query", problem)
		}
	}
	return v.Err()
}

func postgresURLProblem(raw string) string {
	const syntax = "is not a valid PostgreSQL connection string (want postgres://user:password@host:5432/dbname or host=… port=… dbname=…)"
	if scheme, ok := urlScheme(raw); ok {
		u, err := url.Parse(raw)
		switch {
		case scheme != "postgres" && scheme != "postgresql":
			// pgx takes exactly these two.
			return "must be a postgres:// or postgresql:// URL, or a keyword/value connection string"
		case err != nil:
			return syntax
		case u.Host == "" && u.Query().Get("host") == "":
			return "must name a host"
		}
	} else if !pgHostKey.MatchString(raw) {
		return "must name a host (host=…)"
	}
	if _, err := pgx.ParseConfig(raw); err != nil {
		// pgx's message quotes the string, redacted only on a best-effort
		// basis: say what is expected instead.
		return syntax
	}
	return ""
}

// queryProblem returns what is wrong with a database target's query, or "".
// An empty query means the kind's default.
func queryProblem(q string) string {
	switch {
	case q == "":
		return ""
	case strings.TrimSpace(q) == "":
		return "must not be blank (leave it out to run SELECT 1)"
	case len(q) > maxQueryBytes:
		return fmt.Sprintf("must be at most %d bytes", maxQueryBytes)
	}
	return ""
}

// checkPostgres opens one connection, runs SELECT 1 or the target's query,
// and closes the connection: no pool is kept between checks, so every
// check sees connect, TLS and authentication as a new client would.
//
// Detail records the server's version ("PostgreSQL 15.20") and, for a
// query of the target's own, the first column of its first row.
//
// Error classes:
//   - the network (refused, DNS, TLS, timeouts, a connection closed
//     mid-way): as classify says.
//   - an error the server reports while the connection is set up —
//     authentication failed (28P01), no such role (28000), no such
//     database (3D000), too many connections (53300), starting up
//     (57P03): protocol. The server answered, but refused the session;
//     the text is the server's message and SQLSTATE, which never holds the
//     password.
//   - an error the server reports for the query (SELECT 1 or the
//     target's): assertion, since the check's own expectation failed.
func checkPostgres(ctx context.Context, p *Prober, t *uptime.Target, r *uptime.Result) {
	cfg, err := pgx.ParseConfig(t.URL)
	if err != nil {
		// The validator accepts only strings ParseConfig takes.
		r.Fail(uptime.ClassInternal, "invalid connection string")
		return
	}
	defer hideSecret(r, cfg.Password)
	// The simple protocol costs one round trip and works through
	// transaction-pooling proxies (PgBouncer), which prepared statements do not.
	cfg.DefaultQueryExecMode = pgx.QueryExecModeSimpleProtocol
	cfg.StatementCacheCapacity = 0
	cfg.DescriptionCacheCapacity = 0
	if _, ok := cfg.RuntimeParams["application_name"]; !ok {
		cfg.RuntimeParams["application_name"] = p.userAgent
	}

	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		failPostgres(ctx, r, err, uptime.ClassProtocol, "", "connecting")
		return
	}
	// Close sends Terminate; with ctx already expired it closes at once.
	defer conn.Close(ctx)
	detail := "PostgreSQL " + serverVersion(conn.PgConn().ParameterStatus("server_version"))

	query := "SELECT 1"
	custom := t.Postgres != nil && t.Postgres.Query != ""
	if custom {
		query = t.Postgres.Query
	}
	rows, err := conn.Query(ctx, query)
	if err != nil {
		failPostgres(ctx, r, err, uptime.ClassAssertion, "query: ", "running the query")
		return
	}
	var first any
	gotRow := rows.Next()
	if gotRow {
		values, verr := rows.Values()
		if verr == nil && len(values) > 0 {
			first = values[0]
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		failPostgres(ctx, r, err, uptime.ClassAssertion, "query: ", "running the query")
		return
	}
	switch {
	case !custom:
	case !gotRow:
		detail += "; query returned no rows"
	default:
		detail += "; query returned " + cellText(first)
	}
	r.Detail = detail
	r.Status = uptime.StatusUp
}

// failPostgres records err through failServer.
func failPostgres(ctx context.Context, r *uptime.Result, err error, serverClass uptime.ErrorClass, prefix, step string) {
	// pgconn's ConnectError puts the user and database in front of the
	// error; the rest says it all.
	var ce *pgconn.ConnectError
	if errors.As(err, &ce) && ce.Unwrap() != nil {
		err = ce.Unwrap()
	}
	failServer[*pgconn.PgError](ctx, r, err, serverClass, prefix, step)
}
