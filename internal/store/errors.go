package store

import (
	"errors"
	"fmt"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

var (
	// ErrNotFound reports that the row asked for does not exist.
	ErrNotFound = errors.New("not found")
	// ErrConflict reports a constraint violation: a duplicate identity, a
	// reference to a row that does not exist, or a write to an immutable row.
	ErrConflict = errors.New("conflict")
	// ErrTerminal reports an attempt to change a deployment that has already
	// finished or a task that has stopped. It also matches ErrConflict.
	ErrTerminal = fmt.Errorf("%w: already finished", ErrConflict)
	// ErrInvalid reports a value the store refuses before touching the file
	// (an unknown state, malformed JSON, a bad digest).
	ErrInvalid = errors.New("invalid")
)

// notFound names what was missing.
func notFound(format string, args ...any) error {
	return fmt.Errorf("store: %s: %w", fmt.Sprintf(format, args...), ErrNotFound)
}

// invalid names the field and value that were refused.
func invalid(format string, args ...any) error {
	return fmt.Errorf("store: %s: %w", fmt.Sprintf(format, args...), ErrInvalid)
}

// wrap turns a driver error into the store's vocabulary. SQLite's constraint
// messages name tables and columns, never values, so they are safe to keep.
func wrap(what string, err error) error {
	if err == nil {
		return nil
	}
	var se *sqlite.Error
	if errors.As(err, &se) && se.Code()&0xff == sqlite3.SQLITE_CONSTRAINT {
		return fmt.Errorf("store: %s: %w: %s", what, ErrConflict, se.Error())
	}
	return fmt.Errorf("store: %s: %w", what, err)
}

// errConflictf is a conflict the store detects itself.
func errConflictf(format string, args ...any) error {
	return fmt.Errorf("%s: %w", fmt.Sprintf(format, args...), ErrConflict)
}

// wrapTerminal refuses to change something that has finished.
func wrapTerminal(what, state string) error {
	return fmt.Errorf("store: %s is %s: %w", what, state, ErrTerminal)
}
