package router

import (
	"errors"
	"fmt"
)

// Kinds of admin errors; the admin API maps them to 404, 409, 400, 503 and
// (ErrStorage) 507 or 500.
var (
	ErrNotFound = errors.New("not found")
	ErrConflict = errors.New("conflict")
	ErrInvalid  = errors.New("invalid")
	// ErrHandingOver refuses a change while the router hands its table to a
	// successor process; the change was not applied and may be retried.
	ErrHandingOver = errors.New("handing over")
	// ErrStorage refuses a change whose state file could not be written
	// (a full disk, a read-only or missing directory): nothing was applied.
	ErrStorage = errors.New("state not saved")
)

// adminError carries a kind and a message naming the problem, and the
// underlying error if any (a full disk's ENOSPC, say).
type adminError struct {
	kind  error
	msg   string
	cause error
}

func (e *adminError) Error() string        { return e.msg }
func (e *adminError) Is(target error) bool { return target == e.kind }
func (e *adminError) Unwrap() error        { return e.cause }

// storageError refuses a change because the state file at path could not
// be written.
func storageError(path string, err error) error {
	return &adminError{kind: ErrStorage, cause: err,
		msg: fmt.Sprintf("router state %s not saved, change not applied: %v", path, err)}
}

func errf(kind error, format string, a ...any) error {
	return &adminError{kind: kind, msg: fmt.Sprintf(format, a...)}
}
