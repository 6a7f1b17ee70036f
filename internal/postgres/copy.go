package postgres

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"github.com/licensectl/licensectl/internal/app"
	"hash"
	"slices"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/licensectl/licensectl/internal/licensing"
)

// copyTable is a table the PostgreSQL store shares with the SQLite one, with
// the columns to copy (not generated ones), its key order and the columns
// SQLite keeps as INTEGER 0/1 that are BOOLEAN here.
type copyTable struct {
	name  string
	cols  []string
	order string
	bools []string
	// identity: the id sequence to move past the copied ids; identityCol
	// names the identity column when it is not "id".
	identity    bool
	identityCol string
	// autoincrement: SQLite never reuses the ids of deleted rows (sqlite_sequence),
	// and neither may the copy: the audit log names them.
	autoincrement bool
	// fromSQLite names, for a column SQLite does not have, the expression that
	// gives its value there (maintenance_plans.seq is SQLite's rowid: the
	// order of plans made in the same second).
	fromSQLite map[string]string
}

// copyTables lists the tables in an order that satisfies foreign keys.
func copyTables() []copyTable {
	return []copyTable{
		{name: "products", cols: strings.Fields(strings.ReplaceAll(app.ProductColumns, ",", " ")), order: "sku", bools: []string{"per_license"}},
		{name: "builds", cols: []string{"product", "target", "os", "version", "package", "url", "artifact", "size", "sha256", "released_at"}, order: "product, target, version"},
		{name: "signing_keys", cols: []string{"id", "private_key", "public_key", "created_at", "retired_at"}, order: "id"},
		{name: "accounts", cols: []string{"id", "email", "created_at", "disabled_at"}, order: "id", identity: true},
		{name: "operators", cols: []string{"id", "name", "created_at", "disabled_at"}, order: "id", identity: true},
		{name: "operator_tokens", cols: []string{"id", "operator_id", "prefix", "hash", "name", "scopes", "created_at", "last_used_at",
			"expires_at", "revoked_at"}, order: "id", identity: true},
		{name: "companies", cols: []string{"id", "account_id", "name", "name_folded", "created_at"}, order: "id", identity: true},
		{name: "purchases", cols: []string{"id", "account_id", "purchase_email", "idempotency_key", "request_hash",
			"total_cents", "currency", "billing", "trial", "created_at", "kind", "payment_status", "refunded_cents", "refund_of",
			"reason", "payment_ref", "receipt_url", "pending_request"}, order: "id", bools: []string{"trial"}},
		{name: "purchase_items", cols: []string{"purchase_id", "line_no", "sku", "description", "quantity",
			"unit_price_cents", "amount_cents", "company", "billing"}, order: "purchase_id, line_no"},
		{name: "billing_modes", cols: []string{"account_id", "sku", "billing"}, order: "account_id, sku"},
		{name: "trials", cols: []string{"account_id", "sku", "created_at"}, order: "account_id, sku"},
		{name: "licenses", cols: []string{"id", "key", "account_id", "product", "kind", "term", "company_id", "purchase_id",
			"purchase_email", "allow_rm", "auto_renew", "expires_at", "maintenance_till", "seats", "seats_used", "created_at", "suspended",
			"revoked_at", "revoked_account_id", "refund_id", "past_due_since"},
			order: "id", bools: []string{"allow_rm", "auto_renew", "suspended"}, identity: true},
		{name: "activations", cols: []string{"id", "license_id", "machine", "machine_folded", "fingerprint", "os", "version", "mode", "nonce",
			"machine_key", "activated_at", "last_seen_at", "lease_seconds", "lease_expires_at"}, order: "id", identity: true, autoincrement: true},
		{name: "used_proofs", cols: []string{"nonce", "used_at"}, order: "nonce"},
		{name: "maintenance_plans", cols: []string{"id", "seq", "account_id", "product", "license_id", "starts_at", "ends_at",
			"auto_renew", "price_cents", "currency", "purchase_id", "created_at", "refund_id"}, order: "id", bools: []string{"auto_renew"},
			fromSQLite: map[string]string{"seq": "rowid"}, identity: true, identityCol: "seq"},
		{name: "renewals", cols: []string{"id", "account_id", "kind", "object", "due_at", "outcome", "new_end", "purchase_id",
			"price_cents", "processed_at"}, order: "id", identity: true},
		{name: "attach_secret", cols: []string{"id", "secret"}, order: "id"},
		{name: "attach_requests", cols: []string{"id", "account_id", "purchase_id", "license_key", "sent_to", "code_hash",
			"requested_at", "expires_at", "attempts", "state", "closed_at"}, order: "id", identity: true},
		{name: "audit", cols: []string{"id", "account_id", "time", "actor", "on_behalf_of", "action", "object", "details"}, order: "id", identity: true},
		{name: "api_tokens", cols: []string{"id", "account_id", "prefix", "hash", "name", "scopes", "created_at", "last_used_at",
			"expires_at", "revoked_at"},
			order: "id", identity: true},
		{name: "payment_customers", cols: []string{"account_id", "provider", "customer_ref"}, order: "account_id, provider"},
		{name: "payment_events", cols: []string{"provider", "id", "type", "received_at"}, order: "provider, id"},
		{name: "events", cols: []string{"id", "account_id", "type", "object", "created_at", "data"}, order: "id", identity: true, autoincrement: true},
		{name: "webhooks", cols: []string{"id", "account_id", "url", "events", "description", "secret", "created_at", "cursor",
			"disabled_at", "disabled_reason"}, order: "id", identity: true, autoincrement: true},
		{name: "webhook_deliveries", cols: []string{"id", "webhook_id", "event_id", "object", "status", "attempts", "next_at_ms",
			"claimed_until_ms", "created_at", "finished_at", "last_code", "last_error"}, order: "id", identity: true, autoincrement: true},
		{name: "webhook_attempts", cols: []string{"delivery_id", "n", "at_ms", "code", "latency_ms", "error"}, order: "delivery_id, n"},
		{name: "notices", cols: []string{"type", "object", "due_at", "account_id", "created_at"}, order: "type, object, due_at"},
		{name: "notification_settings", cols: []string{"account_id", "maintenance_expiring", "trial_ending", "renewal_failed", "updated_at"},
			order: "account_id", bools: []string{"maintenance_expiring", "trial_ending", "renewal_failed"}},
		{name: "idempotency_keys", cols: []string{"account_id", "key", "request_hash", "status", "body", "created_at"},
			order: "account_id, key"},
	}
}

