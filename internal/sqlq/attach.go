package sqlq

import (
	"context"
	"time"

	"github.com/licensectl/licensectl/internal/app"
	"github.com/licensectl/licensectl/internal/licensing"
)

// args numbers query parameters as they are added.
type args []any

func (a *args) add(v any) string {
	*a = append(*a, v)
	return mark(len(*a))
}

// attachWhere selects the licenses of an attach target that acct does not
// own yet (never a revoked one: a refund took it back).
func attachWhere(t licensing.AttachTarget, a *args, acct int64) string {
	if t.Key != "" {
		return "key = " + a.add(t.Key) + " AND (account_id IS NULL OR account_id <> " + a.add(acct) + ") AND revoked_at IS NULL"
	}
	return "purchase_id = " + a.add(t.PurchaseID) + " AND (account_id IS NULL OR account_id <> " + a.add(acct) + ") AND revoked_at IS NULL"
}

// AddAttachAttempt implements app.AttachTx: an increment of the stored
// value, so two wrong codes at once are two attempts.
func (t Tx) AddAttachAttempt(ctx context.Context, id int64) (int, bool, error) {
	var n int
	err := t.queryRow(ctx, "UPDATE attach_requests SET attempts = attempts + 1 WHERE id = $1 AND state = 'pending' RETURNING attempts", id).Scan(&n)
	if t.c.NoRows(err) {
		return 0, false, nil
	}
	return n, err == nil, err
}

// AttachKeys implements app.AttachTx.
func (t Tx) AttachKeys(ctx context.Context, target licensing.AttachTarget, acct int64) ([]string, error) {
	var a args
	rows, err := t.query(ctx, "SELECT key FROM licenses WHERE "+attachWhere(target, &a, acct)+" ORDER BY id", a...)
	return all(rows, err, app.ScanString)
}

// AttachRequestTimes implements app.AttachTx. Two replicas that each count
// the other's window are SERIALIZABLE conflicts: one starts over and counts
// the other's row.
func (t Tx) AttachRequestTimes(ctx context.Context, w app.AttachRateWhere, since time.Time, n int) ([]time.Time, error) {
	column, value := "purchase_id", any(w.PurchaseID)
	if w.AccountID != 0 {
		column, value = "account_id", w.AccountID
	}
	rows, err := t.query(ctx, `SELECT requested_at FROM attach_requests
		WHERE `+column+` = $1 AND requested_at > $2 AND state <> 'undelivered'
		ORDER BY requested_at DESC LIMIT $3`, value, since.Unix(), n)
	return all(rows, err, app.ScanUnixTime)
}

// AttachSecret implements app.AttachTx.
func (t Tx) AttachSecret(ctx context.Context) ([]byte, error) {
	var secret []byte
	err := t.queryRow(ctx, "SELECT secret FROM attach_secret WHERE id = 1").Scan(&secret)
	if t.c.NoRows(err) {
		return nil, nil
	}
	return secret, err
}

// AttachSources implements app.AttachTx.
func (t Tx) AttachSources(ctx context.Context, target licensing.AttachTarget, acct int64) ([]app.AttachSource, error) {
	var a args
	rows, err := t.query(ctx, `SELECT a.id, a.email, count(*) FROM licenses JOIN accounts a ON a.id = licenses.account_id
		WHERE `+attachWhere(target, &a, acct)+` GROUP BY a.id, a.email ORDER BY a.email`, a...)
	return all(rows, err, app.ScanAttachSource)
}

// CloseAttachRequest implements app.AttachTx.
func (t Tx) CloseAttachRequest(ctx context.Context, id int64, state string, at time.Time) (bool, error) {
	return affected(t.exec(ctx, "UPDATE attach_requests SET state = $1, closed_at = $2 WHERE id = $3 AND state = 'pending'", state, at.Unix(), id))
}

// InsertAttachSecret implements app.AttachTx. Of two replicas that make the
// secret at once, the second's insert fails on the key and its rerun reads
// the first one's.
func (t Tx) InsertAttachSecret(ctx context.Context, secret []byte) error {
	_, err := t.exec(ctx, "INSERT INTO attach_secret (id, secret) VALUES (1, $1)", secret)
	return err
}

// LicensePurchase implements app.AttachTx.
func (t Tx) LicensePurchase(ctx context.Context, key string) (*licensing.AttachTarget, error) {
	return one(t, t.queryRow(ctx, "SELECT purchase_id, purchase_email FROM licenses WHERE key = $1", key),
		func(sc app.Scanner) (*licensing.AttachTarget, error) {
			r := licensing.AttachTarget{Key: key}
			return &r, sc.Scan(&r.PurchaseID, &r.Email)
		})
}

// MarkAttachUndelivered implements app.AttachTx.
func (t Tx) MarkAttachUndelivered(ctx context.Context, id int64, at time.Time) error {
	_, err := t.exec(ctx, "UPDATE attach_requests SET state = 'undelivered', closed_at = $1 WHERE id = $2", at.Unix(), id)
	return err
}

// MoveLicenses implements app.AttachTx.
func (t Tx) MoveLicenses(ctx context.Context, target licensing.AttachTarget, acct int64) error {
	a := args{acct}
	_, err := t.exec(ctx, "UPDATE licenses SET account_id = $1, company_id = NULL WHERE "+attachWhere(target, &a, acct), a...)
	return err
}

// PurchaseEmail implements app.AttachTx.
func (t Tx) PurchaseEmail(ctx context.Context, purchaseID string) (*licensing.AttachTarget, error) {
	return one(t, t.queryRow(ctx, "SELECT id, purchase_email FROM purchases WHERE id = $1", purchaseID),
		func(sc app.Scanner) (*licensing.AttachTarget, error) {
			var r licensing.AttachTarget
			return &r, sc.Scan(&r.PurchaseID, &r.Email)
		})
}

// SupersedeAttachRequests implements app.AttachTx.
func (t Tx) SupersedeAttachRequests(ctx context.Context, acct int64, target licensing.AttachTarget, at time.Time) error {
	_, err := t.exec(ctx, `UPDATE attach_requests SET state = 'superseded', closed_at = $1
		WHERE account_id = $2 AND purchase_id = $3 AND license_key IS NOT DISTINCT FROM $4 AND state = 'pending'`,
		at.Unix(), acct, target.PurchaseID, nullString(target.Key))
	return err
}

// AttachRequests implements app.AttachTx. ForUpdate locks the rows:
// confirmations of one account queue up, and each sees the attempts and
// states the one before it left.
func (t Tx) AttachRequests(ctx context.Context, acct int64, since time.Time, lock app.Lock) ([]app.AttachRequestRow, error) {
	query := `SELECT id, purchase_id, coalesce(license_key, ''), sent_to, code_hash, expires_at,
			coalesce(closed_at, 0), state, attempts
		FROM attach_requests WHERE account_id = $1 AND requested_at > $2 ORDER BY id`
	query += t.lock(lock, " FOR UPDATE")
	rows, err := t.query(ctx, query, acct, since.Unix())
	return all(rows, err, app.ScanAttachRequest)
}

// InsertAttachRequest implements app.AttachTx.
func (t Tx) InsertAttachRequest(ctx context.Context, r app.NewAttachRequest) (int64, error) {
	var id int64
	err := t.queryRow(ctx, `INSERT INTO attach_requests (account_id, purchase_id, license_key, sent_to,
			code_hash, requested_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`,
		r.AccountID, r.Target.PurchaseID, nullString(r.Target.Key), r.Target.Email, r.Hash, r.RequestedAt.Unix(), r.ExpiresAt.Unix()).Scan(&id)
	return id, err
}
