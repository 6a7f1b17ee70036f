package sqlq

import (
	"context"
	"time"

	"github.com/licensectl/licensectl/internal/app"
	"github.com/licensectl/licensectl/internal/licensing"
)

// activationSelect reads an app.ActivationRecord (app.ScanActivation).
const activationSelect = `SELECT a.id, l.key, l.product, a.machine, a.fingerprint, a.os, a.version, a.mode,
	l.allow_rm, a.activated_at, a.last_seen_at, a.license_id, a.nonce, a.machine_key, a.lease_seconds, a.lease_expires_at,
	l.account_id FROM activations a JOIN licenses l ON l.id = a.license_id`

// seatLicenseSelect reads an app.SeatLicense (app.ScanSeatLicense).
const seatLicenseSelect = `SELECT l.id, l.key, l.product, l.kind, l.term, l.expires_at, l.maintenance_till,
			l.created_at, l.allow_rm, l.seats, l.seats_used, l.suspended, p.edition, p.platforms, l.past_due_since
		FROM licenses l JOIN products p ON p.sku = l.product`

// CurrentSigningKey implements app.SigningKeyTx.
func (t Tx) CurrentSigningKey(ctx context.Context) (*app.SigningKeyRow, error) {
	var k app.SigningKeyRow
	err := t.queryRow(ctx, "SELECT id, private_key FROM signing_keys WHERE retired_at IS NULL").Scan(&k.ID, &k.Seed)
	if t.c.NoRows(err) {
		return nil, nil
	}
	return &k, err
}

// CountActivations implements app.ActivationTx.
func (t Tx) CountActivations(ctx context.Context) (map[string]int64, error) {
	rows, err := t.query(ctx, "SELECT mode, count(*) FROM activations GROUP BY mode")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	counts := map[string]int64{}
	for rows.Next() {
		var mode string
		var n int64
		if err := rows.Scan(&mode, &n); err != nil {
			return nil, err
		}
		counts[mode] = n
	}
	return counts, rows.Err()
}

// DeleteActivation implements app.ActivationTx.
func (t Tx) DeleteActivation(ctx context.Context, id int64) (bool, error) {
	return affected(t.exec(ctx, "DELETE FROM activations WHERE id = $1", id))
}

// FindActivation implements app.ActivationTx.
func (t Tx) FindActivation(ctx context.Context, acct int64, w app.ActivationWhere) (*app.ActivationRecord, error) {
	if w.ID != 0 {
		return one(t, t.queryRow(ctx, activationSelect+" WHERE l.account_id = $1 AND a.id = $2", acct, w.ID), app.ScanActivation)
	}
	return one(t, t.queryRow(ctx, activationSelect+" WHERE l.account_id = $1 AND l.key = $2 AND a.fingerprint = $3",
		acct, w.LicenseKey, w.Fingerprint), app.ScanActivation)
}

// FreeSeat implements app.ActivationTx.
func (t Tx) FreeSeat(ctx context.Context, licenseID int64) error {
	_, err := t.exec(ctx, "UPDATE licenses SET seats_used = seats_used - 1 WHERE id = $1 AND seats_used > 0", licenseID)
	return err
}

// InsertSigningKey implements app.SigningKeyTx.
func (t Tx) InsertSigningKey(ctx context.Context, k app.SigningKeyRow) error {
	_, err := t.exec(ctx, "INSERT INTO signing_keys (id, private_key, public_key, created_at) VALUES ($1, $2, $3, $4)",
		k.ID, k.Seed, k.PublicKey, k.CreatedAt.Unix())
	return err
}

// InsertUsedProof implements app.ActivationTx. Two replicas given the same
// proof collide on used_proofs' key, and the loser's rerun finds it used.
func (t Tx) InsertUsedProof(ctx context.Context, nonce string, at time.Time) error {
	_, err := t.exec(ctx, "INSERT INTO used_proofs (nonce, used_at) VALUES ($1, $2)", nonce, at.Unix())
	return err
}

// LicenseActivation implements app.ActivationTx.
func (t Tx) LicenseActivation(ctx context.Context, licenseID int64, fingerprint string) (*app.ActivationRecord, error) {
	return one(t, t.queryRow(ctx, activationSelect+" WHERE a.license_id = $1 AND a.fingerprint = $2", licenseID, fingerprint), app.ScanActivation)
}

// ProofUsed implements app.ActivationTx.
func (t Tx) ProofUsed(ctx context.Context, nonce string) (bool, error) {
	var used bool
	err := t.queryRow(ctx, "SELECT EXISTS (SELECT 1 FROM used_proofs WHERE nonce = $1)", nonce).Scan(&used)
	return used, err
}

// RefreshActivation implements app.ActivationTx.
func (t Tx) RefreshActivation(ctx context.Context, id int64, a app.NewActivation) error {
	_, err := t.exec(ctx, `UPDATE activations SET machine = $1, os = $2, version = $3, last_seen_at = $4,
			mode = CASE WHEN CAST($5 AS TEXT) = 'offline' THEN 'offline' ELSE mode END,
			nonce = coalesce($6, nonce), machine_key = coalesce($7, machine_key), machine_folded = $9,
			lease_seconds = $10, lease_expires_at = $11 WHERE id = $8`,
		a.Machine, a.OS, a.Version, a.At.Unix(), a.Mode, nullString(a.Nonce), nullBytes(a.MachineKey), id, a.MachineFolded,
		nullID(a.LeaseSeconds), unixOrNull(a.LeaseExpiresAt))
	return err
}