// query reads the table's columns in key order, from SQLite (source) or
// from this store.
func (t copyTable) query(source bool) string {
	cols := t.cols
	if source && t.fromSQLite != nil {
		cols = make([]string, len(t.cols))
		for i, c := range t.cols {
			cols[i] = c
			if expr, ok := t.fromSQLite[c]; ok {
				cols[i] = expr + " AS " + c
			}
		}
	}
	return "SELECT " + strings.Join(cols, ", ") + " FROM " + t.name + " ORDER BY " + t.order
}

// SQLiteSource is a consistent, read-only view of a SQLite store (a read
// transaction of sqlite.Store.BeginSnapshot).
type SQLiteSource interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// CopyReport says what a copy moved, and the checksum both sides agreed on.
type CopyReport struct {
	Tables   []TableCount `json:"tables"`
	Rows     int64        `json:"rows"`
	Checksum string       `json:"checksum"` // SHA-256 over every copied value, table by table, in key order
}

// TableCount is one table's row count.
type TableCount struct {
	Table string `json:"table"`
	Rows  int64  `json:"rows"`
}

// CopyFromSQLite copies a SQLite store into this one, which must be empty,
// in ONE transaction: every table streams through COPY, then is read back in
// key order and compared with the source by row count and SHA-256; only if
// all agree is anything committed. So a failure or interruption at any point
// leaves this store empty, and a retry starts afresh.
func (s *Store) CopyFromSQLite(ctx context.Context, src SQLiteSource, progress func(table string, rows int64)) (report *CopyReport, err error) {
	defer func() {
		// Cancelling mid-COPY closes the connection under pgx, which then
		// reports the closed socket; the cause is the cancellation.
		if err != nil && ctx.Err() != nil {
			report, err = nil, ctx.Err()
		}
	}()
	tables := copyTables()
	if err := checkCopyable(ctx, src, tables); err != nil {
		return nil, err
	}
	tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.Serializable})
	if err != nil {
		return nil, err
	}
	defer tx.Rollback(ctx)
	if err := checkEmpty(ctx, tx, tables); err != nil {
		return nil, err
	}
	report = &CopyReport{}
	total := sha256.New()
	for _, t := range tables {
		srcRows, srcSum, err := copyTableRows(ctx, src, tx, t, progress)
		if err != nil {
			return nil, fmt.Errorf("copy %s: %w", t.name, err)
		}
		dstRows, dstSum, err := tableChecksum(ctx, tx, t)
		if err != nil {
			return nil, fmt.Errorf("verify %s: %w", t.name, err)
		}
		if srcRows != dstRows || srcSum != dstSum {
			return nil, fmt.Errorf("verify %s: source has %d rows (sha256 %x), copy has %d (sha256 %x); nothing was committed",
				t.name, srcRows, srcSum[:8], dstRows, dstSum[:8])
		}
		if t.identity {
			var floor int64
			if t.autoincrement {
				if err := src.QueryRowContext(ctx, "SELECT coalesce((SELECT seq FROM sqlite_sequence WHERE name = ?), 0)", t.name).Scan(&floor); err != nil {
					return nil, err
				}
			}
			col := t.identityCol
			if col == "" {
				col = "id"
			}
			if _, err := tx.Exec(ctx, fmt.Sprintf(`SELECT setval(pg_get_serial_sequence('%s', '%s'),
				greatest(coalesce((SELECT max(%s) FROM %s), 0), $1::bigint) + 1, false)`, t.name, col, col, t.name), floor); err != nil {
				return nil, err
			}
		}
		total.Write(srcSum[:])
		report.Tables = append(report.Tables, TableCount{Table: t.name, Rows: srcRows})
		report.Rows += srcRows
	}
	if err := tx.Commit(ctx); err != nil {
		return nil, err
	}
	report.Checksum = hex.EncodeToString(total.Sum(nil))
	return report, nil
}

