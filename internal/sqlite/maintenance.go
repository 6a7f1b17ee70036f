package sqlite

import (
	"context"

	"github.com/licensectl/licensectl/internal/app"
)

// planOrder lists plans oldest first; the rowid orders plans made in the
// same second.
const planOrder = " ORDER BY m.created_at, m.rowid"

// InsertPlans implements app.MaintenanceTx with one prepared statement.
func (t *tx) InsertPlans(ctx context.Context, plans []app.NewPlan) error {
	stmt, err := t.tx.PrepareContext(ctx, `INSERT INTO maintenance_plans (id, account_id, product, license_id, starts_at, ends_at,
		auto_renew, price_cents, currency, purchase_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return err
	}
	defer stmt.Close()
	for _, p := range plans {
		license, starts, ends := app.PlanDates(p)
		if _, err := stmt.ExecContext(ctx, p.ID, p.AccountID, p.Product, license, starts, ends, boolInt(p.AutoRenew),
			p.PriceCents, p.Currency, p.PurchaseID, p.CreatedAt.Unix()); err != nil {
			return err
		}
	}
	return nil
}

// CoverLicenses implements app.MaintenanceTx with two prepared statements.
func (t *tx) CoverLicenses(ctx context.Context, covers []app.PlanCover) error {
	if len(covers) == 0 {
		return nil
	}
	handOver, err := t.tx.PrepareContext(ctx, "UPDATE maintenance_plans SET auto_renew = 0 WHERE license_id = ? AND id <> ? AND auto_renew = 1")
	if err != nil {
		return err
	}
	defer handOver.Close()
	till, err := t.tx.PrepareContext(ctx, `UPDATE licenses SET maintenance_till =
		(SELECT max(ends_at) FROM maintenance_plans WHERE license_id = ?1) WHERE id = ?1`)
	if err != nil {
		return err
	}
	defer till.Close()
	for _, c := range covers {
		if _, err := handOver.ExecContext(ctx, c.LicenseID, c.PlanID); err != nil {
			return err
		}
		if _, err := till.ExecContext(ctx, c.LicenseID); err != nil {
			return err
		}
	}
	return nil
}
