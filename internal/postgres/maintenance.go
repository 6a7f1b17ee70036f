package postgres

import (
	"context"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/licensectl/licensectl/internal/app"
)

// planOrder lists plans oldest first; seq breaks ties as SQLite's rowid does.
const planOrder = " ORDER BY m.created_at, m.seq"

// ownedPlan selects the plans of the account $1. An assigned plan belongs to
// whoever owns its license, so plans follow licenses attached to another
// account; an available one, to its buyer.
const ownedPlan = "(m.license_id IS NULL AND m.account_id = $1 OR l.account_id = $1)"

// UncoveredLicenses implements app.MaintenanceTx.
func (t *tx) UncoveredLicenses(ctx context.Context, acct int64, now time.Time, sku string, companyID int64) ([]app.UncoveredLicense, error) {
	cond, a := "", []any{acct, now.Unix()}
	if sku != "" {
		a = append(a, sku)
		cond += " AND l.product = $" + strconv.Itoa(len(a))
	}
	if companyID != 0 {
		a = append(a, companyID)
		cond += " AND l.company_id = $" + strconv.Itoa(len(a))
	}
	rows, err := t.query(ctx, `SELECT l.id, l.key, l.product FROM licenses l JOIN products p ON p.sku = l.product
		WHERE l.account_id = $1 AND l.kind = 'commercial' AND p.term = 'perpetual'
			AND (l.maintenance_till IS NULL OR l.maintenance_till <= $2)`+cond+` ORDER BY l.id`, a...)
	return all(rows, err, app.ScanUncoveredLicense)
}

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

// Plan implements app.MaintenanceTx. ForUpdate locks the plan's row:
// concurrent changes of one plan queue up rather than fail at commit.
func (t *tx) Plan(ctx context.Context, acct int64, id string, lock app.Lock) (*app.PlanRecord, error) {
	q := "SELECT " + app.PlanColumns + ", coalesce(m.license_id, 0)" + app.PlanFrom + " WHERE " + ownedPlan + " AND m.id = $2"
	if lock == app.ForUpdate {
		q += " FOR UPDATE OF m"
	}
	return one(t.queryRow(ctx, q, acct, id), app.ScanPlanRecord)
}
