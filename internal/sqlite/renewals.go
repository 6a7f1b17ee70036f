package sqlite

import (
	"context"
	"database/sql"

	"github.com/licensectl/licensectl/internal/app"
)

// InsertRenewals implements app.RenewalTx with one prepared statement.
func (t *tx) InsertRenewals(ctx context.Context, rows []app.RenewalRecord) error {
	stmt, err := t.tx.PrepareContext(ctx, `INSERT INTO renewals (account_id, kind, object, due_at, outcome, new_end, purchase_id,
		price_cents, processed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return err
	}
	defer stmt.Close()
	for _, r := range rows {
		if _, err := stmt.ExecContext(ctx, r.AccountID, r.Kind, r.Object, r.DueAt.Unix(), r.Outcome, r.NewEnd, r.PurchaseID,
			r.PriceCents, r.ProcessedAt.Unix()); err != nil {
			return err
		}
	}
	return nil
}

// MoveEnds implements app.RenewalTx with three prepared statements.
func (t *tx) MoveEnds(ctx context.Context, moves []app.EndMove) (bool, error) {
	var stmts [3]*sql.Stmt
	for i, query := range []string{
		"UPDATE maintenance_plans SET ends_at = ? WHERE id = ? AND ends_at = ?",
		"UPDATE licenses SET maintenance_till = max(ifnull(maintenance_till, 0), ?) WHERE id = ?",
		"UPDATE licenses SET expires_at = ? WHERE id = ? AND expires_at = ?",
	} {
		st, err := t.tx.PrepareContext(ctx, query)
		if err != nil {
			return false, err
		}
		defer st.Close()
		stmts[i] = st
	}
	plan, till, subscription := stmts[0], stmts[1], stmts[2]
	for _, m := range moves {
		var ok bool
		var err error
		if m.PlanID != "" {
			if ok, err = affected(plan.ExecContext(ctx, m.To.Unix(), m.PlanID, m.From.Unix())); ok {
				_, err = till.ExecContext(ctx, m.To.Unix(), m.LicenseID)
			}
		} else {
			ok, err = affected(subscription.ExecContext(ctx, m.To.Unix(), m.LicenseID, m.From.Unix()))
		}
		if err != nil || !ok {
			return false, err
		}
	}
	return true, nil
}
