package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/licensectl/licensectl/internal/app"
	"github.com/licensectl/licensectl/internal/licensing"
)

// SeatLicense implements app.ActivationTx. SQLite's one writer holds the
// whole store, so lock needs nothing more.
func (t *tx) SeatLicense(ctx context.Context, acct int64, key string, _ app.Lock) (*app.SeatLicense, error) {
	return one(t.queryRow(ctx, `SELECT l.id, l.key, l.product, l.kind, l.term, l.expires_at, l.maintenance_till,
			l.created_at, l.allow_rm, l.seats, l.seats_used, l.suspended, p.edition, p.platforms
		FROM licenses l JOIN products p ON p.sku = l.product WHERE l.account_id = ? AND l.key = ?`, acct, key), app.ScanSeatLicense)
}

const activationSelect = `SELECT a.id, l.key, l.product, a.machine, a.fingerprint, a.os, a.version, a.mode,
	l.allow_rm, a.activated_at, a.last_seen_at, a.license_id, a.nonce, a.machine_key
	FROM activations a JOIN licenses l ON l.id = a.license_id`

// FindActivation implements app.ActivationTx.
func (t *tx) FindActivation(ctx context.Context, acct int64, w app.ActivationWhere) (*app.ActivationRecord, error) {
	if w.ID != 0 {
		return one(t.queryRow(ctx, activationSelect+" WHERE l.account_id = ? AND a.id = ?", acct, w.ID), app.ScanActivation)
	}
	return one(t.queryRow(ctx, activationSelect+" WHERE l.account_id = ? AND l.key = ? AND a.fingerprint = ?",
		acct, w.LicenseKey, w.Fingerprint), app.ScanActivation)
}

// LicenseActivation implements app.ActivationTx.
func (t *tx) LicenseActivation(ctx context.Context, licenseID int64, fingerprint string) (*app.ActivationRecord, error) {
	return one(t.queryRow(ctx, activationSelect+" WHERE a.license_id = ? AND a.fingerprint = ?", licenseID, fingerprint), app.ScanActivation)
}

func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func nullBytes(b []byte) any {
	if b == nil {
		return nil
	}
	return b
}

