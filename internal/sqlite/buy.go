package sqlite

import (
	"context"
	"database/sql"
	"strings"

	"github.com/licensectl/licensectl/internal/app"
)

// InsertPurchase implements app.PurchaseTx.
func (t *tx) InsertPurchase(ctx context.Context, p app.NewPurchase) error {
	if _, err := t.exec(ctx, `INSERT INTO purchases (id, account_id, purchase_email, idempotency_key, request_hash,
			total_cents, currency, billing, trial, created_at, kind, payment_status, payment_ref, receipt_url, refund_of, reason,
			pending_request)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		append([]any{p.ID, p.AccountID, p.PurchaseEmail, p.IdempotencyKey, p.RequestHash, p.TotalCents, p.Currency, p.Billing,
			boolInt(p.Trial), p.CreatedAt.Unix()}, p.Columns()...)...); err != nil {
		return err
	}
	for i, it := range p.Items {
		if _, err := t.exec(ctx, `INSERT INTO purchase_items (purchase_id, line_no, sku, description, quantity,
				unit_price_cents, amount_cents, company, billing) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			p.ID, i+1, it.SKU, it.Description, it.Quantity, it.UnitPriceCents, it.AmountCents, it.Company, it.Billing); err != nil {
			return err
		}
	}
	return nil
}

// licenseBatch is how many licenses one INSERT statement writes: 256 rows
// of 12 values (3,072 parameters, far below SQLite's 32,766). A statement
// per row paid the driver's per-statement cost (binding, stepping, locking
// the connection) for every license; a batch pays it once per 256.
const licenseBatch = 256

// insertLicensesSQL is the INSERT of n licenses.
func insertLicensesSQL(n int) string {
	var b strings.Builder
	b.WriteString(`INSERT INTO licenses (key, account_id, product, kind, term, company_id,
			purchase_id, purchase_email, auto_renew, expires_at, seats, created_at) VALUES `)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString("(?,?,?,?,?,?,?,?,?,?,?,?)")
	}
	return b.String()
}

// InsertLicenses implements app.PurchaseTx with multi-row INSERTs of
// licenseBatch rows (one prepared statement, and one for the remainder),
// all in the caller's transaction: a 100,000-license purchase is one commit
// (one fsync), and a cancelled one leaves nothing behind.
func (t *tx) InsertLicenses(ctx context.Context, rows *app.LicenseRows) error {
	var full *sql.Stmt
	defer func() {
		if full != nil {
			full.Close()
		}
	}()
	args := make([]any, 0, 12*licenseBatch)
	flush := func() error {
		n := len(args) / 12
		if n == 0 {
			return nil
		}
		var err error
		if n == licenseBatch {
			if full == nil {
				if full, err = t.tx.PrepareContext(ctx, insertLicensesSQL(licenseBatch)); err != nil {
					return err
				}
			}
			_, err = full.ExecContext(ctx, args...)
		} else {
			_, err = t.tx.ExecContext(ctx, insertLicensesSQL(n), args...)
		}
		args = args[:0]
		return err
	}
	for rows.Next() {
		l := rows.License()
		args = append(args, l.Key, nullID(l.AccountID), l.Product, l.Kind, l.Term, nullID(l.CompanyID),
			l.PurchaseID, l.PurchaseEmail, boolInt(l.AutoRenew), nullID(l.ExpiresAt), l.Seats, l.CreatedAt.Unix())
		if len(args) == 12*licenseBatch {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	return flush()
}

// nullID is NULL for 0 (no account, no company, no expiry).
func nullID(v int64) any {
	if v == 0 {
		return nil
	}
	return v
}
