package sqlq

import (
	"context"
	"time"

	"github.com/licensectl/licensectl/internal/app"
	"github.com/licensectl/licensectl/internal/licensing"
)

// CustomerRef implements app.PaymentTx.
func (t Tx) CustomerRef(ctx context.Context, acct int64, provider string) (string, error) {
	return app.Value(one(t, t.queryRow(ctx, "SELECT customer_ref FROM payment_customers WHERE account_id = $1 AND provider = $2",
		acct, provider), app.ScanString))
}

// SetCustomerRef implements app.PaymentTx: the first one stays.
func (t Tx) SetCustomerRef(ctx context.Context, acct int64, provider, ref string) error {
	_, err := t.exec(ctx, "INSERT INTO payment_customers (account_id, provider, customer_ref) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
		acct, provider, ref)
	return err
}

// PurchaseByPaymentRef implements app.PaymentTx.
func (t Tx) PurchaseByPaymentRef(ctx context.Context, ref string, lock app.Lock) (*app.StoredPurchase, error) {
	return one(t, t.queryRow(ctx, "SELECT "+app.PurchaseColumns+" FROM purchases WHERE payment_ref = $1 AND kind <> 'refund' ORDER BY created_at LIMIT 1"+
		t.lock(lock, " FOR UPDATE"), ref), app.ScanPurchase)
}

// SetPayment implements app.PaymentTx.
func (t Tx) SetPayment(ctx context.Context, purchaseID, status, ref, receiptURL string) error {
	_, err := t.exec(ctx, `UPDATE purchases SET payment_status = $2, payment_ref = $3,
		receipt_url = CASE WHEN $4 = '' THEN receipt_url ELSE $4 END, pending_request = '' WHERE id = $1`,
		purchaseID, status, ref, receiptURL)
	return err
}

// PendingRequest implements app.PaymentTx.
func (t Tx) PendingRequest(ctx context.Context, purchaseID string) (string, error) {
	return app.Value(one(t, t.queryRow(ctx, "SELECT pending_request FROM purchases WHERE id = $1", purchaseID), app.ScanString))
}

// RecordEvent implements app.PaymentTx.
func (t Tx) RecordEvent(ctx context.Context, provider, id, typ string, at time.Time) (bool, error) {
	return affected(t.exec(ctx, "INSERT INTO payment_events (provider, id, type, received_at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
		provider, id, typ, at.Unix()))
}

// PaidPurchases implements app.PaymentTx: purchases and refunds with a
// provider reference, and purchases that cost money without one.
func (t Tx) PaidPurchases(ctx context.Context, since time.Time) ([]licensing.PurchaseRow, error) {
	rows, err := t.query(ctx, "SELECT "+app.PurchaseRowColumns+purchaseRowFrom+
		" WHERE p.created_at >= $1 AND (p.payment_ref <> '' OR (p.total_cents > 0 AND p.kind <> 'refund')) ORDER BY p.created_at, p.id", since.Unix())
	return all(rows, err, app.ScanPurchaseRow)
}

// SetPastDue implements app.RenewalTx.
func (t Tx) SetPastDue(ctx context.Context, licenseID int64, since *time.Time) error {
	_, err := t.exec(ctx, "UPDATE licenses SET past_due_since = $2 WHERE id = $1", licenseID, unixOrNull(since))
	return err
}