// InsertActivation implements app.ActivationTx.
func (t *tx) InsertActivation(ctx context.Context, a app.NewActivation) (int64, error) {
	res, err := t.exec(ctx, `INSERT INTO activations (license_id, machine, machine_folded, fingerprint, os, version, mode,
			nonce, machine_key, activated_at, last_seen_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		a.LicenseID, a.Machine, a.MachineFolded, a.Fingerprint, a.OS, a.Version, a.Mode, nullString(a.Nonce), nullBytes(a.MachineKey), a.At.Unix(), a.At.Unix())
	if err != nil {
		return 0, err
	}
	return res.LastInsertId()
}

// RefreshActivation implements app.ActivationTx.
func (t *tx) RefreshActivation(ctx context.Context, id int64, a app.NewActivation) error {
	_, err := t.exec(ctx, `UPDATE activations SET machine = ?1, os = ?2, version = ?3, last_seen_at = ?4,
			mode = CASE WHEN ?5 = 'offline' THEN 'offline' ELSE mode END,
			nonce = coalesce(?6, nonce), machine_key = coalesce(?7, machine_key), machine_folded = ?9 WHERE id = ?8`,
		a.Machine, a.OS, a.Version, a.At.Unix(), a.Mode, nullString(a.Nonce), nullBytes(a.MachineKey), id, a.MachineFolded)
	return err
}

// DeleteActivation implements app.ActivationTx.
func (t *tx) DeleteActivation(ctx context.Context, id int64) (bool, error) {
	return affected(t.exec(ctx, "DELETE FROM activations WHERE id = ?", id))
}

// TakeSeat implements app.ActivationTx.
func (t *tx) TakeSeat(ctx context.Context, licenseID int64) (bool, error) {
	return affected(t.exec(ctx, "UPDATE licenses SET seats_used = seats_used + 1 WHERE id = ? AND seats_used < seats", licenseID))
}

// FreeSeat implements app.ActivationTx.
func (t *tx) FreeSeat(ctx context.Context, licenseID int64) error {
	_, err := t.exec(ctx, "UPDATE licenses SET seats_used = seats_used - 1 WHERE id = ? AND seats_used > 0", licenseID)
	return err
}

// ListActivations implements app.ActivationTx.
func (t *tx) ListActivations(ctx context.Context, acct int64, f licensing.ActivationFilter) ([]licensing.Activation, error) {
	where, args := " WHERE l.account_id = ?", []any{acct}
	if f.LicenseKey != "" {
		where, args = where+" AND l.key = ?", append(args, f.LicenseKey)
	}
	if f.Machine != "" {
		where, args = where+" AND a.machine_folded = ?", append(args, f.Machine)
	}
	if f.Offline {
		where += " AND a.mode = 'offline'"
	}
	rows, err := t.query(ctx, activationSelect+where+" ORDER BY a.id", args...)
	recs, err := all(rows, err, app.ScanActivation)
	return app.Activations(recs), err
}

// TouchActivation implements app.ActivationTx.
func (t *tx) TouchActivation(ctx context.Context, id int64, at time.Time) error {
	_, err := t.exec(ctx, "UPDATE activations SET last_seen_at = ? WHERE id = ?", at.Unix(), id)
	return err
}

// Builds implements app.ActivationTx.
func (t *tx) Builds(ctx context.Context, product, os string) ([]licensing.Build, error) {
	return productBuilds(ctx, t.tx, product, os)
}

func productBuilds(ctx context.Context, q queryer, product, os string) ([]licensing.Build, error) {
	rows, err := q.QueryContext(ctx, `SELECT product, os, version, package, url, released_at FROM builds
		WHERE product = ?1 AND (?2 = '' OR os = ?2)`, product, os)
	return all(rows, err, app.ScanBuild)
}

// ProofUsed implements app.ActivationTx.
func (t *tx) ProofUsed(ctx context.Context, nonce string) (bool, error) {
	var used bool
	err := t.queryRow(ctx, "SELECT EXISTS (SELECT 1 FROM used_proofs WHERE nonce = ?)", nonce).Scan(&used)
	return used, err
}

// InsertUsedProof implements app.ActivationTx.
func (t *tx) InsertUsedProof(ctx context.Context, nonce string, at time.Time) error {
	_, err := t.exec(ctx, "INSERT INTO used_proofs (nonce, used_at) VALUES (?, ?)", nonce, at.Unix())
	return err
}

// CurrentSigningKey implements app.SigningKeyTx.
func (t *tx) CurrentSigningKey(ctx context.Context) (*app.SigningKeyRow, error) {
	var k app.SigningKeyRow
	err := t.queryRow(ctx, "SELECT id, private_key FROM signing_keys WHERE retired_at IS NULL").Scan(&k.ID, &k.Seed)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	return &k, err
}

// InsertSigningKey implements app.SigningKeyTx.
func (t *tx) InsertSigningKey(ctx context.Context, k app.SigningKeyRow) error {
	_, err := t.exec(ctx, "INSERT INTO signing_keys (id, private_key, public_key, created_at) VALUES (?, ?, ?, ?)",
		k.ID, k.Seed, k.PublicKey, k.CreatedAt.Unix())
	return err
}

// RetireSigningKey implements app.SigningKeyTx.
func (t *tx) RetireSigningKey(ctx context.Context, at time.Time) (string, error) {
	var id string
	err := t.queryRow(ctx, "UPDATE signing_keys SET retired_at = ? WHERE retired_at IS NULL RETURNING id", at.Unix()).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return id, err
}

// SigningKeys implements app.SigningKeyTx.
func (t *tx) SigningKeys(ctx context.Context) ([]licensing.SigningKey, error) {
	rows, err := t.query(ctx, `SELECT id, public_key, created_at, retired_at FROM signing_keys
		ORDER BY retired_at IS NOT NULL, created_at DESC, id`)
	return all(rows, err, app.ScanSigningKey)
}
