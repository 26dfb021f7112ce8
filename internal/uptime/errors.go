package uptime

import (
	"errors"
	"strings"
)

// ErrNotFound is returned when a named thing (target, channel, …) does not exist.
var ErrNotFound = errors.New("not found")

// ErrConflict is returned when a create would overwrite something that exists.
var ErrConflict = errors.New("already exists")

// ErrUnavailable is returned when a dependency Lookout needs (its store, its
// scheduler) cannot serve the request right now; retrying later may succeed.
var ErrUnavailable = errors.New("temporarily unavailable")

// FieldError says what is wrong with one field of an input.
// Field is the JSON path of the field ("http.expect_status"), Problem a
// lowercase sentence a user can act on.
type FieldError struct {
	Field   string `json:"field"`
	Problem string `json:"problem"`
}

// ValidationError lists every problem found in one input. It is returned by
// validators and mapped to a 400 with a per-field list by the web layer.
type ValidationError struct {
	Errors []FieldError
}

// Error joins the field problems into one line.
func (e *ValidationError) Error() string {
	parts := make([]string, len(e.Errors))
	for i, f := range e.Errors {
		parts[i] = f.Field + ": " + f.Problem
	}
	return "invalid input: " + strings.Join(parts, "; ")
}

// Add records a problem with field.
func (e *ValidationError) Add(field, problem string) {
	e.Errors = append(e.Errors, FieldError{Field: field, Problem: problem})
}

// Merge appends the problems of err when it is a *ValidationError, and
// reports whether it was one. A nil err is merged as nothing.
func (e *ValidationError) Merge(err error) bool {
	if err == nil {
		return true
	}
	var v *ValidationError
	if !errors.As(err, &v) {
		return false
	}
	e.Errors = append(e.Errors, v.Errors...)
	return true
}

// MergeUnder is Merge with each field put under prefix: a problem with
// "url" merged under "targets[3]" is one with "targets[3].url".
func (e *ValidationError) MergeUnder(prefix string, err error) bool {
	var v *ValidationError
	if err != nil && !errors.As(err, &v) {
		return false
	}
	if v != nil {
		for _, f := range v.Errors {
			e.Add(prefix+"."+f.Field, f.Problem)
		}
	}
	return true
}

// Err returns e when it holds a problem and nil otherwise, so that a
// validator can end with `return v.Err()`.
func (e *ValidationError) Err() error {
	if e == nil || len(e.Errors) == 0 {
		return nil
	}
	return e
}

// Invalid is shorthand for a ValidationError with a single problem.
func Invalid(field, problem string) error {
	return &ValidationError{Errors: []FieldError{{Field: field, Problem: problem}}}
}
