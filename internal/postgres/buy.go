package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/licensectl/licensectl/internal/app"
)

// copyThreshold: purchases of more licenses than this go through COPY, which
// costs a round trip of its own but then streams; fewer go in one batch.
const copyThreshold = 32

// InsertPurchase implements app.PurchaseTx.
func (t *tx) InsertPurchase(ctx context.Context, p app.NewPurchase) error {
	b := &pgx.Batch{}
	b.Queue(`INSERT INTO purchases (id, account_id, purchase_email, idempotency_key, request_hash,
			total_cents, currency, billing, trial, created_at, kind, payment_status, payment_ref, receipt_url, refund_of, reason,
			pending_request)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)`,
		append([]any{p.ID, p.AccountID, p.PurchaseEmail, p.IdempotencyKey, p.RequestHash, p.TotalCents, p.Currency, p.Billing,
			p.Trial, p.CreatedAt.Unix()}, p.Columns()...)...)
	for i, it := range p.Items {
		b.Queue(`INSERT INTO purchase_items (purchase_id, line_no, sku, description, quantity,
				unit_price_cents, amount_cents, company, billing) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
			p.ID, i+1, it.SKU, it.Description, it.Quantity, it.UnitPriceCents, it.AmountCents, it.Company, it.Billing)
	}
	return t.sendBatch(ctx, b)
}

var licenseCopyColumns = []string{"key", "account_id", "product", "kind", "term", "company_id",
	"purchase_id", "purchase_email", "auto_renew", "expires_at", "seats", "created_at"}

// InsertLicenses implements app.PurchaseTx. Large purchases stream with
// COPY: 100,000 licenses are one statement and one commit, and a cancelled
// one leaves nothing behind. A few go in one batch.
func (t *tx) InsertLicenses(ctx context.Context, rows *app.LicenseRows) error {
	src := licenseSource{rows}
	if rows.Len() > copyThreshold {
		_, err := t.tx.CopyFrom(ctx, pgx.Identifier{"licenses"}, licenseCopyColumns, src)
		return err
	}
	b := &pgx.Batch{}
	for rows.Next() {
		v, _ := src.Values()
		b.Queue(`INSERT INTO licenses (key, account_id, product, kind, term, company_id,
			purchase_id, purchase_email, auto_renew, expires_at, seats, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`, v...)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	return t.sendBatch(ctx, b)
}

// licenseSource is app.LicenseRows as a pgx.CopyFromSource.
type licenseSource struct{ *app.LicenseRows }

func (s licenseSource) Values() ([]any, error) {
	l := s.License()
	return []any{l.Key, nullID(l.AccountID), l.Product, l.Kind, l.Term, nullID(l.CompanyID),
		l.PurchaseID, l.PurchaseEmail, l.AutoRenew, nullID(l.ExpiresAt), l.Seats, l.CreatedAt.Unix()}, nil
}

// nullID is NULL for 0 (no account, no company, no expiry).
func nullID(v int64) any {
	if v == 0 {
		return nil
	}
	return v
}
