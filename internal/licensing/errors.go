package licensing

import (
	"errors"
	"fmt"
	"slices"
	"strings"
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

// Error is a domain error: a code, a message for the user and an optional
// hint. An error about a multi-line request (a purchase) lists every bad
// line in Lines; Code, Message and Hint then say it in one.
type Error struct {
	Code    string
	Message string
	Hint    string
	Lines   []LineError
	// Remote, when set, is the message API clients get instead of Message,
	// which may name what only the server's operator should see (the
	// store's file path). The CLI and the server log keep Message.
	Remote string
}

// LineError is what is wrong with one line of a multi-line request: which
// line (its index in the request, from 0), which of its fields (the line's
// JSON name: product, quantity, company, billing, premium_support,
// onboarding; empty for the line as a whole) and why. A purchase file's
// reader maps lines and fields to its own lines and columns.
type LineError struct {
	Line    int    `json:"line"`
	Field   string `json:"field,omitempty"`
	Code    string `json:"code"`
	Message string `json:"message"`
	Hint    string `json:"hint,omitempty"`
}

// Error implements error: "line 3: billing: ..." (lines counted from 1).
func (e *LineError) Error() string {
	if e.Field == "" {
		return fmt.Sprintf("line %d: %s", e.Line+1, e.Message)
	}
	return fmt.Sprintf("line %d: %s: %s", e.Line+1, e.Field, e.Message)
}

func lineError(line int, field string, err error) *LineError {
	return &LineError{Line: line, Field: field, Code: ErrorCode(err), Message: ErrorMessage(err), Hint: ErrorHint(err)}
}

// asLineError makes a domain error of line i a *LineError and passes any
// other error (the store's own) through.
func asLineError(i int, field string, err error) error {
	var de *Error
	if !errors.As(err, &de) {
		return err
	}
	return lineError(i, field, err)
}

// lineErrors collects the bad lines of a request.
type lineErrors []LineError

// err is nil without bad lines, the line's own error for one, and an
// invalid-input error naming the first for several; Lines lists them all.
func (le lineErrors) err() error {
	switch len(le) {
	case 0:
		return nil
	case 1:
		return &Error{Code: le[0].Code, Message: le[0].Message, Hint: le[0].Hint, Lines: le}
	}
	var msgs []string
	for i, l := range le {
		if i == 3 {
			msgs = append(msgs, fmt.Sprintf("and %d more", len(le)-i))
			break
		}
		msgs = append(msgs, l.Error())
	}
	return &Error{Code: EINVALID, Message: fmt.Sprintf("%d lines of the purchase are invalid: %s", len(le), strings.Join(msgs, "; ")),
		Hint: "nothing was bought; fix every line and try again", Lines: le}
}

// IsDomain tells whether err is (or wraps) a domain error.
func IsDomain(err error) bool {
	var e *Error
	return errors.As(err, &e)
}

// ErrorLines returns the bad lines err lists, if any.
func ErrorLines(err error) []LineError {
	var e *Error
	if errors.As(err, &e) {
		return e.Lines
	}
	return nil
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

// RemoteMessage returns the message of err for a client of the API: the
// Remote message of a domain error that has one, else its Message.
func RemoteMessage(err error) string {
	var e *Error
	if errors.As(err, &e) && e.Remote != "" {
		return e.Remote
	}
	return ErrorMessage(err)
}

// KeyReusedError is the refusal of an idempotency key that was already used
// for a different request: a conflict (exit 5) that the API answers with 422
// Unprocessable Content, as it does for every reused key, while 409 stays
// for a key whose first request is still running.
type KeyReusedError struct{ Err *Error }

func (e *KeyReusedError) Error() string { return e.Err.Error() }

// Unwrap returns the conflict.
func (e *KeyReusedError) Unwrap() error { return e.Err }

// ErrorHint returns the hint of err, if any.
func ErrorHint(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Hint
	}
	return ""
}
