package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/licensectl/licensectl/internal/app"
)

// planOrder lists plans oldest first; seq breaks ties as SQLite's rowid does.
const planOrder = " ORDER BY m.created_at, m.seq"

// InsertPlans implements app.MaintenanceTx in one batch.
func (t *tx) InsertPlans(ctx context.Context, plans []app.NewPlan) error {
	b := &pgx.Batch{}
	for _, p := range plans {
		license, starts, ends := app.PlanDates(p)
		b.Queue(`INSERT INTO maintenance_plans (id, account_id, product, license_id, starts_at, ends_at,
			auto_renew, price_cents, currency, purchase_id, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
			p.ID, p.AccountID, p.Product, license, starts, ends, p.AutoRenew, p.PriceCents, p.Currency, p.PurchaseID, p.CreatedAt.Unix())
	}
	return t.sendBatch(ctx, b)
}

// CoverLicenses implements app.MaintenanceTx in one batch.
func (t *tx) CoverLicenses(ctx context.Context, covers []app.PlanCover) error {
	b := &pgx.Batch{}
	for _, c := range covers {
		b.Queue("UPDATE maintenance_plans SET auto_renew = false WHERE license_id = $1 AND id <> $2 AND auto_renew",
			c.LicenseID, c.PlanID)
		b.Queue(`UPDATE licenses SET maintenance_till = (SELECT max(ends_at) FROM maintenance_plans WHERE license_id = $1)
			WHERE id = $1`, c.LicenseID)
	}
	return t.sendBatch(ctx, b)
}

// sendBatch runs a batch's statements in one round trip (none for none).
func (t *tx) sendBatch(ctx context.Context, b *pgx.Batch) error {
	if b.Len() == 0 {
		return nil
	}
	return unavailable(ctx, t.tx.SendBatch(ctx, b).Close())
}