// ExpiredLeases implements app.ActivationTx.
func (t Tx) ExpiredLeases(ctx context.Context, w app.LeaseWhere, now time.Time, limit int) ([]app.ActivationRecord, error) {
	var a args
	where := " WHERE a.lease_expires_at <= " + a.add(now.Unix())
	if w.LicenseID != 0 {
		where += " AND a.license_id = " + a.add(w.LicenseID)
	}
	rows, err := t.query(ctx, activationSelect+where+" ORDER BY a.lease_expires_at, a.id LIMIT "+a.add(limit), a...)
	return all(rows, err, app.ScanActivation)
}

// ExtendLease implements app.ActivationTx.
func (t Tx) ExtendLease(ctx context.Context, id int64, expires, at time.Time) error {
	_, err := t.exec(ctx, "UPDATE activations SET lease_expires_at = $1, last_seen_at = $2 WHERE id = $3", expires.Unix(), at.Unix(), id)
	return err
}

// PoolLicenses implements app.ActivationTx.
func (t Tx) PoolLicenses(ctx context.Context, acct int64, product string, companyID int64, lock app.Lock) ([]app.SeatLicense, error) {
	var a args
	query := seatLicenseSelect + " WHERE l.account_id = " + a.add(acct) + " AND l.product = " + a.add(product)
	if companyID != 0 {
		query += " AND l.company_id = " + a.add(companyID)
	} else {
		query += " AND l.company_id IS NULL"
	}
	rows, err := t.query(ctx, query+" ORDER BY l.id"+t.lock(lock, " FOR UPDATE OF l"), a...)
	return all(rows, err, app.ScanSeatLicense)
}

// RetireSigningKey implements app.SigningKeyTx.
func (t Tx) RetireSigningKey(ctx context.Context, at time.Time) (string, error) {
	var id string
	err := t.queryRow(ctx, "UPDATE signing_keys SET retired_at = $1 WHERE retired_at IS NULL RETURNING id", at.Unix()).Scan(&id)
	if t.c.NoRows(err) {
		return "", nil
	}
	return id, err
}

// SigningKeys implements app.SigningKeyTx.
func (t Tx) SigningKeys(ctx context.Context) ([]licensing.SigningKey, error) {
	rows, err := t.query(ctx, `SELECT id, public_key, created_at, retired_at FROM signing_keys
		ORDER BY retired_at IS NOT NULL, created_at DESC, id`)
	return all(rows, err, app.ScanSigningKey)
}

// TakeSeat implements app.ActivationTx.
func (t Tx) TakeSeat(ctx context.Context, licenseID int64) (bool, error) {
	return affected(t.exec(ctx, "UPDATE licenses SET seats_used = seats_used + 1 WHERE id = $1 AND seats_used < seats", licenseID))
}

// TouchActivation implements app.ActivationTx; a later time recorded
// meanwhile (a heartbeat, a refresh) is kept.
func (t Tx) TouchActivation(ctx context.Context, id int64, at time.Time) error {
	_, err := t.exec(ctx, "UPDATE activations SET last_seen_at = $1 WHERE id = $2 AND last_seen_at < $1", at.Unix(), id)
	return err
}

// InsertActivation implements app.ActivationTx.
func (t Tx) InsertActivation(ctx context.Context, a app.NewActivation) (int64, error) {
	var id int64
	err := t.queryRow(ctx, `INSERT INTO activations (license_id, machine, machine_folded, fingerprint, os, version, mode,
			nonce, machine_key, activated_at, last_seen_at, lease_seconds, lease_expires_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id`,
		a.LicenseID, a.Machine, a.MachineFolded, a.Fingerprint, a.OS, a.Version, a.Mode, nullString(a.Nonce), nullBytes(a.MachineKey),
		a.At.Unix(), a.At.Unix(), nullID(a.LeaseSeconds), unixOrNull(a.LeaseExpiresAt)).Scan(&id)
	return id, err
}

// ListActivations implements app.ActivationTx.
func (t Tx) ListActivations(ctx context.Context, acct int64, f licensing.ActivationFilter, now time.Time) ([]licensing.Activation, error) {
	var a args
	where := " WHERE l.account_id = " + a.add(acct)
	where += " AND (a.lease_expires_at IS NULL OR a.lease_expires_at > " + a.add(now.Unix()) + ")"
	if f.Stale > 0 {
		where += " AND a.last_seen_at <= " + a.add(now.Add(-f.Stale).Unix())
	}
	if f.LicenseKey != "" {
		where += " AND l.key = " + a.add(f.LicenseKey)
	}
	if f.Machine != "" {
		where += " AND a.machine_folded = " + a.add(f.Machine)
	}
	if f.Offline {
		where += " AND a.mode = 'offline'"
	}
	rows, err := t.query(ctx, activationSelect+where+" ORDER BY a.id", a...)
	recs, err := all(rows, err, app.ScanActivation)
	return app.Activations(recs), err
}

// SeatLicense implements app.ActivationTx. ForUpdate takes the license's row
// lock, so that transactions changing its seats queue up rather than all
// fail at commit.
func (t Tx) SeatLicense(ctx context.Context, acct int64, key string, lock app.Lock) (*app.SeatLicense, error) {
	query := seatLicenseSelect + ` WHERE l.account_id = $1 AND l.key = $2` + t.lock(lock, " FOR UPDATE OF l")
	return one(t, t.queryRow(ctx, query, acct, key), app.ScanSeatLicense)
}
