package store

import (
	"database/sql/driver"
	"errors"
	"net"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/lookout/lookout/internal/uptime"
)

// domainError keeps the driver's error (for logs and errors.As) while
// letting callers test errors.Is(err, uptime.ErrConflict) and the like.
type domainError struct {
	kind error
	err  error
}

func (e *domainError) Error() string   { return e.err.Error() }
func (e *domainError) Unwrap() []error { return []error{e.kind, e.err} }

// dbErr maps the driver errors a caller can act on to domain errors: a
// unique violation to uptime.ErrConflict, a database that cannot serve right
// now (busy, disk full, connection lost) to uptime.ErrUnavailable. Other
// errors are returned unchanged.
func dbErr(err error) error {
	switch {
	case err == nil:
		return nil
	case isUniqueViolation(err):
		return &domainError{uptime.ErrConflict, err}
	case isUnavailable(err):
		return &domainError{uptime.ErrUnavailable, err}
	}
	return err
}

func isUniqueViolation(err error) bool {
	var se *sqlite.Error
	if errors.As(err, &se) {
		c := se.Code()
		return c == sqlite3.SQLITE_CONSTRAINT_UNIQUE || c == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code == "23505" // unique_violation
	}
	return false
}

func isUnavailable(err error) bool {
	var se *sqlite.Error
	if errors.As(err, &se) {
		// Extended codes carry the primary code in their low byte.
		switch se.Code() & 0xff {
		case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_FULL,
			sqlite3.SQLITE_IOERR, sqlite3.SQLITE_READONLY, sqlite3.SQLITE_CANTOPEN:
			return true
		}
		return false
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		// 08 connection exception, 53 insufficient resources (disk full,
		// too many connections), 57 operator intervention (shutdown),
		// 40001/40P01 serialization failure and deadlock.
		return strings.HasPrefix(pe.Code, "08") || strings.HasPrefix(pe.Code, "53") ||
			strings.HasPrefix(pe.Code, "57") || pe.Code == "40001" || pe.Code == "40P01"
	}
	var ne net.Error
	return errors.Is(err, driver.ErrBadConn) || errors.As(err, &ne)
}
