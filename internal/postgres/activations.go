package postgres

import (
	"context"

	"github.com/licensectl/licensectl/internal/app"
	"github.com/licensectl/licensectl/internal/licensing"
)

// SeatLicense implements app.ActivationTx. ForUpdate takes the license's row
// lock, so that transactions changing its seats queue up rather than all
// fail at commit.
func (t *tx) SeatLicense(ctx context.Context, acct int64, key string, lock app.Lock) (*app.SeatLicense, error) {
	query := `SELECT l.id, l.key, l.product, l.kind, l.term, l.expires_at, l.maintenance_till,
			l.created_at, l.allow_rm, l.seats, l.seats_used, l.suspended, p.edition, p.platforms
		FROM licenses l JOIN products p ON p.sku = l.product WHERE l.account_id = $1 AND l.key = $2`
	if lock {
		query += " FOR UPDATE OF l"
	}
	return one(t.queryRow(ctx, query, acct, key), app.ScanSeatLicense)
}

const activationSelect = `SELECT a.id, l.key, l.product, a.machine, a.fingerprint, a.os, a.version, a.mode,
	l.allow_rm, a.activated_at, a.last_seen_at, a.license_id, a.nonce, a.machine_key
	FROM activations a JOIN licenses l ON l.id = a.license_id`

func nullString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// InsertActivation implements app.ActivationTx.
func (t *tx) InsertActivation(ctx context.Context, a app.NewActivation) (int64, error) {
	var id int64
	err := t.queryRow(ctx, `INSERT INTO activations (license_id, machine, machine_folded, fingerprint, os, version, mode,
			nonce, machine_key, activated_at, last_seen_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id`,
		a.LicenseID, a.Machine, a.MachineFolded, a.Fingerprint, a.OS, a.Version, a.Mode, nullString(a.Nonce), a.MachineKey, a.At.Unix(), a.At.Unix()).Scan(&id)
	return id, err
}

// ListActivations implements app.ActivationTx.
func (t *tx) ListActivations(ctx context.Context, acct int64, f licensing.ActivationFilter) ([]licensing.Activation, error) {
	var a args
	where := " WHERE l.account_id = " + a.add(acct)
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

// Builds implements app.ActivationTx.
func (t *tx) Builds(ctx context.Context, product, os string) ([]licensing.Build, error) {
	rows, err := t.query(ctx, `SELECT product, os, version, package, url, released_at FROM builds
		WHERE product = $1 AND ($2 = '' OR os = $2)`, product, os)
	return all(rows, err, app.ScanBuild)
}
