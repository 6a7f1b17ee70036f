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
