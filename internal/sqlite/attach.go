package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/licensectl/licensectl/internal/app"
	"github.com/licensectl/licensectl/internal/licensing"
)

// attachWhere selects the target's licenses that are not (yet) the account's.
func attachWhere(t licensing.AttachTarget, acct int64) (string, []any) {
	if t.Key != "" {
		return "key = ? AND (account_id IS NULL OR account_id != ?)", []any{t.Key, acct}
	}
	return "purchase_id = ? AND (account_id IS NULL OR account_id != ?)", []any{t.PurchaseID, acct}
}

// LicensePurchase implements app.AttachTx.
func (t *tx) LicensePurchase(ctx context.Context, key string) (*licensing.AttachTarget, error) {
	return one(t.queryRow(ctx, "SELECT purchase_id, purchase_email FROM licenses WHERE key = ?", key),
		func(sc app.Scanner) (*licensing.AttachTarget, error) {
			r := licensing.AttachTarget{Key: key}
			return &r, sc.Scan(&r.PurchaseID, &r.Email)
		})
}

// PurchaseEmail implements app.AttachTx.
func (t *tx) PurchaseEmail(ctx context.Context, purchaseID string) (*licensing.AttachTarget, error) {
	return one(t.queryRow(ctx, "SELECT id, purchase_email FROM purchases WHERE id = ?", purchaseID),
		func(sc app.Scanner) (*licensing.AttachTarget, error) {
			var r licensing.AttachTarget
			return &r, sc.Scan(&r.PurchaseID, &r.Email)
		})
}

// AttachKeys implements app.AttachTx.
func (t *tx) AttachKeys(ctx context.Context, target licensing.AttachTarget, acct int64) ([]string, error) {
	where, args := attachWhere(target, acct)
	rows, err := t.query(ctx, "SELECT key FROM licenses WHERE "+where+" ORDER BY id", args...)
	return all(rows, err, app.ScanString)
}

// AttachSources implements app.AttachTx.
func (t *tx) AttachSources(ctx context.Context, target licensing.AttachTarget, acct int64) ([]app.AttachSource, error) {
	where, args := attachWhere(target, acct)
	rows, err := t.query(ctx, `SELECT a.id, a.email, count(*) FROM licenses JOIN accounts a ON a.id = licenses.account_id
		WHERE `+where+` GROUP BY a.id ORDER BY a.email`, args...)
	return all(rows, err, app.ScanAttachSource)
}

// MoveLicenses implements app.AttachTx.
func (t *tx) MoveLicenses(ctx context.Context, target licensing.AttachTarget, acct int64) error {
	where, args := attachWhere(target, acct)
	_, err := t.exec(ctx, "UPDATE licenses SET account_id = ?, company_id = NULL WHERE "+where, append([]any{acct}, args...)...)
	return err
}

// AttachRequestTimes implements app.AttachTx.
func (t *tx) AttachRequestTimes(ctx context.Context, w app.AttachRateWhere, since time.Time, n int) ([]time.Time, error) {
	column, value := "purchase_id", any(w.PurchaseID)
	if w.AccountID != 0 {
		column, value = "account_id", w.AccountID
	}
	rows, err := t.query(ctx, `SELECT requested_at FROM attach_requests
		WHERE `+column+` = ? AND requested_at > ? AND state != 'undelivered'
		ORDER BY requested_at DESC LIMIT ?`, value, since.Unix(), n)
	return all(rows, err, app.ScanUnixTime)
}

// AttachSecret implements app.AttachTx.
func (t *tx) AttachSecret(ctx context.Context) ([]byte, error) {
	var secret []byte
	err := t.queryRow(ctx, "SELECT secret FROM attach_secret WHERE id = 1").Scan(&secret)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	return secret, err
}

// InsertAttachSecret implements app.AttachTx.
func (t *tx) InsertAttachSecret(ctx context.Context, secret []byte) error {
	_, err := t.exec(ctx, "INSERT INTO attach_secret (id, secret) VALUES (1, ?)", secret)
	return err
}

// SupersedeAttachRequests implements app.AttachTx.
func (t *tx) SupersedeAttachRequests(ctx context.Context, acct int64, target licensing.AttachTarget, at time.Time) error {
	_, err := t.exec(ctx, `UPDATE attach_requests SET state = 'superseded', closed_at = ?
		WHERE account_id = ? AND purchase_id = ? AND license_key IS ? AND state = 'pending'`,
		at.Unix(), acct, target.PurchaseID, nullString(target.Key))
	return err
}

// InsertAttachRequest implements app.AttachTx.
func (t *tx) InsertAttachRequest(ctx context.Context, r app.NewAttachRequest) (int64, error) {
	res, err := t.exec(ctx, `INSERT INTO attach_requests (account_id, purchase_id, license_key, sent_to,
			code_hash, requested_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		r.AccountID, r.Target.PurchaseID, nullString(r.Target.Key), r.Target.Email, r.Hash, r.RequestedAt.Unix(), r.ExpiresAt.Unix())
	if err != nil {
		return 0, err
	}
	return res.LastInsertId()
}

// AttachRequests implements app.AttachTx. SQLite's one writer holds the
// whole store, so lock needs nothing more.
func (t *tx) AttachRequests(ctx context.Context, acct int64, since time.Time, _ app.Lock) ([]app.AttachRequestRow, error) {
	rows, err := t.query(ctx, `SELECT id, purchase_id, ifnull(license_key, ''), sent_to, code_hash, expires_at,
			ifnull(closed_at, 0), state, attempts
		FROM attach_requests WHERE account_id = ? AND requested_at > ? ORDER BY id`, acct, since.Unix())
	return all(rows, err, app.ScanAttachRequest)
}

// AddAttachAttempt implements app.AttachTx.
func (t *tx) AddAttachAttempt(ctx context.Context, id int64) (int, bool, error) {
	var n int
	err := t.queryRow(ctx, "UPDATE attach_requests SET attempts = attempts + 1 WHERE id = ? AND state = 'pending' RETURNING attempts", id).Scan(&n)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false, nil
	}
	return n, err == nil, err
}

// CloseAttachRequest implements app.AttachTx.
func (t *tx) CloseAttachRequest(ctx context.Context, id int64, state string, at time.Time) (bool, error) {
	return affected(t.exec(ctx, "UPDATE attach_requests SET state = ?, closed_at = ? WHERE id = ? AND state = 'pending'", state, at.Unix(), id))
}

// MarkAttachUndelivered implements app.AttachTx.
func (t *tx) MarkAttachUndelivered(ctx context.Context, id int64, at time.Time) error {
	_, err := t.exec(ctx, "UPDATE attach_requests SET state = 'undelivered', closed_at = ? WHERE id = ?", at.Unix(), id)
	return err
}
