package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/licensectl/licensectl/internal/app"
)

// InsertRenewals implements app.RenewalTx in one batch.
func (t *tx) InsertRenewals(ctx context.Context, rows []app.RenewalRecord) error {
	b := &pgx.Batch{}
	for _, r := range rows {
		b.Queue(`INSERT INTO renewals (account_id, kind, object, due_at, outcome, new_end, purchase_id, price_cents, processed_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
			r.AccountID, r.Kind, r.Object, r.DueAt.Unix(), r.Outcome, r.NewEnd, r.PurchaseID, r.PriceCents, r.ProcessedAt.Unix())
	}
	return t.sendBatch(ctx, b)
}

// MoveEnds implements app.RenewalTx in one batch.
func (t *tx) MoveEnds(ctx context.Context, moves []app.EndMove) (bool, error) {
	b := &pgx.Batch{}
	for _, m := range moves {
		if m.PlanID != "" {
			b.Queue("UPDATE maintenance_plans SET ends_at = $1 WHERE id = $2 AND ends_at = $3", m.To.Unix(), m.PlanID, m.From.Unix())
			b.Queue("UPDATE licenses SET maintenance_till = greatest(coalesce(maintenance_till, 0), $1) WHERE id = $2", m.To.Unix(), m.LicenseID)
		} else {
			b.Queue("UPDATE licenses SET expires_at = $1 WHERE id = $2 AND expires_at = $3", m.To.Unix(), m.LicenseID, m.From.Unix())
		}
	}
	br := t.tx.SendBatch(ctx, b)
	for _, m := range moves {
		tag, err := br.Exec()
		if err == nil && m.PlanID != "" && tag.RowsAffected() == 1 {
			_, err = br.Exec()
		}
		if err != nil || tag.RowsAffected() != 1 {
			br.Close()
			return false, unavailable(ctx, err)
		}
	}
	return true, unavailable(ctx, br.Close())
}
