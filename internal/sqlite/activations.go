package sqlite

import (
	"context"

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

// Builds implements app.ActivationTx.
func (t *tx) Builds(ctx context.Context, product, os string) ([]licensing.Build, error) {
	return productBuilds(ctx, t.tx, product, os)
}

func productBuilds(ctx context.Context, q queryer, product, os string) ([]licensing.Build, error) {
	rows, err := q.QueryContext(ctx, `SELECT product, os, version, package, url, released_at FROM builds
		WHERE product = ?1 AND (?2 = '' OR os = ?2)`, product, os)
	return all(rows, err, app.ScanBuild)
}
