package sqlite

import (
	"context"
	"time"

	"github.com/licensectl/licensectl/internal/app"
)

// planOrder lists plans oldest first; the rowid orders plans made in the
// same second.
const planOrder = " ORDER BY m.created_at, m.rowid"

// ownedPlan selects the plans of an account (two arguments: its id twice).
// An assigned plan belongs to whoever owns its license, so plans follow
// licenses attached to another account; an available one, to its buyer.
const ownedPlan = "(m.license_id IS NULL AND m.account_id = ? OR l.account_id = ?)"

// UncoveredLicenses implements app.MaintenanceTx.
func (t *tx) UncoveredLicenses(ctx context.Context, acct int64, now time.Time, sku string, companyID int64) ([]app.UncoveredLicense, error) {
	cond, args := "", []any{acct, now.Unix()}
	if sku != "" {
		cond, args = cond+" AND l.product = ?", append(args, sku)
	}
	if companyID != 0 {
		cond, args = cond+" AND l.company_id = ?", append(args, companyID)
	}
	rows, err := t.query(ctx, `SELECT l.id, l.key, l.product FROM licenses l JOIN products p ON p.sku = l.product
		WHERE l.account_id = ? AND l.kind = 'commercial' AND p.term = 'perpetual'
			AND (l.maintenance_till IS NULL OR l.maintenance_till <= ?)`+cond+` ORDER BY l.id`, args...)
	return all(rows, err, app.ScanUncoveredLicense)
}

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

// Plan implements app.MaintenanceTx; SQLite's one writer holds the whole
// store, so lock needs nothing more.
func (t *tx) Plan(ctx context.Context, acct int64, id string, _ app.Lock) (*app.PlanRecord, error) {
	return one(t.queryRow(ctx, "SELECT "+app.PlanColumns+", coalesce(m.license_id, 0)"+app.PlanFrom+" WHERE "+ownedPlan+" AND m.id = ?",
		acct, acct, id), app.ScanPlanRecord)
}
