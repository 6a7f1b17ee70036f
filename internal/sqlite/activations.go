package sqlite

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/licensectl/licensectl/internal/licensing"
	"github.com/licensectl/licensectl/internal/offline"
)

var _ licensing.ActivationService = (*Store)(nil)

// seatLicense is a license as the activation rules see it.
type seatLicense struct {
	id        int64
	lic       licensing.License
	suspended bool
	edition   string
	platforms []string
}

func (l *seatLicense) seat() licensing.Seat {
	return licensing.Seat{Key: l.lic.Key, Kind: l.lic.Kind, ExpiresAt: l.lic.ExpiresAt, Suspended: l.suspended,
		Seats: l.lic.Seats, SeatsUsed: l.lic.SeatsUsed, Edition: l.edition, Platforms: l.platforms}
}

func unixOrNil(n sql.NullInt64) *time.Time {
	if !n.Valid {
		return nil
	}
	t := unixTime(n.Int64)
	return &t
}

// loadSeatLicense reads one of the account's licenses; another account's key
// answers as an unknown one.
func loadSeatLicense(ctx context.Context, q queryer, acct int64, key string) (*seatLicense, error) {
	var (
		l                 seatLicense
		expires, maintain sql.NullInt64
		created           int64
		platforms         string
	)
	err := q.QueryRowContext(ctx, `SELECT l.id, l.key, l.product, l.kind, l.term, l.expires_at, l.maintenance_till,
			l.created_at, l.allow_rm, l.seats, l.seats_used, l.suspended, p.edition, p.platforms
		FROM licenses l JOIN products p ON p.sku = l.product WHERE l.account_id = ? AND l.key = ?`, acct, key).
		Scan(&l.id, &l.lic.Key, &l.lic.Product, &l.lic.Kind, &l.lic.Term, &expires, &maintain,
			&created, &l.lic.AllowRM, &l.lic.Seats, &l.lic.SeatsUsed, &l.suspended, &l.edition, &platforms)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, licenseNotFound(key)
	} else if err != nil {
		return nil, err
	}
	l.lic.ExpiresAt, l.lic.MaintenanceTill = unixOrNil(expires), unixOrNil(maintain)
	l.lic.CreatedAt = unixTime(created)
	l.platforms = splitList(platforms)
	return &l, nil
}

func licenseSuspended(ctx context.Context, q queryer, id int64) (bool, error) {
	var b bool
	err := q.QueryRowContext(ctx, "SELECT suspended FROM licenses WHERE id = ?", id).Scan(&b)
	return b, err
}

const activationSelect = `SELECT a.id, l.key, l.product, a.machine, a.fingerprint, a.os, a.version, a.mode,
	l.allow_rm, a.activated_at, a.last_seen_at FROM activations a JOIN licenses l ON l.id = a.license_id`

func scanActivation(sc interface{ Scan(...any) error }) (*licensing.Activation, error) {
	var (
		a               licensing.Activation
		allowRM         bool
		activated, seen int64
	)
	if err := sc.Scan(&a.ID, &a.LicenseKey, &a.Product, &a.Machine, &a.Fingerprint, &a.OS, &a.Version, &a.Mode,
		&allowRM, &activated, &seen); err != nil {
		return nil, err
	}
	a.RM = licensing.RMState(allowRM, a.Version)
	a.ActivatedAt, a.LastSeenAt = unixTime(activated), unixTime(seen)
	return &a, nil
}

func readActivation(ctx context.Context, q queryer, id int64) (*licensing.Activation, error) {
	return scanActivation(q.QueryRowContext(ctx, activationSelect+" WHERE a.id = ?", id))
}

// activationOf finds the license's activation of a fingerprint; nil if none.
func activationOf(ctx context.Context, q queryer, licenseID int64, fingerprint string) (*licensing.Activation, error) {
	a, err := scanActivation(q.QueryRowContext(ctx, activationSelect+" WHERE a.license_id = ? AND a.fingerprint = ?", licenseID, fingerprint))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	return a, err
}

// machineKey is what an offline activation records besides the machine.
type machineKey struct {
	nonce string
	key   ed25519.PublicKey
}

