package sqlq

import (
	"cmp"
	"context"
	"slices"
	"strings"
	"time"

	"github.com/licensectl/licensectl/internal/app"
	"github.com/licensectl/licensectl/internal/licensing"
)

// PurchaseRecord implements app.MoneyTx.
func (t Tx) PurchaseRecord(ctx context.Context, id string, lock app.Lock) (*app.StoredPurchase, error) {
	return one(t, t.queryRow(ctx, "SELECT "+app.PurchaseColumns+" FROM purchases WHERE id = $1"+t.lock(lock, " FOR UPDATE"), id),
		app.ScanPurchase)
}

const purchaseRowFrom = " FROM purchases p JOIN accounts a ON a.id = p.account_id"

// ListPurchases implements app.MoneyTx.
func (t Tx) ListPurchases(ctx context.Context, acct int64, f licensing.PurchaseFilter) ([]licensing.PurchaseRow, error) {
	where, args := []string{"p.account_id = $1"}, []any{acct}
	add := func(cond string, v any) {
		args = append(args, v)
		where = append(where, strings.ReplaceAll(cond, "?", mark(len(args))))
	}
	if f.Kind != "" {
		add("p.kind = ?", f.Kind)
	}
	if f.Since != nil {
		add("p.created_at >= ?", f.Since.Unix())
	}
	if f.Company != "" {
		add("EXISTS (SELECT 1 FROM purchase_items i WHERE i.purchase_id = p.id AND i.company = ?)", f.Company)
	}
	query := "SELECT " + app.PurchaseRowColumns + purchaseRowFrom + " WHERE " + strings.Join(where, " AND ") +
		" ORDER BY p.created_at DESC, p.id DESC"
	if f.Limit > 0 {
		args = append(args, f.Limit)
		query += " LIMIT " + mark(len(args))
	}
	rows, err := t.query(ctx, query, args...)
	return all(rows, err, app.ScanPurchaseRow)
}

// RefundsOf implements app.MoneyTx.
func (t Tx) RefundsOf(ctx context.Context, id string) ([]licensing.PurchaseRow, error) {
	rows, err := t.query(ctx, "SELECT "+app.PurchaseRowColumns+purchaseRowFrom+" WHERE p.refund_of = $1 ORDER BY p.created_at, p.id", id)
	return all(rows, err, app.ScanPurchaseRow)
}

// RefundKeys implements app.MoneyTx.
func (t Tx) RefundKeys(ctx context.Context, refundID string) ([]string, error) {
	rows, err := t.query(ctx, "SELECT key FROM licenses WHERE refund_id = $1 ORDER BY id", refundID)
	return all(rows, err, app.ScanString)
}

// RefundLicenses implements app.MoneyTx.
func (t Tx) RefundLicenses(ctx context.Context, purchaseID string, lock app.Lock) ([]app.RefundLicense, error) {
	rows, err := t.query(ctx, "SELECT id, key, coalesce(refund_id, ''), seats_used FROM licenses WHERE purchase_id = $1 ORDER BY id"+
		t.lock(lock, " FOR UPDATE"), purchaseID)
	return all(rows, err, app.ScanRefundLicense)
}

// RecordRefund implements app.MoneyTx.
func (t Tx) RecordRefund(ctx context.Context, purchaseID string, refundedCents int64, status string) error {
	_, err := t.exec(ctx, "UPDATE purchases SET refunded_cents = $2, payment_status = $3 WHERE id = $1", purchaseID, refundedCents, status)
	return err
}

// idList is the placeholders $first, $first+1, ... of n arguments.
func idList(first, n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(mark(first + i))
	}
	return b.String()
}

func idArgs(head []any, ids []int64) []any {
	args := append(make([]any, 0, len(head)+len(ids)), head...)
	for _, id := range ids {
		args = append(args, id)
	}
	return args
}

// RevokeLicenses implements app.MoneyTx. Each SET reads the row as it was,
// so the account moves to revoked_account_id before account_id is cleared.
func (t Tx) RevokeLicenses(ctx context.Context, ids []int64, refundID string, at time.Time) error {
	return chunks(ids, func(ids []int64) error { return t.revoke(ctx, ids, refundID, at) })
}

