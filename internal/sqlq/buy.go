package sqlq

import (
	"context"
	"time"

	"github.com/licensectl/licensectl/internal/app"
	"github.com/licensectl/licensectl/internal/licensing"
)

// BillingMode implements app.PurchaseTx.
func (t Tx) BillingMode(ctx context.Context, acct int64, sku string) (string, error) {
	return app.Value(one(t, t.queryRow(ctx, "SELECT billing FROM billing_modes WHERE account_id = $1 AND sku = $2", acct, sku), app.ScanString))
}

// FixBillingMode implements app.PurchaseTx.
func (t Tx) FixBillingMode(ctx context.Context, acct int64, sku, billing string) (bool, error) {
	return affected(t.exec(ctx, "INSERT INTO billing_modes (account_id, sku, billing) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
		acct, sku, billing))
}

// InsertTrial implements app.PurchaseTx. The primary key refuses a second
// trial that a concurrent request slipped past the rules' check (the rerun
// then reports it).
func (t Tx) InsertTrial(ctx context.Context, acct int64, sku string, at time.Time) error {
	_, err := t.exec(ctx, "INSERT INTO trials (account_id, sku, created_at) VALUES ($1, $2, $3)", acct, sku, at.Unix())
	return err
}

// PurchaseByKey implements app.PurchaseTx.
func (t Tx) PurchaseByKey(ctx context.Context, acct int64, key string) (*app.PriorPurchase, error) {
	return one(t, t.queryRow(ctx, "SELECT id, request_hash FROM purchases WHERE account_id = $1 AND idempotency_key = $2",
		acct, key), app.ScanPriorPurchase)
}

// PurchaseItems implements app.PurchaseTx.
func (t Tx) PurchaseItems(ctx context.Context, id string) ([]licensing.LineItem, error) {
	rows, err := t.query(ctx, "SELECT "+app.LineItemColumns+" FROM purchase_items WHERE purchase_id = $1 ORDER BY line_no", id)
	return all(rows, err, app.ScanLineItem)
}

// PurchaseKeys implements app.PurchaseTx.
func (t Tx) PurchaseKeys(ctx context.Context, id string) ([]string, error) {
	rows, err := t.query(ctx, "SELECT key FROM licenses WHERE purchase_id = $1 ORDER BY id", id)
	return all(rows, err, app.ScanString)
}

// TrialUsed implements app.PurchaseTx.
func (t Tx) TrialUsed(ctx context.Context, acct int64, sku string) (bool, error) {
	return app.Value(one(t, t.queryRow(ctx, "SELECT EXISTS (SELECT 1 FROM trials WHERE account_id = $1 AND sku = $2)", acct, sku), app.ScanBool))
}