// checkCopyable refuses a source holding data this store has no place for
// (tables or columns of capabilities the PostgreSQL store lacks so far):
// a copy must lose nothing.
func checkCopyable(ctx context.Context, src SQLiteSource, tables []copyTable) error {
	known := map[string]copyTable{}
	for _, t := range tables {
		known[t.name] = t
	}
	rows, err := src.QueryContext(ctx, `SELECT name FROM sqlite_schema WHERE type = 'table'
		AND name NOT LIKE 'sqlite\_%' ESCAPE '\' AND name <> 'schema_migrations' ORDER BY name`)
	if err != nil {
		return err
	}
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			rows.Close()
			return err
		}
		names = append(names, n)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, name := range names {
		t, ok := known[name]
		if !ok {
			var n int64
			if err := src.QueryRowContext(ctx, `SELECT count(*) FROM "`+name+`"`).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return unsupported(name, "", n)
			}
			continue
		}
		if err := checkExtraColumns(ctx, src, t); err != nil {
			return err
		}
	}
	return nil
}

// checkExtraColumns refuses values other than the default in SQLite columns
// that the PostgreSQL table does not have.
func checkExtraColumns(ctx context.Context, src SQLiteSource, t copyTable) error {
	rows, err := src.QueryContext(ctx, `SELECT name, dflt_value FROM pragma_table_info(?)`, t.name)
	if err != nil {
		return err
	}
	type col struct {
		name string
		dflt sql.NullString
	}
	var extra []col
	for rows.Next() {
		var c col
		if err := rows.Scan(&c.name, &c.dflt); err != nil {
			rows.Close()
			return err
		}
		if !slices.Contains(t.cols, c.name) && !(t.name == "companies" && c.name == "name_key") {
			extra = append(extra, c)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, c := range extra {
		cond := `"` + c.name + `" IS NOT NULL`
		if c.dflt.Valid {
			cond = `"` + c.name + `" IS NOT (` + c.dflt.String + `)` // the schema's own default expression
		}
		var n int64
		if err := src.QueryRowContext(ctx, `SELECT count(*) FROM "`+t.name+`" WHERE `+cond).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return unsupported(t.name, c.name, n)
		}
	}
	return nil
}

func unsupported(table, column string, n int64) error {
	what := "table " + table
	if column != "" {
		what = "column " + table + "." + column
	}
	return licensing.Errorf(licensing.EINVALID, "the SQLite store has data in %s (%d rows) that the PostgreSQL store cannot hold yet; nothing was copied", what, n).
		WithHint("keep this store on SQLite until a licensectl release whose PostgreSQL store supports it")
}

func checkEmpty(ctx context.Context, tx pgx.Tx, tables []copyTable) error {
	for _, t := range tables {
		var any bool
		if err := tx.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM "+t.name+")").Scan(&any); err != nil {
			return err
		}
		if any {
			return licensing.Errorf(licensing.ECONFLICT, "the PostgreSQL store is not empty (table %s has rows); nothing was copied", t.name).
				WithHint("copy into a new database or schema (search_path=NEW); migrate creates the store itself, without `init`")
		}
	}
	return nil
}

