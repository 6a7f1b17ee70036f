package sqlq

import (
	"context"
	"time"

	"github.com/licensectl/licensectl/internal/app"
	"github.com/licensectl/licensectl/internal/licensing"
)

const planSelect = "SELECT " + app.PlanColumns + app.PlanFrom

// ownedPlan selects the plans of the account $1. An assigned plan belongs to
// whoever owns its license, so plans follow licenses attached to another
// account; an available one, to its buyer.
const ownedPlan = "(m.license_id IS NULL AND m.account_id = $1 OR l.account_id = $1)"

// AssignPlan implements app.MaintenanceTx.
func (t Tx) AssignPlan(ctx context.Context, id string, licenseID int64, starts, ends time.Time) (bool, error) {
	return affected(t.exec(ctx, `UPDATE maintenance_plans SET license_id = $1, starts_at = $2, ends_at = $3
		WHERE id = $4 AND license_id IS NULL`, licenseID, starts.Unix(), ends.Unix(), id))
}

// Plans implements app.MaintenanceTx.
func (t Tx) Plans(ctx context.Context, acct int64, f app.PlanFilter) ([]licensing.MaintenancePlan, error) {
	where, a := ownedPlan, []any{acct}
	if f.Available {
		where += " AND m.license_id IS NULL"
	}
	if f.License != "" {
		where, a = where+" AND l.key = $2", append(a, f.License)
	}
	rows, err := t.query(ctx, planSelect+" WHERE "+where+t.d.PlanOrder, a...)
	return all(rows, err, app.ScanPlan)
}

// PurchasePlans implements app.MaintenanceTx.
func (t Tx) PurchasePlans(ctx context.Context, purchaseID string) ([]licensing.MaintenancePlan, error) {
	rows, err := t.query(ctx, planSelect+" WHERE m.purchase_id = $1"+t.d.PlanOrder, purchaseID)
	return all(rows, err, app.ScanPlan)
}

// SetPlanAutoRenew implements app.MaintenanceTx.
func (t Tx) SetPlanAutoRenew(ctx context.Context, id string, on bool) error {
	_, err := t.exec(ctx, "UPDATE maintenance_plans SET auto_renew = $1 WHERE id = $2", on, id)
	return err
}

// UncoveredLicenses implements app.MaintenanceTx.
func (t Tx) UncoveredLicenses(ctx context.Context, acct int64, now time.Time, sku string, companyID int64) ([]app.UncoveredLicense, error) {
	a := args{acct, now.Unix()}
	cond := ""
	if sku != "" {
		cond += " AND l.product = " + a.add(sku)
	}
	if companyID != 0 {
		cond += " AND l.company_id = " + a.add(companyID)
	}
	rows, err := t.query(ctx, `SELECT l.id, l.key, l.product FROM licenses l JOIN products p ON p.sku = l.product
		WHERE l.account_id = $1 AND l.kind = 'commercial' AND p.term = 'perpetual'
			AND (l.maintenance_till IS NULL OR l.maintenance_till <= $2)`+cond+` ORDER BY l.id`, a...)
	return all(rows, err, app.ScanUncoveredLicense)
}

// Plan implements app.MaintenanceTx. ForUpdate locks the plan's row:
// concurrent changes of one plan queue up rather than fail at commit.
func (t Tx) Plan(ctx context.Context, acct int64, id string, lock app.Lock) (*app.PlanRecord, error) {
	q := "SELECT " + app.PlanColumns + ", coalesce(m.license_id, 0)" + app.PlanFrom + " WHERE " + ownedPlan + " AND m.id = $2"
	q += t.lock(lock, " FOR UPDATE OF m")
	return one(t, t.queryRow(ctx, q, acct, id), app.ScanPlanRecord)
}
