package sqlite

import (
	"context"

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
