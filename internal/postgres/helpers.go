package postgres

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"strings"
	"syscall"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/licensectl/licensectl/internal/licensing"
)

// unavailableError is a temporary failure: the domain error users see
// (EUNAVAILABLE) and the driver's error, kept for logs and for the retry
// checks (errors.As finds both).
type unavailableError struct {
	domain *licensing.Error
	cause  error
}

func (e *unavailableError) Error() string   { return e.domain.Message + ": " + e.cause.Error() }
func (e *unavailableError) Unwrap() []error { return []error{e.domain, e.cause} }

// errContention is a transaction that kept losing races (serialization
// failures, deadlocks) until write gave up: trying again later works.
func errContention() *licensing.Error {
	return &licensing.Error{Code: licensing.EUNAVAILABLE,
		Message: "the store is busy: too many concurrent changes to the same licenses",
		Hint:    "try again in a moment"}
}

// unavailable is the one place the store translates a PostgreSQL server
// that is down, restarting, shutting down, unreachable or out of
// connections into a temporary failure (EUNAVAILABLE: HTTP 503 with
// Retry-After, exit 75). Every query of the store goes through it (see db);
// other errors, and the caller's own cancellation, pass unchanged.
func unavailable(ctx context.Context, err error) error {
	if err == nil || ctx.Err() != nil {
		return err
	}
	var done *unavailableError
	if errors.As(err, &done) {
		return err
	}
	reason, ok := connectionFailure(err)
	if !ok {
		return err
	}
	return &unavailableError{domain: &licensing.Error{Code: licensing.EUNAVAILABLE,
		Message: "the store is unavailable: PostgreSQL " + reason,
		Hint:    "PostgreSQL is restarting or cannot be reached; try again shortly"}, cause: err}
}

// connectionFailure tells the failures of the connection to the server
// (rather than of the statement) and says what happened, without naming
// hosts or users: the message may reach API clients.
func connectionFailure(err error) (string, bool) {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch {
		case pe.Code == "57P01": // admin_shutdown
			return "is shutting down", true
		case pe.Code == "57P02": // crash_shutdown
			return "is recovering from a crash", true
		case pe.Code == "57P03": // cannot_connect_now
			return "is starting up or shutting down", true
		case pe.Code == "57P05": // idle_session_timeout
			return "closed an idle connection", true
		case pe.Code == "53300": // too_many_connections
			return "has no free connections", true
		case strings.HasPrefix(pe.Code, "08"): // connection_exception
			return "connection failed", true
		}
		return "", false // the statement's error (or a refused login): not temporary
	}
	var dnsErr *net.DNSError
	var certErr *tls.CertificateVerificationError
	switch {
	case errors.As(err, &dnsErr) && dnsErr.IsNotFound, errors.As(err, &certErr):
		return "", false // a wrong host name or certificate: waiting will not help
	case errors.Is(err, syscall.ECONNREFUSED):
		return "refused the connection", true
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE), errors.Is(err, io.EOF),
		errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, pgconn.ErrConnClosed):
		return "closed the connection", true
	case pgconn.Timeout(err), errors.Is(err, context.DeadlineExceeded):
		return "did not answer in time", true
	}
	var ce *pgconn.ConnectError
	var ne net.Error
	if errors.As(err, &ce) || errors.As(err, &ne) {
		return "cannot be reached", true
	}
	return "", false
}

// db is the store's pool with every method's error put through
// unavailable, so reads report a lost server as writes do. Transactions
// begun on it (tx) do the same.
type db struct{ *pgxpool.Pool }

func (d db) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	t, err := d.Pool.Exec(ctx, sql, args...)
	return t, unavailable(ctx, err)
}

func (d db) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	r, err := d.Pool.Query(ctx, sql, args...)
	return rows{r, ctx}, unavailable(ctx, err)
}

func (d db) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	return row{d.Pool.QueryRow(ctx, sql, args...), ctx}
}

func (d db) BeginTx(ctx context.Context, opts pgx.TxOptions) (pgx.Tx, error) {
	t, err := d.Pool.BeginTx(ctx, opts)
	if err != nil {
		return nil, unavailable(ctx, err)
	}
	return wrappedTx{t}, nil
}

func (d db) Ping(ctx context.Context) error { return unavailable(ctx, d.Pool.Ping(ctx)) }

// wrappedTx is a transaction whose errors go through unavailable. Serialization
// failures pass unchanged, for write to retry.
type wrappedTx struct{ pgx.Tx }

func (t wrappedTx) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	c, err := t.Tx.Exec(ctx, sql, args...)
	return c, unavailable(ctx, err)
}

func (t wrappedTx) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	r, err := t.Tx.Query(ctx, sql, args...)
	return rows{r, ctx}, unavailable(ctx, err)
}

func (t wrappedTx) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	return row{t.Tx.QueryRow(ctx, sql, args...), ctx}
}

func (t wrappedTx) CopyFrom(ctx context.Context, table pgx.Identifier, columns []string, src pgx.CopyFromSource) (int64, error) {
	n, err := t.Tx.CopyFrom(ctx, table, columns, src)
	return n, unavailable(ctx, err)
}

func (t wrappedTx) Commit(ctx context.Context) error { return unavailable(ctx, t.Tx.Commit(ctx)) }

type rows struct {
	pgx.Rows
	ctx context.Context
}

func (r rows) Err() error { return unavailable(r.ctx, r.Rows.Err()) }

func (r rows) Scan(dest ...any) error { return unavailable(r.ctx, r.Rows.Scan(dest...)) }

type row struct {
	pgx.Row
	ctx context.Context
}

func (r row) Scan(dest ...any) error { return unavailable(r.ctx, r.Row.Scan(dest...)) }
