package app

import (
	"context"
	"errors"
	"time"

	"github.com/licensectl/licensectl/internal/licensing"
)

// Store is the transactional port every store implements: it runs a body of
// look-ups and writes in one transaction. The use cases of this package are
// written once over it; a store adds only SQL, scanning and error
// translation.
//
// What a store must do:
//   - Write runs fn in one transaction that sees its own writes and commits
//     all of them or none. SQLite: one writer connection, BEGIN IMMEDIATE,
//     fn runs once. PostgreSQL: SERIALIZABLE, and fn is run again when the
//     transaction lost a race (serialization failure, deadlock, a unique
//     constraint a concurrent transaction claimed first) or fn returned
//     ErrRetry; it stops after a bounded number of attempts with jittered,
//     growing pauses, answering licensing.EUNAVAILABLE.
//   - Read runs fn in a read-only transaction over one consistent snapshot.
//   - Errors a user or an outage can cause are translated to domain errors:
//     busy and unreachable stores to licensing.EUNAVAILABLE, a read-only
//     store or a full disk to a message that says what to check. Other
//     errors pass unchanged.
//   - A Lock argument of ForUpdate takes the rows' write locks (FOR UPDATE on
//     PostgreSQL; nothing on SQLite, whose writer holds the whole store).
//
// What a store must not do: decide anything. A look-up that finds nothing
// answers nil (or zero), never a domain error; a guarded write reports
// whether it happened (TakeSeat's bool) and the use case says what that
// means. No store builds a licensing.Error except in translation.
//
// Lock order: a transaction that locks several kinds of rows takes them as
// account → licenses (by id) → maintenance plans → attach requests →
// signing keys, so two transactions never wait on each other in a cycle.
type Store interface {
	Read(ctx context.Context, fn func(Tx) error) error
	// ReadOne runs fn, which issues exactly one statement. One statement
	// sees one snapshot by itself, so the store may run it outside a
	// transaction (the hot list page saves a BEGIN and a ROLLBACK, two
	// round trips on PostgreSQL); a second statement fails with
	// ErrOneStatement.
	ReadOne(ctx context.Context, fn func(Tx) error) error
	Write(ctx context.Context, fn func(Tx) error) error
}

// GroupWriter is a Store that can commit the small writes of concurrent
// requests together (group commit): WriteGrouped is Write, but fn may share
// its transaction with other requests' bodies, each in a savepoint of its
// own - its error rolls back only its changes, and it returns once the
// shared transaction committed. The bodies run one after the other, each
// seeing the writes before it, so every rule holds as with Write. The
// activation use cases (activate, deactivate, heartbeat) use it when the
// store has it; SQLite does (one writer, whose commit bounded them),
// PostgreSQL keeps a transaction per request.
type GroupWriter interface {
	WriteGrouped(ctx context.Context, fn func(Tx) error) error
}

// ErrOneStatement is a second statement inside Store.ReadOne: a bug of the
// use case, which must use Read.
var ErrOneStatement = errors.New("a ReadOne body issued a second statement: use Read")

// Tx is one transaction of a Store: the look-ups and writes of every area.
type Tx interface {
	AccountTx
	CatalogTx
	AuditTx
	ActivationTx
	SigningKeyTx
	AttachTx
	PurchaseTx
	MaintenanceTx
	RenewalTx
	ProductTx
	BuildTx
	DirectoryTx
	LicenseTx
	AuditReadTx
	TokenTx
	IdempotencyTx
	OperatorTx
	LookupTx
	MoneyTx
	PaymentTx
	EventTx
	WebhookTx
	NoticeTx
}

// Lock says whether a look-up takes the write locks of the rows it reads.
type Lock bool

// Lock values.
const (
	NoLock    Lock = false
	ForUpdate Lock = true
)

// ErrRetry asks a store's Write to run the body again: something it read
// changed under it in a way no constraint reports. On SQLite, which never
// runs two writers, a body never returns it.
var ErrRetry = errors.New("concurrent change; retrying")

// Scanner is a row being read: *sql.Row, *sql.Rows, pgx.Row and pgx.Rows all
// are one, so one scan function serves every store.
type Scanner interface {
	Scan(dest ...any) error
}

// Rows is a result being read: *sql.Rows and pgx.Rows both are.
type Rows interface {
	Scanner
	Next() bool
	Err() error
}

// Collect scans every row of rows with scan (the caller closes rows).
func Collect[T any](rows Rows, scan func(Scanner) (*T, error)) ([]T, error) {
	out := []T{}
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *v)
	}
	return out, rows.Err()
}

// Unix turns a stored time (seconds since 1970, UTC) into a time.Time.
func Unix(sec int64) time.Time { return time.Unix(sec, 0).UTC() }

// UnixOrNil is Unix for a nullable column.
func UnixOrNil(sec *int64) *time.Time {
	if sec == nil {
		return nil
	}
	t := Unix(*sec)
	return &t
}

// AccountTx looks up accounts.
type AccountTx interface {
	// AccountID returns the id of the account with this normalised email, or
	// 0 when there is none.
	AccountID(ctx context.Context, email string) (int64, error)
	// Company finds a company of the account by its folded name
	// (licensing.FoldName(name)) or, for companies created before names were
	// folded, by its exact name (preferred when both match); it returns the
	// id and the name as stored, or 0 when there is none.
	Company(ctx context.Context, acct int64, name string) (int64, string, error)
}

// CatalogTx looks up the catalog.
type CatalogTx interface {
	// Product returns the catalog entry of a (lower-case) SKU, or nil.
	Product(ctx context.Context, sku string) (*licensing.Product, error)
}

// ProductColumns are the products columns ScanProduct reads, in its order.
const ProductColumns = `sku, name, term, edition, price_cents, monthly_price_cents, annual_price_cents,
	maintenance_price_cents, platforms, seats, latest_version, currency, per_license`

// ScanProduct reads a row of ProductColumns.
func ScanProduct(sc Scanner) (*licensing.Product, error) {
	var p licensing.Product
	var platforms string
	if err := sc.Scan(&p.SKU, &p.Name, &p.Term, &p.Edition, &p.PriceCents, &p.MonthlyPriceCents, &p.AnnualPriceCents,
		&p.MaintenancePriceCents, &platforms, &p.Seats, &p.LatestVersion, &p.Currency, &p.PerLicense); err != nil {
		return nil, err
	}
	p.Platforms = SplitList(platforms)
	return &p, nil
}

// AuditRow is one audit log entry to write. AccountID 0 files it outside any
// account (operator actions).
type AuditRow struct {
	AccountID int64
	Time      time.Time
	Actor     string
	// OnBehalfOf is the account an operator acted for; "" for none.
	OnBehalfOf string
	Action     string
	Object     string
	Details    []byte // a JSON object
}

// AuditTx writes the audit log, in the transaction of the change it records.
type AuditTx interface {
	InsertAudit(ctx context.Context, rows ...AuditRow) error
}