func (t Tx) revoke(ctx context.Context, ids []int64, refundID string, at time.Time) error {
	if _, err := t.exec(ctx, `UPDATE maintenance_plans SET auto_renew = $2,
			starts_at = CASE WHEN starts_at > $1 THEN $1 ELSE starts_at END,
			ends_at = CASE WHEN ends_at > $1 THEN $1 ELSE ends_at END
		WHERE license_id IN (`+idList(3, len(ids))+`)`, idArgs([]any{at.Unix(), false}, ids)...); err != nil {
		return err
	}
	_, err := t.exec(ctx, `UPDATE licenses SET revoked_at = $1, revoked_account_id = account_id, account_id = NULL,
			refund_id = $2, seats_used = 0, auto_renew = $3,
			maintenance_till = CASE WHEN maintenance_till > $1 THEN $1 ELSE maintenance_till END
		WHERE id IN (`+idList(4, len(ids))+`)`, idArgs([]any{at.Unix(), refundID, false}, ids)...)
	return err
}

// maxIDs bounds the ids of one IN list: SQLite refuses more than 32,766
// variables in a statement.
const maxIDs = 1000

// chunks calls fn with ids in slices of at most maxIDs.
func chunks(ids []int64, fn func([]int64) error) error {
	for start := 0; start < len(ids); start += maxIDs {
		if err := fn(ids[start:min(start+maxIDs, len(ids))]); err != nil {
			return err
		}
	}
	return nil
}

// DeleteLicenseActivations implements app.MoneyTx.
func (t Tx) DeleteLicenseActivations(ctx context.Context, ids []int64) (int, error) {
	total := 0
	err := chunks(ids, func(part []int64) error {
		n, err := t.exec(ctx, "DELETE FROM activations WHERE license_id IN ("+idList(1, len(part))+")", idArgs(nil, part)...)
		total += int(n)
		return err
	})
	return total, err
}

// Revocation implements app.MoneyTx.
func (t Tx) Revocation(ctx context.Context, acct int64, key string) (*app.Revocation, error) {
	return one(t, t.queryRow(ctx, "SELECT refund_id, revoked_at FROM licenses WHERE key = $1 AND revoked_account_id = $2", key, acct),
		app.ScanRevocation)
}

// LicensePlans implements app.MoneyTx.
func (t Tx) LicensePlans(ctx context.Context, acct int64, licenseIDs []int64) ([]app.RefundPlan, error) {
	var out []app.RefundPlan
	err := chunks(licenseIDs, func(part []int64) error {
		rows, err := t.query(ctx, `SELECT m.id, m.purchase_id, m.product, l.key, m.currency, m.price_cents
			FROM maintenance_plans m JOIN licenses l ON l.id = m.license_id JOIN purchases p ON p.id = m.purchase_id
			WHERE m.license_id IN (`+idList(2, len(part))+`) AND m.refund_id IS NULL AND p.kind = 'purchase' AND p.account_id = $1`,
			idArgs([]any{acct}, part)...)
		got, err := all(rows, err, app.ScanRefundPlan)
		out = append(out, got...)
		return err
	})
	// By purchase then plan, across the chunks.
	slices.SortFunc(out, func(a, b app.RefundPlan) int {
		return cmp.Or(strings.Compare(a.PurchaseID, b.PurchaseID), strings.Compare(a.ID, b.ID))
	})
	return out, err
}

// MarkPlansRefunded implements app.MoneyTx.
func (t Tx) MarkPlansRefunded(ctx context.Context, planIDs []string, refundID string) error {
	for start := 0; start < len(planIDs); start += maxIDs {
		part := planIDs[start:min(start+maxIDs, len(planIDs))]
		args := []any{refundID}
		for _, id := range part {
			args = append(args, id)
		}
		if _, err := t.exec(ctx, "UPDATE maintenance_plans SET refund_id = $1 WHERE id IN ("+idList(2, len(part))+")", args...); err != nil {
			return err
		}
	}
	return nil
}
