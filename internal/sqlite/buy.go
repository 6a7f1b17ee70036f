package sqlite

import (
	"context"
	"time"

	"github.com/licensectl/licensectl/internal/app"
	"github.com/licensectl/licensectl/internal/licensing"
)

// PurchaseByKey implements app.PurchaseTx.
func (t *tx) PurchaseByKey(ctx context.Context, acct int64, key string) (*app.PriorPurchase, error) {
	return one(t.queryRow(ctx, "SELECT id, request_hash FROM purchases WHERE account_id = ? AND idempotency_key = ?",
		acct, key), app.ScanPriorPurchase)
}

// Purchase implements app.PurchaseTx.
func (t *tx) Purchase(ctx context.Context, id string) (*licensing.Purchase, error) {
	return one(t.queryRow(ctx, "SELECT "+app.PurchaseColumns+" FROM purchases WHERE id = ?", id), app.ScanPurchase)
}

// PurchaseItems implements app.PurchaseTx.
func (t *tx) PurchaseItems(ctx context.Context, id string) ([]licensing.LineItem, error) {
	rows, err := t.query(ctx, "SELECT "+app.LineItemColumns+" FROM purchase_items WHERE purchase_id = ? ORDER BY line_no", id)
	return all(rows, err, app.ScanLineItem)
}

// PurchaseKeys implements app.PurchaseTx.
func (t *tx) PurchaseKeys(ctx context.Context, id string) ([]string, error) {
	rows, err := t.query(ctx, "SELECT key FROM licenses WHERE purchase_id = ? ORDER BY id", id)
	return all(rows, err, app.ScanString)
}

// BillingMode implements app.PurchaseTx.
func (t *tx) BillingMode(ctx context.Context, acct int64, sku string) (string, error) {
	return app.Value(one(t.queryRow(ctx, "SELECT billing FROM billing_modes WHERE account_id = ? AND sku = ?", acct, sku), app.ScanString))
}

// FixBillingMode implements app.PurchaseTx.
func (t *tx) FixBillingMode(ctx context.Context, acct int64, sku, billing string) (bool, error) {
	return affected(t.exec(ctx, "INSERT OR IGNORE INTO billing_modes (account_id, sku, billing) VALUES (?, ?, ?)", acct, sku, billing))
}

// TrialUsed implements app.PurchaseTx.
func (t *tx) TrialUsed(ctx context.Context, acct int64, sku string) (bool, error) {
	return app.Value(one(t.queryRow(ctx, "SELECT EXISTS (SELECT 1 FROM trials WHERE account_id = ? AND sku = ?)", acct, sku), app.ScanBool))
}

// InsertTrial implements app.PurchaseTx.
func (t *tx) InsertTrial(ctx context.Context, acct int64, sku string, at time.Time) error {
	_, err := t.exec(ctx, "INSERT INTO trials (account_id, sku, created_at) VALUES (?, ?, ?)", acct, sku, at.Unix())
	return err
}

// InsertPurchase implements app.PurchaseTx.
func (t *tx) InsertPurchase(ctx context.Context, p app.NewPurchase) error {
	if _, err := t.exec(ctx, `INSERT INTO purchases (id, account_id, purchase_email, idempotency_key, request_hash,
			total_cents, currency, billing, trial, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		p.ID, p.AccountID, p.PurchaseEmail, p.IdempotencyKey, p.RequestHash, p.TotalCents, p.Currency, p.Billing,
		boolInt(p.Trial), p.CreatedAt.Unix()); err != nil {
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

// InsertLicenses implements app.PurchaseTx with one prepared statement, all
// in the caller's transaction: a 100,000-license purchase is one commit (one
// fsync), and a cancelled one leaves nothing behind.
func (t *tx) InsertLicenses(ctx context.Context, rows *app.LicenseRows) error {
	stmt, err := t.tx.PrepareContext(ctx, `INSERT INTO licenses (key, account_id, product, kind, term, company_id,
			purchase_id, purchase_email, auto_renew, expires_at, seats, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return err
	}
	defer stmt.Close()
	for rows.Next() {
		l := rows.License()
		if _, err := stmt.ExecContext(ctx, l.Key, nullID(l.AccountID), l.Product, l.Kind, l.Term, nullID(l.CompanyID),
			l.PurchaseID, l.PurchaseEmail, boolInt(l.AutoRenew), nullID(l.ExpiresAt), l.Seats, l.CreatedAt.Unix()); err != nil {
			return err
		}
	}
	return rows.Err()
}

// nullID is NULL for 0 (no account, no company, no expiry).
func nullID(v int64) any {
	if v == 0 {
		return nil
	}
	return v
}
