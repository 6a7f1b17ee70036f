package licensing

import (
	"errors"
	"fmt"
	"slices"
)

// Error codes. Every layer maps these one to one: the CLI to exit codes, the HTTP
// server to statuses and problem types, the HTTP client back to codes.
const (
	EINVALID      = "invalid"
	ENOTFOUND     = "not_found"
	EUNAUTHORIZED = "unauthorized"
	EFORBIDDEN    = "forbidden" // authenticated, but not permitted
	ECONFLICT     = "conflict"
	ERATELIMITED  = "rate_limited"
	// EUNAVAILABLE is a temporary failure: the store is busy, restarting or
	// unreachable, or the server is shutting down. Trying again later works.
	EUNAVAILABLE = "unavailable"
	EINTERNAL    = "internal"
)

// Codes lists every error code, for the tables that map them.
func Codes() []string {
	return []string{EINVALID, ENOTFOUND, EUNAUTHORIZED, EFORBIDDEN, ECONFLICT, ERATELIMITED, EUNAVAILABLE, EINTERNAL}
}

// KnownCode tells whether code is one of Codes.
func KnownCode(code string) bool {
	return slices.Contains(Codes(), code)
}

// Temporary tells whether err is a failure that trying again later can
// cure (unavailable or rate limited).
func Temporary(err error) bool {
	c := ErrorCode(err)
	return c == EUNAVAILABLE || c == ERATELIMITED
}

// Error is a domain error: a code, a message for the user and an optional hint.
type Error struct {
	Code    string
	Message string
	Hint    string
}

func (e *Error) Error() string { return e.Message }

// Errorf builds an *Error with a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// WithHint returns the error with a hint attached.
func (e *Error) WithHint(format string, args ...any) *Error {
	e.Hint = fmt.Sprintf(format, args...)
	return e
}

// ErrorCode returns the code of err: the code of a wrapped *Error, EINTERNAL for
// any other error and "" for nil.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the user-facing message of err. Internal errors keep their
// own text: the CLI is run by the operator of the store, who needs it.
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return err.Error()
}

// ErrorHint returns the hint of err, if any.
func ErrorHint(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Hint
	}
	return ""
}