// activate takes a seat in the caller's transaction, or refreshes the
// machine's existing activation. Every seat change is in this one
// transaction, which BEGIN IMMEDIATE serialises against every other writer -
// in this process or another - so two machines can never both get the last seat.
func (s *Store) activate(ctx context.Context, tx *sql.Tx, acct int64, email string, l *seatLicense,
	r licensing.ActivationRequest, mk *machineKey) (*licensing.Activation, error) {
	now := s.now()
	mode := licensing.ModeOnline
	var nonce, key any
	if mk != nil {
		mode, nonce, key = licensing.ModeOffline, mk.nonce, []byte(mk.key)
	}
	existing, err := activationOf(ctx, tx, l.id, r.Fingerprint)
	if err != nil {
		return nil, err
	}
	if existing != nil {
		// The same machine again: no new seat, but the license must still allow it.
		seat := l.seat()
		seat.SeatsUsed = 0
		if err := licensing.CheckActivation(seat, r.OS, now); err != nil {
			return nil, err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE activations SET machine = ?1, os = ?2, version = ?3, last_seen_at = ?4,
				mode = CASE WHEN ?5 = 'offline' THEN 'offline' ELSE mode END,
				nonce = coalesce(?6, nonce), machine_key = coalesce(?7, machine_key), machine_folded = ?9 WHERE id = ?8`,
			r.Machine, r.OS, r.Version, now.Unix(), mode, nonce, key, existing.ID, licensing.FoldName(r.Machine)); err != nil {
			return nil, err
		}
		if mk != nil {
			if err := audit(ctx, tx, acct, now, email, "activation.renew", l.lic.Key,
				map[string]any{"id": existing.ID, "machine": r.Machine, "fingerprint": r.Fingerprint, "mode": mode}); err != nil {
				return nil, err
			}
		}
		a, err := readActivation(ctx, tx, existing.ID)
		if err != nil {
			return nil, err
		}
		a.Existing = true
		return a, nil
	}
	if err := licensing.CheckActivation(l.seat(), r.OS, now); err != nil {
		return nil, err
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO activations (license_id, machine, machine_folded, fingerprint, os, version, mode,
			nonce, machine_key, activated_at, last_seen_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		l.id, r.Machine, licensing.FoldName(r.Machine), r.Fingerprint, r.OS, r.Version, mode, nonce, key, now.Unix(), now.Unix())
	if err != nil {
		return nil, err
	}
	id, err := res.LastInsertId()
	if err != nil {
		return nil, err
	}
	// The guard repeats the seat rule in SQL: the count can never pass the seats.
	res, err = tx.ExecContext(ctx, "UPDATE licenses SET seats_used = seats_used + 1 WHERE id = ? AND seats_used < seats", l.id)
	if err != nil {
		return nil, err
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return nil, licensing.Errorf(licensing.ECONFLICT, "no free seat on license %s", l.lic.Key)
	}
	if err := audit(ctx, tx, acct, now, email, "activation.create", l.lic.Key, map[string]any{"id": id,
		"machine": r.Machine, "fingerprint": r.Fingerprint, "os": r.OS, "version": r.Version, "mode": mode}); err != nil {
		return nil, err
	}
	return readActivation(ctx, tx, id)
}

// Activate takes a seat of a license for a machine.
func (s *Store) Activate(ctx context.Context, r licensing.ActivationRequest) (*licensing.Activation, error) {
	key, err := parseKey(r.LicenseKey)
	if err != nil {
		return nil, err
	}
	if err := r.Normalize(); err != nil {
		return nil, err
	}
	var out *licensing.Activation
	err = s.write(ctx, func(tx *sql.Tx) error {
		acct, email, err := actingAccount(ctx, tx)
		if err != nil {
			return err
		}
		l, err := loadSeatLicense(ctx, tx, acct, key)
		if err != nil {
			return err
		}
		out, err = s.activate(ctx, tx, acct, email, l, r, nil)
		return err
	})
	return out, err
}

// release frees an activation's seat in the caller's transaction.
func (s *Store) release(ctx context.Context, tx *sql.Tx, acct int64, email string, a *licensing.Activation, how string) error {
	res, err := tx.ExecContext(ctx, "DELETE FROM activations WHERE id = ?", a.ID)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return licensing.Errorf(licensing.ENOTFOUND, "no activation %d", a.ID)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE licenses SET seats_used = seats_used - 1
			WHERE key = ? AND seats_used > 0`, a.LicenseKey); err != nil {
		return err
	}
	return audit(ctx, tx, acct, s.now(), email, "activation.delete", a.LicenseKey, map[string]any{"id": a.ID,
		"machine": a.Machine, "fingerprint": a.Fingerprint, "mode": a.Mode, "released_by": how})
}

// Deactivate releases an activation. An offline one needs the machine's
// proof (ReleaseOffline) unless forced, which the audit log records.
func (s *Store) Deactivate(ctx context.Context, r licensing.DeactivateRequest) (*licensing.Activation, error) {
	var key string
	if r.ID == 0 {
		k, err := parseKey(r.LicenseKey)
		if err != nil {
			return nil, err
		}
		if r.Fingerprint == "" {
			return nil, licensing.Errorf(licensing.EINVALID, "name the activation by id, or by license key and fingerprint")
		}
		key = k
	}
	var out *licensing.Activation
	err := s.write(ctx, func(tx *sql.Tx) error {
		acct, email, err := actingAccount(ctx, tx)
		if err != nil {
			return err
		}
		var a *licensing.Activation
		if r.ID != 0 {
			a, err = scanActivation(tx.QueryRowContext(ctx, activationSelect+" WHERE l.account_id = ? AND a.id = ?", acct, r.ID))
			if errors.Is(err, sql.ErrNoRows) {
				return licensing.Errorf(licensing.ENOTFOUND, "no activation %d", r.ID).
					WithHint("see `licensectl activations list`")
			}
		} else {
			a, err = scanActivation(tx.QueryRowContext(ctx, activationSelect+" WHERE l.account_id = ? AND l.key = ? AND a.fingerprint = ?", acct, key, r.Fingerprint))
			if errors.Is(err, sql.ErrNoRows) {
				return licensing.Errorf(licensing.ENOTFOUND, "license %s has no activation for fingerprint %q", key, r.Fingerprint).
					WithHint("see `licensectl activations list --license %s`", key)
			}
		}
		if err != nil {
			return err
		}
		how := "operator"
		if a.Mode == licensing.ModeOffline {
			if !r.Force {
				return licensing.Errorf(licensing.ECONFLICT, "activation %d is offline: its machine releases it with a signed deactivation proof", a.ID).
					WithHint("run `licensectl activations offline release PROOF` with the machine's proof, or pass --force for a lost machine")
			}
			how = "forced"
		}
		out = a
		return s.release(ctx, tx, acct, email, a, how)
	})
	return out, err
}

// ListActivations lists the account's current activations, oldest first.
func (s *Store) ListActivations(ctx context.Context, f licensing.ActivationFilter) ([]licensing.Activation, error) {
	acct, _, err := actingAccount(ctx, s.r)
	if err != nil {
		return nil, err
	}
	where, args := " WHERE l.account_id = ?", []any{acct}
	if f.LicenseKey != "" {
		key, err := parseKey(f.LicenseKey)
		if err != nil {
			return nil, err
		}
		if _, err := loadSeatLicense(ctx, s.r, acct, key); err != nil {
			return nil, err // a typo'd key says so rather than list nothing
		}
		where, args = where+" AND l.key = ?", append(args, key)
	}
	if f.Machine != "" {
		// Folded names (licensing.FoldName): any case, in any script.
		where, args = where+" AND a.machine_folded = ?", append(args, licensing.FoldName(f.Machine))
	}
	if f.Offline {
		where += " AND a.mode = 'offline'"
	}
	rows, err := s.r.QueryContext(ctx, activationSelect+where+" ORDER BY a.id", args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []licensing.Activation{}
	for rows.Next() {
		a, err := scanActivation(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *a)
	}
	return out, rows.Err()
}

// ValidateLicense answers a stable reason code for a license and, with a
// fingerprint, one machine; a match counts as the machine being seen.
func (s *Store) ValidateLicense(ctx context.Context, key, fingerprint, version string) (*licensing.Validation, error) {
	key, err := parseKey(key)
	if err != nil {
		return nil, err
	}
	v := &licensing.Validation{Key: key, Fingerprint: fingerprint, Version: version}
	err = s.write(ctx, func(tx *sql.Tx) error {
		acct, _, err := actingAccount(ctx, tx)
		if err != nil {
			return err
		}
		l, err := loadSeatLicense(ctx, tx, acct, key)
		if licensing.ErrorCode(err) == licensing.ENOTFOUND {
			v.Code, v.Message = licensing.ValidNotFound, fmt.Sprintf("license %s not found", key)
			return nil
		} else if err != nil {
			return err
		}
		return s.validate(ctx, tx, l, v)
	})
	if err != nil {
		return nil, err
	}
	v.Valid = v.Code == licensing.ValidValid
	return v, nil
}

func (s *Store) validate(ctx context.Context, tx *sql.Tx, l *seatLicense, v *licensing.Validation) error {
	now := s.now()
	return v.Decide(&l.lic, l.suspended, now, licensing.ValidationLookup{
		ActivationOf: func(fp string) (*licensing.Activation, error) { return activationOf(ctx, tx, l.id, fp) },
		Seen: func(a *licensing.Activation) error {
			_, err := tx.ExecContext(ctx, "UPDATE activations SET last_seen_at = ? WHERE id = ?", now.Unix(), a.ID)
			return err
		},
		Builds: func(product string) ([]licensing.Build, error) { return productBuilds(ctx, tx, product, "") },
	})
}

func productBuilds(ctx context.Context, q queryer, product, os string) ([]licensing.Build, error) {
	rows, err := q.QueryContext(ctx, `SELECT product, os, version, package, url, released_at FROM builds
		WHERE product = ?1 AND (?2 = '' OR os = ?2)`, product, os)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []licensing.Build
	for rows.Next() {
		var b licensing.Build
		var at int64
		if err := rows.Scan(&b.Product, &b.OS, &b.Version, &b.Package, &b.URL, &at); err != nil {
			return nil, err
		}
		b.ReleasedAt = unixTime(at)
		out = append(out, b)
	}
	return out, rows.Err()
}

// seedBuilds gives every default-catalog product that has no builds yet the
// default builds for the platforms it has in the store. It runs on every
// `init`, so a store created before builds existed gets them too, and it
// never touches a product whose builds were already set.
func seedBuilds(ctx context.Context, tx *sql.Tx) error {
	stmt, err := tx.PrepareContext(ctx, `INSERT OR IGNORE INTO builds (product, os, version, package, url, released_at)
		VALUES (?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return err
	}
	defer stmt.Close()
	for _, p := range licensing.DefaultCatalog() {
		if p.Term == licensing.TermAddon {
			continue
		}
		var platforms string
		var builds int
		err := tx.QueryRowContext(ctx, `SELECT platforms, (SELECT count(*) FROM builds WHERE product = sku)
			FROM products WHERE sku = ?`, p.SKU).Scan(&platforms, &builds)
		if errors.Is(err, sql.ErrNoRows) || builds > 0 {
			continue
		} else if err != nil {
			return err
		}
		p.Platforms = splitList(platforms)
		for _, b := range licensing.DefaultBuilds(p) {
			if _, err := stmt.ExecContext(ctx, b.Product, b.OS, b.Version, b.Package, b.URL, b.ReleasedAt.Unix()); err != nil {
				return err
			}
		}
	}
	return nil
}

// LatestDownload names the newest build a license may use on an OS.
func (s *Store) LatestDownload(ctx context.Context, key, os string) (*licensing.Download, error) {
	key, err := parseKey(key)
	if err != nil {
		return nil, err
	}
	acct, _, err := actingAccount(ctx, s.r)
	if err != nil {
		return nil, err
	}
	l, err := loadSeatLicense(ctx, s.r, acct, key)
	if err != nil {
		return nil, err
	}
	switch {
	case os == "" && len(l.platforms) == 1:
		os = l.platforms[0]
	case os == "":
		return nil, licensing.Errorf(licensing.EINVALID, "%s runs on %d platforms: choose one with --os", l.lic.Product, len(l.platforms)).
			WithHint("--os %s", joinOr(l.platforms))
	case !containsString(l.platforms, os):
		return nil, licensing.Errorf(licensing.ENOTFOUND, "%s has no %s build: it runs on %s", l.lic.Product, os, joinOr(l.platforms))
	}
	builds, err := productBuilds(ctx, s.r, l.lic.Product, os)
	if err != nil {
		return nil, err
	}
	return licensing.LatestBuild(&l.lic, builds, os, s.now())
}

func joinOr(list []string) string {
	out := ""
	for i, s := range list {
		switch {
		case i == 0:
		case i == len(list)-1:
			out += " or "
		default:
			out += ", "
		}
		out += s
	}
	return out
}

func containsString(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// signingKey returns the current signing key, creating the first one on
// first use, in the caller's transaction.
func (s *Store) signingKey(ctx context.Context, tx *sql.Tx) (ed25519.PrivateKey, error) {
	var seed []byte
	err := tx.QueryRowContext(ctx, "SELECT private_key FROM signing_keys WHERE retired_at IS NULL").Scan(&seed)
	if errors.Is(err, sql.ErrNoRows) {
		k, err := s.newSigningKey(ctx, tx, "signing_key.create", nil)
		return k, err
	} else if err != nil {
		return nil, err
	}
	if len(seed) != ed25519.SeedSize {
		return nil, errors.New("the store's signing key is damaged")
	}
	return ed25519.NewKeyFromSeed(seed), nil
}

func (s *Store) newSigningKey(ctx context.Context, tx *sql.Tx, action string, details map[string]any) (ed25519.PrivateKey, error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	id := offline.KeyID(pub)
	if _, err := tx.ExecContext(ctx, "INSERT INTO signing_keys (id, private_key, public_key, created_at) VALUES (?, ?, ?, ?)",
		id, priv.Seed(), []byte(pub), s.now().Unix()); err != nil {
		return nil, err
	}
	if details == nil {
		details = map[string]any{}
	}
	details["kid"] = id
	var acct any // the acting account, if any, sees key changes in its audit log
	if licensing.AccountFrom(ctx) != "" {
		a, _, err := actingAccount(ctx, tx)
		if err != nil {
			return nil, err
		}
		acct = a
	}
	return priv, audit(ctx, tx, acct, s.now(), actor(ctx), action, id, details)
}

// SigningKeys lists the signing keys, the current one first (made on first use).
func (s *Store) SigningKeys(ctx context.Context) ([]licensing.SigningKey, error) {
	var out []licensing.SigningKey
	err := s.write(ctx, func(tx *sql.Tx) error {
		if _, err := s.signingKey(ctx, tx); err != nil {
			return err
		}
		rows, err := tx.QueryContext(ctx, `SELECT id, public_key, created_at, retired_at FROM signing_keys
			ORDER BY retired_at IS NOT NULL, created_at DESC, id`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var k licensing.SigningKey
			var created int64
			var retired sql.NullInt64
			if err := rows.Scan(&k.ID, &k.PublicKey, &created, &retired); err != nil {
				return err
			}
			k.CreatedAt, k.RetiredAt, k.Current = unixTime(created), unixOrNil(retired), !retired.Valid
			out = append(out, k)
		}
		return rows.Err()
	})
	return out, err
}

// RotateSigningKey retires the current key - certificates it signed still
// verify with its public key - and makes a new one.
func (s *Store) RotateSigningKey(ctx context.Context) (*licensing.SigningKey, error) {
	var out *licensing.SigningKey
	err := s.write(ctx, func(tx *sql.Tx) error {
		var retired string
		err := tx.QueryRowContext(ctx, "UPDATE signing_keys SET retired_at = ? WHERE retired_at IS NULL RETURNING id", s.now().Unix()).Scan(&retired)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		priv, err := s.newSigningKey(ctx, tx, "signing_key.rotate", map[string]any{"retired": retired})
		if err != nil {
			return err
		}
		pub := priv.Public().(ed25519.PublicKey)
		out = &licensing.SigningKey{ID: offline.KeyID(pub), PublicKey: pub, Current: true, CreatedAt: s.now()}
		return nil
	})
	return out, err
}

// ActivateOffline checks a request file like an online activation, records
// an offline activation with the machine's key and signs its certificate.
func (s *Store) ActivateOffline(ctx context.Context, request []byte) (*licensing.OfflineActivation, error) {
	req, err := offline.ParseRequest(request)
	if err != nil {
		return nil, licensing.Errorf(licensing.EINVALID, "%v", err)
	}
	key, err := parseKey(req.LicenseKey)
	if err != nil {
		return nil, err
	}
	r := licensing.ActivationRequest{LicenseKey: key, Machine: req.Machine, Fingerprint: req.Fingerprint, OS: req.OS, Version: req.Version}
	if err := r.Normalize(); err != nil {
		return nil, err
	}
	pub, err := req.PublicKey()
	if err != nil {
		return nil, licensing.Errorf(licensing.EINVALID, "%v", err)
	}
	var out *licensing.OfflineActivation
	err = s.write(ctx, func(tx *sql.Tx) error {
		acct, email, err := actingAccount(ctx, tx)
		if err != nil {
			return err
		}
		l, err := loadSeatLicense(ctx, tx, acct, key)
		if err != nil {
			return err
		}
		a, err := s.activate(ctx, tx, acct, email, l, r, &machineKey{nonce: req.Nonce, key: pub})
		if err != nil {
			return err
		}
		priv, err := s.signingKey(ctx, tx)
		if err != nil {
			return err
		}
		cert, err := s.certificate(ctx, tx, l, a, req.Nonce)
		if err != nil {
			return err
		}
		text, err := offline.Sign(priv, cert)
		if err != nil {
			return err
		}
		out = &licensing.OfflineActivation{Activation: *a, Certificate: string(text)}
		return nil
	})
	return out, err
}

// certificate fills the payload of an activation's certificate. It expires
// with the license, and at the latest after licensing.CertificateValidity.
func (s *Store) certificate(ctx context.Context, q queryer, l *seatLicense, a *licensing.Activation, nonce string) (*offline.Certificate, error) {
	now := s.now()
	expires := now.Add(licensing.CertificateValidity)
	if l.lic.ExpiresAt != nil && l.lic.ExpiresAt.Before(expires) {
		expires = *l.lic.ExpiresAt
	}
	maxVersion := ""
	if builds, err := productBuilds(ctx, q, l.lic.Product, a.OS); err != nil {
		return nil, err
	} else if d, err := licensing.LatestBuild(&l.lic, builds, a.OS, now); err == nil {
		maxVersion = d.Version
	}
	till := ""
	if l.lic.MaintenanceTill != nil {
		till = l.lic.MaintenanceTill.Format(time.RFC3339)
	}
	return &offline.Certificate{ActivationID: a.ID, ExpiresAt: expires.Format(time.RFC3339), Fingerprint: a.Fingerprint,
		IssuedAt: now.Format(time.RFC3339), LicenseKey: a.LicenseKey, Machine: a.Machine, MaintenanceTill: till,
		MaxVersion: maxVersion, Nonce: nonce, OS: a.OS, Product: a.Product, RM: a.RM, Version: a.Version}, nil
}

// ReleaseOffline frees the seat a deactivation proof names, after checking
// the proof's signature with the machine key recorded at activation. A proof
// works once.
func (s *Store) ReleaseOffline(ctx context.Context, proof []byte) (*licensing.Activation, error) {
	p, err := offline.ParseProof(proof)
	if err != nil {
		return nil, licensing.Errorf(licensing.EINVALID, "%v", err)
	}
	key, err := parseKey(p.LicenseKey)
	if err != nil {
		return nil, err
	}
	var out *licensing.Activation
	err = s.write(ctx, func(tx *sql.Tx) error {
		acct, email, err := actingAccount(ctx, tx)
		if err != nil {
			return err
		}
		var used int
		if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM used_proofs WHERE nonce = ?", p.Nonce).Scan(&used); err != nil {
			return err
		}
		if used > 0 {
			return licensing.Errorf(licensing.ECONFLICT, "this deactivation proof was already used: its seat is free")
		}
		var (
			id         int64
			mode       string
			nonce      sql.NullString
			machineKey []byte
		)
		err = tx.QueryRowContext(ctx, `SELECT a.id, a.mode, a.nonce, a.machine_key FROM activations a
			JOIN licenses l ON l.id = a.license_id WHERE l.account_id = ? AND l.key = ? AND a.fingerprint = ?`,
			acct, key, p.Fingerprint).Scan(&id, &mode, &nonce, &machineKey)
		if errors.Is(err, sql.ErrNoRows) {
			return licensing.Errorf(licensing.ENOTFOUND, "license %s has no activation for fingerprint %q", key, p.Fingerprint)
		} else if err != nil {
			return err
		}
		if mode != licensing.ModeOffline || nonce.String != p.ActivationNonce {
			return licensing.Errorf(licensing.ECONFLICT, "the proof is for an earlier activation of this machine, not activation %d", id)
		}
		if err := offline.VerifyProof(ed25519.PublicKey(machineKey), p); err != nil {
			return licensing.Errorf(licensing.EUNAUTHORIZED, "%v", err)
		}
		a, err := readActivation(ctx, tx, id)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "INSERT INTO used_proofs (nonce, used_at) VALUES (?, ?)", p.Nonce, s.now().Unix()); err != nil {
			return err
		}
		out = a
		return s.release(ctx, tx, acct, email, a, "proof")
	})
	return out, err
}
