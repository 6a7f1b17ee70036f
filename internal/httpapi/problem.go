// Package httpapi is licensectl's REST API: the server (`licensectl serve`)
// and a client that implements the same licensing service interfaces, so the
// CLI works unchanged against a remote store. Errors cross the network as RFC
// 9457 problem documents carrying the domain error code, and come out of the
// client as the same licensing.Error the local store would have returned.
package httpapi

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/licensectl/licensectl/internal/licensing"
)

// Problem is an RFC 9457 problem document with licensectl's extension
// members: the domain error code and a hint.
type Problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail"`
	Code   string `json:"code"`
	Hint   string `json:"hint,omitempty"`
	// RequestID is the request's X-Request-ID, which the server log has
	// too. A replayed answer (Idempotent-Replayed) keeps the first one's.
	RequestID string `json:"request_id,omitempty"`
	// RetryAt is when a refusal that time lifts (429) lifts, or when a
	// temporary failure (503) is worth trying again.
	RetryAt *time.Time `json:"retry_at,omitempty"`
	// Errors lists every bad line of a multi-line request (a purchase).
	Errors []licensing.LineError `json:"errors,omitempty"`
}

// problemTypeBase prefixes problem type URIs; one per error code.
const problemTypeBase = "https://licensectl.dev/problems/"

// statusFor is the one table from domain error codes to HTTP statuses; the
// client maps back by the code member, not the status.
func statusFor(code string) int {
	switch code {
	case licensing.EINVALID:
		return http.StatusBadRequest
	case licensing.ENOTFOUND:
		return http.StatusNotFound
	case licensing.EUNAUTHORIZED:
		return http.StatusUnauthorized
	case licensing.EFORBIDDEN:
		return http.StatusForbidden
	case licensing.ECONFLICT:
		return http.StatusConflict
	case licensing.ERATELIMITED:
		return http.StatusTooManyRequests
	case licensing.EUNAVAILABLE:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

func problemFor(err error) Problem {
	code := licensing.ErrorCode(err)
	// A domain error is written for users; one that names what only the
	// operator should see (the store's path) has a Remote message for
	// clients. A raw error may name files, queries or hosts: the operator
	// sees it in the server log, clients don't.
	msg := licensing.RemoteMessage(err)
	if !isDomain(err) {
		msg = "internal error"
	}
	status := statusFor(code)
	var reused *licensing.KeyReusedError
	if errors.As(err, &reused) {
		// An idempotency key reused with another request is 422 on every
		// route; 409 is for a key whose first request is still running.
		status = http.StatusUnprocessableEntity
	}
	return Problem{Type: problemTypeBase + code, Title: http.StatusText(status), Status: status,
		Detail: msg, Code: code, Hint: licensing.ErrorHint(err), Errors: licensing.ErrorLines(err)}
}

// unavailableRetry is the Retry-After of a 503 that names none: a store
// restarting or busy is usually back within a second or two, and clients
// back off further on their own.
const unavailableRetry = time.Second

func writeProblem(w http.ResponseWriter, p Problem) {
	if p.Status == http.StatusServiceUnavailable {
		retryLater(w, &p)
	}
	if p.RequestID == "" {
		p.RequestID = w.Header().Get(RequestIDHeader)
	}
	if p.Status == http.StatusUnauthorized && w.Header().Get("WWW-Authenticate") == "" {
		// Every 401 carries a challenge (RFC 9110, 15.5.2), also one for a
		// wrong attach code or another account's email, not only a bad token.
		w.Header().Set("WWW-Authenticate", `Bearer realm="licensectl"`)
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(p.Status)
	json.NewEncoder(w).Encode(p)
}

// retryLater makes every 503 say when to try again: Retry-After in whole
// seconds, at least 1 (a handler may have set a longer one), and retry_at,
// the same moment in the body.
func retryLater(w http.ResponseWriter, p *Problem) {
	secs, err := strconv.Atoi(w.Header().Get("Retry-After"))
	if err != nil || secs < 1 {
		secs = int(unavailableRetry / time.Second)
	}
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	if p.RetryAt == nil {
		at := time.Now().UTC().Add(time.Duration(secs) * time.Second).Truncate(time.Second)
		p.RetryAt = &at
	}
}

// errorOf turns a problem document back into the domain error.
func (p *Problem) errorOf() error {
	code := p.Code
	if !licensing.KnownCode(code) {
		code = licensing.EINTERNAL
	}
	e := &licensing.Error{Code: code, Message: p.Detail, Hint: p.Hint, Lines: p.Errors}
	if code == licensing.EINTERNAL && e.Hint == "" && p.RequestID != "" {
		// "internal error" says nothing; the operator finds the rest by id.
		e.Hint = "the server's log has the details under request_id " + p.RequestID
	}
	if p.RetryAt != nil {
		return &licensing.RetryError{Err: e, RetryAt: *p.RetryAt}
	}
	return e
}

func isDomain(err error) bool {
	var e *licensing.Error
	return errors.As(err, &e)
}