// sqliteRows streams one table's rows from SQLite into COPY, turning 0/1
// into booleans and hashing every value as it goes.
type sqliteRows struct {
	rows     *sql.Rows
	isBool   []bool
	vals     []any
	ptrs     []any
	sum      hash.Hash
	n        int64
	err      error
	table    string
	progress func(string, int64)
}

func (r *sqliteRows) Next() bool {
	if !r.rows.Next() {
		return false
	}
	if r.err = r.rows.Scan(r.ptrs...); r.err != nil {
		return false
	}
	for i, v := range r.vals {
		if r.isBool[i] {
			n, ok := v.(int64)
			if !ok {
				r.err = fmt.Errorf("column %d: %T where 0/1 was expected", i+1, v)
				return false
			}
			r.vals[i] = n != 0
		}
		if s, ok := v.([]byte); ok && !r.isBool[i] {
			r.vals[i] = slices.Clone(s) // database/sql reuses the buffer
		}
		hashValue(r.sum, r.vals[i])
	}
	r.n++
	if r.progress != nil && r.n%10000 == 0 {
		r.progress(r.table, r.n)
	}
	return true
}

func (r *sqliteRows) Values() ([]any, error) { return r.vals, nil }

func (r *sqliteRows) Err() error {
	if r.err != nil {
		return r.err
	}
	return r.rows.Err()
}

func copyTableRows(ctx context.Context, src SQLiteSource, tx pgx.Tx, t copyTable, progress func(string, int64)) (int64, [32]byte, error) {
	var sum [32]byte
	rows, err := src.QueryContext(ctx, t.query(true))
	if err != nil {
		return 0, sum, err
	}
	defer rows.Close()
	r := &sqliteRows{rows: rows, isBool: make([]bool, len(t.cols)), vals: make([]any, len(t.cols)),
		ptrs: make([]any, len(t.cols)), sum: sha256.New(), table: t.name, progress: progress}
	for i, c := range t.cols {
		r.isBool[i] = slices.Contains(t.bools, c)
		r.ptrs[i] = &r.vals[i]
	}
	n, err := tx.CopyFrom(ctx, pgx.Identifier{t.name}, t.cols, r)
	if err != nil {
		return 0, sum, err
	}
	if n != r.n {
		return 0, sum, fmt.Errorf("COPY took %d of %d rows", n, r.n)
	}
	if progress != nil {
		progress(t.name, n)
	}
	copy(sum[:], r.sum.Sum(nil))
	return n, sum, nil
}

// tableChecksum reads a copied table back in key order and hashes it as
// copyTableRows hashed the source.
func tableChecksum(ctx context.Context, tx pgx.Tx, t copyTable) (int64, [32]byte, error) {
	var sum [32]byte
	rows, err := tx.Query(ctx, t.query(false))
	if err != nil {
		return 0, sum, err
	}
	defer rows.Close()
	h := sha256.New()
	var n int64
	for rows.Next() {
		vals, err := rows.Values()
		if err != nil {
			return 0, sum, err
		}
		for _, v := range vals {
			hashValue(h, v)
		}
		n++
	}
	if err := rows.Err(); err != nil {
		return 0, sum, err
	}
	copy(sum[:], h.Sum(nil))
	return n, sum, nil
}

// hashValue writes a value's type and bytes unambiguously: integers of any
// width hash alike (SQLite has one integer type, PostgreSQL three), text and
// bytes are length-prefixed.
func hashValue(h hash.Hash, v any) {
	var tag byte
	var b []byte
	switch x := v.(type) {
	case nil:
		tag = 'n'
	case bool:
		tag, b = 'b', []byte(strconv.FormatBool(x))
	case int64:
		tag, b = 'i', binary.BigEndian.AppendUint64(nil, uint64(x))
	case int32:
		tag, b = 'i', binary.BigEndian.AppendUint64(nil, uint64(int64(x)))
	case int16:
		tag, b = 'i', binary.BigEndian.AppendUint64(nil, uint64(int64(x)))
	case string:
		tag, b = 's', []byte(x)
	case []byte:
		tag, b = 'x', x
	default:
		tag, b = '?', []byte(fmt.Sprintf("%T:%v", v, v))
	}
	h.Write([]byte{tag})
	h.Write(binary.BigEndian.AppendUint64(nil, uint64(len(b))))
	h.Write(b)
}
