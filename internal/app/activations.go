package app

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/licensectl/licensectl/internal/licensing"
	"github.com/licensectl/licensectl/internal/offline"
)

var _ licensing.ActivationService = (*App)(nil)

// SeatLicense is a license as the activation rules see it.
type SeatLicense struct {
	ID        int64
	License   licensing.License // key, product, kind, term, expiry, maintenance, seats, allow_rm, created
	Suspended bool
	Edition   string
	Platforms []string
	// PastDue is when its renewal charge first failed; nil when it did not.
	PastDue *time.Time
}

func (l *SeatLicense) seat() licensing.Seat {
	return licensing.Seat{Key: l.License.Key, Kind: l.License.Kind, ExpiresAt: l.License.ExpiresAt, Suspended: l.Suspended,
		Seats: l.License.Seats, SeatsUsed: l.License.SeatsUsed, Edition: l.Edition, Platforms: l.Platforms}
}

// ActivationRecord is a stored activation with what only the store keeps:
// its license's row id and, for an offline one, the machine's key.
type ActivationRecord struct {
	licensing.Activation
	AccountID  int64 // its license's account
	LicenseID  int64
	Nonce      string // the offline request's nonce; "" online
	MachineKey []byte // the machine's Ed25519 public key; nil online
}

// NewActivation is an activation to insert, or the fields to refresh on a
// machine's existing one (RefreshActivation keeps a recorded offline key
// when Nonce is empty).
type NewActivation struct {
	LicenseID int64
	Machine   string
	// MachineFolded is the machine name as names compare (licensing.FoldName).
	MachineFolded string
	Fingerprint   string
	OS            string
	Version       string
	Mode          string
	Nonce         string
	MachineKey    []byte
	At            time.Time
	// LeaseSeconds and LeaseExpiresAt make a leased activation (0 and nil:
	// not leased).
	LeaseSeconds   int64
	LeaseExpiresAt *time.Time
}

// LeaseWhere names the leased activations to look at: of one license, or
// (LicenseID 0) of every account.
type LeaseWhere struct {
	LicenseID int64
}

// ActivationWhere names activations of one account to look up.
type ActivationWhere struct {
	ID          int64  // this activation, or
	LicenseKey  string // the activation of this license ...
	Fingerprint string // ... on this fingerprint
}

// ActivationTx is what the activation use cases need of a transaction.
type ActivationTx interface {
	// SeatLicense reads one license of the account (nil when the account has
	// none with that key), taking its row lock with ForUpdate.
	SeatLicense(ctx context.Context, acct int64, key string, lock Lock) (*SeatLicense, error)
	// FindActivation returns the account's activation named by w, or nil.
	FindActivation(ctx context.Context, acct int64, w ActivationWhere) (*ActivationRecord, error)
	// LicenseActivation returns a license's activation on a fingerprint, or nil.
	LicenseActivation(ctx context.Context, licenseID int64, fingerprint string) (*ActivationRecord, error)
	InsertActivation(ctx context.Context, a NewActivation) (int64, error)
	// RefreshActivation updates machine, OS, version and last seen of an
	// activation; a NewActivation of offline mode also records its nonce and
	// machine key and makes the activation offline.
	RefreshActivation(ctx context.Context, id int64, a NewActivation) error
	// DeleteActivation removes an activation; false when it was gone.
	DeleteActivation(ctx context.Context, id int64) (bool, error)
	// TakeSeat counts one more seat used unless every seat is taken; false
	// when none was free (the guard repeats the rule in SQL).
	TakeSeat(ctx context.Context, licenseID int64) (bool, error)
	// FreeSeat counts one seat fewer (never below zero).
	FreeSeat(ctx context.Context, licenseID int64) error
	// ListActivations lists the account's activations, oldest first, but
	// leases expired at now; f.Machine, when set, is a folded name matched
	// against the folded column; f.Stale keeps those last seen at or before
	// now - f.Stale.
	ListActivations(ctx context.Context, acct int64, f licensing.ActivationFilter, now time.Time) ([]licensing.Activation, error)
	// TouchActivation records that the machine was seen at a time, unless a
	// later one is recorded already.
	TouchActivation(ctx context.Context, id int64, at time.Time) error
	// ExpiredLeases lists up to limit leased activations whose lease ended
	// at or before now, oldest lease first.
	ExpiredLeases(ctx context.Context, w LeaseWhere, now time.Time, limit int) ([]ActivationRecord, error)
	// ExtendLease sets a leased activation's expiry and last seen time.
	ExtendLease(ctx context.Context, id int64, expires, at time.Time) error
	// PoolLicenses reads the account's licenses of a product in a company
	// (companyID 0: in the global pool), by id, taking their row locks with
	// ForUpdate.
	PoolLicenses(ctx context.Context, acct int64, product string, companyID int64, lock Lock) ([]SeatLicense, error)
	// Builds lists a product's builds ("" for every product's), on one OS
	// ("" for every OS).
	Builds(ctx context.Context, product, os string) ([]licensing.Build, error)
	// ProofUsed tells whether a deactivation proof's nonce was used.
	ProofUsed(ctx context.Context, nonce string) (bool, error)
	InsertUsedProof(ctx context.Context, nonce string, at time.Time) error
	// CountActivations counts the current activations of every account by
	// mode ("online", "offline").
	CountActivations(ctx context.Context) (map[string]int64, error)
}

// SigningKeyRow is a signing key as stored; Seed is the private half.
type SigningKeyRow struct {
	ID        string
	Seed      []byte
	PublicKey []byte
	CreatedAt time.Time
}

// SigningKeyTx is what the signing key use cases need of a transaction.
type SigningKeyTx interface {
	// CurrentSigningKey returns the key not retired, or nil.
	CurrentSigningKey(ctx context.Context) (*SigningKeyRow, error)
	InsertSigningKey(ctx context.Context, k SigningKeyRow) error
	// RetireSigningKey retires the current key and returns its id ("" when
	// there was none).
	RetireSigningKey(ctx context.Context, at time.Time) (string, error)
	// SigningKeys lists every key, current first, then newest first.
	SigningKeys(ctx context.Context) ([]licensing.SigningKey, error)
}

// ScanActivation reads a row of columns id, license key, product, machine,
// fingerprint, os, version, mode, allow_rm, activated_at, last_seen_at,
// license id, nonce, machine key, lease_seconds, lease_expires_at (both
// nullable), account id: the one column order every store selects.
func ScanActivation(sc Scanner) (*ActivationRecord, error) {
	var (
		a               ActivationRecord
		allowRM         bool
		activated, seen int64
		nonce           *string
	)
	var leaseSeconds, leaseExpires *int64
	if err := sc.Scan(&a.ID, &a.LicenseKey, &a.Product, &a.Machine, &a.Fingerprint, &a.OS, &a.Version, &a.Mode,
		&allowRM, &activated, &seen, &a.LicenseID, &nonce, &a.MachineKey, &leaseSeconds, &leaseExpires, &a.AccountID); err != nil {
		return nil, err
	}
	if nonce != nil {
		a.Nonce = *nonce
	}
	if leaseSeconds != nil {
		a.LeaseSeconds = *leaseSeconds
	}
	a.RM = licensing.RMState(allowRM, a.Version)
	a.ActivatedAt, a.LastSeenAt, a.LeaseExpiresAt = Unix(activated), Unix(seen), UnixOrNil(leaseExpires)
	return &a, nil
}

// ScanSeatLicense reads a row of columns id, key, product, kind, term,
// expires_at, maintenance_till, created_at, allow_rm, seats, seats_used,
// suspended, edition, platforms (comma-separated).
func ScanSeatLicense(sc Scanner) (*SeatLicense, error) {
	var (
		l                 SeatLicense
		expires, maintain *int64
		pastDue           *int64
		created           int64
		platforms         string
	)
	if err := sc.Scan(&l.ID, &l.License.Key, &l.License.Product, &l.License.Kind, &l.License.Term, &expires, &maintain,
		&created, &l.License.AllowRM, &l.License.Seats, &l.License.SeatsUsed, &l.Suspended, &l.Edition, &platforms, &pastDue); err != nil {
		return nil, err
	}
	l.PastDue = UnixOrNil(pastDue)
	l.License.ExpiresAt, l.License.MaintenanceTill = UnixOrNil(expires), UnixOrNil(maintain)
	l.License.CreatedAt = Unix(created)
	l.Platforms = SplitList(platforms)
	return &l, nil
}

// Activations returns the activations of records.
func Activations(recs []ActivationRecord) []licensing.Activation {
	out := make([]licensing.Activation, len(recs))
	for i := range recs {
		out[i] = recs[i].Activation
	}
	return out
}

// BuildColumns are the builds columns ScanBuild reads, in its order.
const BuildColumns = `product, target, os, version, package, url, artifact, size, sha256, released_at`

// ScanBuild reads a row of BuildColumns.
func ScanBuild(sc Scanner) (*licensing.Build, error) {
	var b licensing.Build
	var at int64
	if err := sc.Scan(&b.Product, &b.Target, &b.OS, &b.Version, &b.Package, &b.URL, &b.Artifact, &b.Size, &b.SHA256, &at); err != nil {
		return nil, err
	}
	b.ReleasedAt = Unix(at)
	return &b, nil
}

// ScanSigningKey reads a row of columns id, public_key, created_at,
// retired_at (nullable).
func ScanSigningKey(sc Scanner) (*licensing.SigningKey, error) {
	var k licensing.SigningKey
	var created int64
	var retired *int64
	if err := sc.Scan(&k.ID, &k.PublicKey, &created, &retired); err != nil {
		return nil, err
	}
	k.CreatedAt, k.RetiredAt, k.Current = Unix(created), UnixOrNil(retired), retired == nil
	return &k, nil
}

// SplitList splits a stored comma-separated list; "" is the empty list.
func SplitList(s string) []string {
	if s == "" {
		return []string{}
	}
	return strings.Split(s, ",")
}

// seatLicense reads one of the account's licenses; another account's key
// answers as an unknown one.
func seatLicense(ctx context.Context, tx Tx, acct int64, key string, lock Lock) (*SeatLicense, error) {
	l, err := tx.SeatLicense(ctx, acct, key, lock)
	if err == nil && l == nil {
		if err = revokedError(ctx, tx, acct, key, licensing.ECONFLICT); err == nil {
			err = licenseNotFound(key)
		}
	}
	return l, err
}

// machineKey is what an offline activation records besides the machine.
type machineKey struct {
	nonce string
	key   ed25519.PublicKey
}

// activate takes a seat in the caller's transaction, or refreshes the
// machine's existing activation. The caller holds the license's row lock
// (ForUpdate), and TakeSeat repeats the seat rule in SQL: two machines - in
// this process, another, or another server replica - never both get the last
// seat, and on PostgreSQL the one that waited reruns and is refused with the
// count the winner left.
func activate(ctx context.Context, tx Tx, now time.Time, acct account, l *SeatLicense,
	r licensing.ActivationRequest, mk *machineKey) (*licensing.Activation, error) {
	row := NewActivation{LicenseID: l.ID, Machine: r.Machine, MachineFolded: licensing.FoldName(r.Machine), Fingerprint: r.Fingerprint, OS: r.OS,
		Version: r.Version, Mode: licensing.ModeOnline, At: now}
	if mk != nil {
		row.Mode, row.Nonce, row.MachineKey = licensing.ModeOffline, mk.nonce, []byte(mk.key)
	}
	if r.LeaseSeconds > 0 {
		if mk != nil {
			return nil, licensing.Errorf(licensing.EINVALID, "an offline activation cannot be leased: its machine cannot renew it")
		}
		expires := now.Add(time.Duration(r.LeaseSeconds) * time.Second)
		row.LeaseSeconds, row.LeaseExpiresAt = r.LeaseSeconds, &expires
	}
	// Leases that ran out free their seats now, inside this transaction
	// (the license's row lock is held): the seat is the next machine's.
	freed, err := releaseExpired(ctx, tx, now, LeaseWhere{LicenseID: l.ID})
	if err != nil {
		return nil, err
	}
	l.License.SeatsUsed -= freed
	existing, err := tx.LicenseActivation(ctx, l.ID, r.Fingerprint)
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
		if existing.Mode == licensing.ModeOffline && row.LeaseExpiresAt != nil {
			// A lease that ran out would free the seat of a machine that
			// still holds its certificate.
			return nil, licensing.Errorf(licensing.EINVALID, "activation %d of this machine is offline: it cannot be leased", existing.ID).
				WithHint("activate without --lease, or release it with its deactivation proof first")
		}
		if err := tx.RefreshActivation(ctx, existing.ID, row); err != nil {
			return nil, err
		}
		if mk != nil {
			if err := audit(ctx, tx, acct.id, now, acct.email, "activation.renew", l.License.Key,
				map[string]any{"id": existing.ID, "machine": r.Machine, "fingerprint": r.Fingerprint, "mode": row.Mode}); err != nil {
				return nil, err
			}
		}
		a, err := tx.LicenseActivation(ctx, l.ID, r.Fingerprint)
		if err != nil {
			return nil, err
		}
		a.Existing = true
		return &a.Activation, nil
	}
	if err := licensing.CheckActivation(l.seat(), r.OS, now); err != nil {
		return nil, err
	}
	id, err := tx.InsertActivation(ctx, row)
	if err != nil {
		return nil, err
	}
	if ok, err := tx.TakeSeat(ctx, l.ID); err != nil {
		return nil, err
	} else if !ok {
		return nil, licensing.Errorf(licensing.ECONFLICT, "no free seat on license %s", l.License.Key)
	}
	if err := audit(ctx, tx, acct.id, now, acct.email, "activation.create", l.License.Key, map[string]any{"id": id,
		"machine": r.Machine, "fingerprint": r.Fingerprint, "os": r.OS, "version": r.Version, "mode": row.Mode}); err != nil {
		return nil, err
	}
	a, err := tx.FindActivation(ctx, acct.id, ActivationWhere{ID: id})
	if err != nil {
		return nil, err
	}
	return &a.Activation, emit(ctx, tx, acct.id, now, licensing.EventActivationCreated, l.License.Key, &a.Activation)
}

// Activate takes a seat of a license for a machine: of the license named,
// or of any of the account's licenses of a product (a floating pool).
func (a *App) Activate(ctx context.Context, r licensing.ActivationRequest) (*licensing.Activation, error) {
	if err := r.Normalize(); err != nil {
		return nil, err
	}
	if r.Product != "" || r.Company != "" {
		if r.LicenseKey != "" {
			return nil, licensing.Errorf(licensing.EINVALID, "name a license key or a product (a floating pool), not both")
		}
		return a.activatePool(ctx, r)
	}
	key, err := licensing.ParseKey(r.LicenseKey)
	if err != nil {
		return nil, err
	}
	return writeGrouped(ctx, a, func(tx Tx, now time.Time) (*licensing.Activation, error) {
		acct, err := actingAccount(ctx, tx)
		if err != nil {
			return nil, err
		}
		l, err := seatLicense(ctx, tx, acct.id, key, ForUpdate)
		if err != nil {
			return nil, err
		}
		return activate(ctx, tx, now, acct, l, r, nil)
	})
}

// activatePool takes a seat of any of the account's licenses of a product,
// in a company or the global pool: the machine's own activation if it holds
// one already, else the license with the most free seats (then the oldest,
// then the lowest id) that this machine may use. Every candidate's row lock
// is held (in id order), so pool activations of one product queue up and
// never hand one seat to two machines.
func (a *App) activatePool(ctx context.Context, r licensing.ActivationRequest) (*licensing.Activation, error) {
	if r.Product == "" {
		return nil, licensing.Errorf(licensing.EINVALID, "--company needs --product: a floating pool is of one product")
	}
	return writeGrouped(ctx, a, func(tx Tx, now time.Time) (*licensing.Activation, error) {
		acct, err := actingAccount(ctx, tx)
		if err != nil {
			return nil, err
		}
		p, err := product(ctx, tx, r.Product)
		if err != nil {
			return nil, err
		}
		var companyID int64
		where := "the global pool"
		if r.Company != "" {
			name, err := licensing.NormalizeCompanyName(r.Company)
			if err != nil {
				return nil, err
			}
			if companyID, name, err = company(ctx, tx, acct.id, name); err != nil {
				return nil, err
			}
			where = "company " + name
		}
		ls, err := tx.PoolLicenses(ctx, acct.id, p.SKU, companyID, ForUpdate)
		if err != nil {
			return nil, err
		}
		for i := range ls {
			freed, err := releaseExpired(ctx, tx, now, LeaseWhere{LicenseID: ls[i].ID})
			if err != nil {
				return nil, err
			}
			ls[i].License.SeatsUsed -= freed
			if held, err := tx.LicenseActivation(ctx, ls[i].ID, r.Fingerprint); err != nil {
				return nil, err
			} else if held != nil {
				return activate(ctx, tx, now, acct, &ls[i], r, nil) // refreshes the machine's own
			}
		}
		best, used, seats, err := choosePoolLicense(ls, r.OS, now)
		if err != nil {
			return nil, err
		}
		if best == nil {
			if len(ls) == 0 {
				return nil, licensing.Errorf(licensing.ENOTFOUND, "no license of %s in %s", p.SKU, where).
					WithHint("buy one with `licensectl licenses buy --product %s`", p.SKU)
			}
			return nil, licensing.Errorf(licensing.ECONFLICT, "no free seat of %s in %s (%d of %d in use)", p.SKU, where, used, seats)
		}
		return activate(ctx, tx, now, acct, best, r, nil)
	})
}

// choosePoolLicense picks the license of a pool a machine of this OS gets:
// the most free seats, then the oldest, then the lowest id, among those it
// may use now. It answers nil when none has a free seat (with the seats in
// use and in all, of the licenses that are valid), or the first refusal
// when no license may be used for another reason (the OS, expiry).
func choosePoolLicense(ls []SeatLicense, os string, now time.Time) (*SeatLicense, int, int, error) {
	var best *SeatLicense
	var firstErr error
	used, seats, full := 0, 0, 0
	for i := range ls {
		l := &ls[i]
		err := licensing.CheckActivation(l.seat(), os, now)
		if err != nil {
			seat := l.seat()
			seat.SeatsUsed = 0
			if licensing.CheckActivation(seat, os, now) != nil { // not for want of a seat
				if firstErr == nil {
					firstErr = err
				}
				continue
			}
			full++
		}
		used, seats = used+l.License.SeatsUsed, seats+l.License.Seats
		if err != nil {
			continue
		}
		free := l.License.Seats - l.License.SeatsUsed
		if best == nil || free > best.License.Seats-best.License.SeatsUsed ||
			(free == best.License.Seats-best.License.SeatsUsed && l.License.CreatedAt.Before(best.License.CreatedAt)) {
			best = l
		}
	}
	if best == nil && full == 0 && firstErr != nil {
		return nil, 0, 0, firstErr
	}
	return best, used, seats, nil
}

// releaseExpired releases the expired leases named by w, up to a batch,
// in the caller's transaction, and answers how many it freed. Each is
// released once: a lease another transaction released first is skipped.
func releaseExpired(ctx context.Context, tx Tx, now time.Time, w LeaseWhere) (int, error) {
	recs, err := tx.ExpiredLeases(ctx, w, now, leaseBatch)
	if err != nil {
		return 0, err
	}
	n := 0
	for i := range recs {
		r := &recs[i]
		if ok, err := tx.DeleteActivation(ctx, r.ID); err != nil {
			return n, err
		} else if !ok {
			continue
		}
		if err := tx.FreeSeat(ctx, r.LicenseID); err != nil {
			return n, err
		}
		n++
		if err := audit(ctx, tx, r.AccountID, now, "lease", "activation.lease_expired", r.LicenseKey, map[string]any{"id": r.ID,
			"machine": r.Machine, "fingerprint": r.Fingerprint, "lease_expires_at": r.LeaseExpiresAt, "last_seen_at": r.LastSeenAt}); err != nil {
			return n, err
		}
		if err := emit(ctx, tx, r.AccountID, now, licensing.EventActivationLeaseExpired, r.LicenseKey, &r.Activation); err != nil {
			return n, err
		}
	}
	return n, nil
}

// leaseBatch bounds the expired leases one transaction releases.
const leaseBatch = 500

// SweepLeases releases every account's expired leases, a batch per
// transaction, and answers how many: what `serve` runs on a schedule, so
// that lists and counts are right without waiting for the next activation.
// Replicas sweeping at once release each lease once.
func (a *App) SweepLeases(ctx context.Context) (int, error) {
	total := 0
	for {
		n, err := write(ctx, a, func(tx Tx, now time.Time) (int, error) {
			return releaseExpired(ctx, tx, now, LeaseWhere{})
		})
		total += n
		if err != nil || n < leaseBatch {
			return total, err
		}
	}
}

// SweepLeasesEvery sweeps expired leases every interval until ctx ends,
// logging what each sweep released.
func (a *App) SweepLeasesEvery(ctx context.Context, every time.Duration, log *slog.Logger) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		n, err := a.SweepLeases(ctx)
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			log.Error("lease sweep failed", "error", err.Error())
		case n > 0:
			log.Info("lease sweep", "released", n)
		}
	}
}

// Heartbeat renews a leased activation: its lease runs its length again
// from now, and the machine counts as seen. A lease that ran out is lost -
// its seat may be another machine's already - and is released now.
func (a *App) Heartbeat(ctx context.Context, id int64) (*licensing.Activation, error) {
	if id <= 0 {
		return nil, licensing.Errorf(licensing.EINVALID, "invalid activation id %d", id)
	}
	return writeGrouped(ctx, a, func(tx Tx, now time.Time) (*licensing.Activation, error) {
		acct, err := actingAccount(ctx, tx)
		if err != nil {
			return nil, err
		}
		act, err := tx.FindActivation(ctx, acct.id, ActivationWhere{ID: id})
		switch {
		case err != nil:
			return nil, err
		case act == nil:
			return nil, licensing.Errorf(licensing.ENOTFOUND, "no activation %d", id).WithHint("see `licensectl activations list`")
		case act.LeaseSeconds == 0:
			return nil, licensing.Errorf(licensing.EINVALID, "activation %d is not leased: it holds its seat until deactivated", id)
		case act.LeaseExpired(now):
			// Refused, so the lost lease is released in the next activation of
			// its license or the next sweep rather than here.
			return nil, licensing.Errorf(licensing.ECONFLICT, "the lease of activation %d expired at %s: its seat is free for other machines",
				id, act.LeaseExpiresAt.UTC().Format(time.RFC3339)).WithHint("activate again")
		}
		expires := now.Add(time.Duration(act.LeaseSeconds) * time.Second)
		if err := tx.ExtendLease(ctx, id, expires, now); err != nil {
			return nil, err
		}
		act.LeaseExpiresAt, act.LastSeenAt = &expires, now
		return &act.Activation, nil
	})
}

// ReleaseStale releases the account's online activations not seen for
// longer than stale, in one transaction, audited each; offline ones need
// their machine's proof and are left. With dryRun nothing changes.
func (a *App) ReleaseStale(ctx context.Context, stale time.Duration, dryRun bool) ([]licensing.Activation, error) {
	if stale < time.Minute {
		return nil, licensing.Errorf(licensing.EINVALID, "--stale must be at least 1m")
	}
	if err := a.seen.flush(ctx); err != nil { // what this process saw counts
		return nil, err
	}
	run := a.store.Write
	if dryRun {
		run = a.store.Read
	}
	return writeWith(ctx, a, run, func(tx Tx, now time.Time) ([]licensing.Activation, error) {
		acct, err := actingAccount(ctx, tx)
		if err != nil {
			return nil, err
		}
		list, err := tx.ListActivations(ctx, acct.id, licensing.ActivationFilter{Stale: stale}, now)
		if err != nil {
			return nil, err
		}
		out := []licensing.Activation{}
		for _, act := range list {
			if act.Mode != licensing.ModeOnline {
				continue
			}
			out = append(out, act)
			if dryRun {
				continue
			}
			rec, err := tx.FindActivation(ctx, acct.id, ActivationWhere{ID: act.ID})
			if err != nil || rec == nil {
				return nil, err
			}
			if err := release(ctx, tx, now, acct, rec, "stale"); err != nil {
				return nil, err
			}
		}
		return out, nil
	})
}

// release frees an activation's seat in the caller's transaction.
func release(ctx context.Context, tx Tx, now time.Time, acct account, a *ActivationRecord, how string) error {
	if ok, err := tx.DeleteActivation(ctx, a.ID); err != nil {
		return err
	} else if !ok {
		return licensing.Errorf(licensing.ENOTFOUND, "no activation %d", a.ID)
	}
	if err := tx.FreeSeat(ctx, a.LicenseID); err != nil {
		return err
	}
	if err := audit(ctx, tx, acct.id, now, acct.email, "activation.delete", a.LicenseKey, map[string]any{"id": a.ID,
		"machine": a.Machine, "fingerprint": a.Fingerprint, "mode": a.Mode, "released_by": how}); err != nil {
		return err
	}
	return emit(ctx, tx, acct.id, now, licensing.EventActivationReleased, a.LicenseKey, &a.Activation)
}

// Deactivate releases an activation. An offline one needs the machine's
// proof (ReleaseOffline) unless forced, which the audit log records.
func (a *App) Deactivate(ctx context.Context, r licensing.DeactivateRequest) (*licensing.Activation, error) {
	w := ActivationWhere{ID: r.ID}
	if r.ID == 0 {
		k, err := licensing.ParseKey(r.LicenseKey)
		if err != nil {
			return nil, err
		}
		if r.Fingerprint == "" {
			return nil, licensing.Errorf(licensing.EINVALID, "name the activation by id, or by license key and fingerprint")
		}
		w.LicenseKey, w.Fingerprint = k, r.Fingerprint
	}
	return writeGrouped(ctx, a, func(tx Tx, now time.Time) (*licensing.Activation, error) {
		acct, err := actingAccount(ctx, tx)
		if err != nil {
			return nil, err
		}
		act, err := tx.FindActivation(ctx, acct.id, w)
		switch {
		case err != nil:
			return nil, err
		case act == nil && w.ID != 0:
			return nil, licensing.Errorf(licensing.ENOTFOUND, "no activation %d", w.ID).
				WithHint("see `licensectl activations list`")
		case act == nil:
			return nil, licensing.Errorf(licensing.ENOTFOUND, "license %s has no activation for fingerprint %q", w.LicenseKey, w.Fingerprint).
				WithHint("see `licensectl activations list --license %s`", w.LicenseKey)
		}
		how := "operator"
		if act.Mode == licensing.ModeOffline {
			if !r.Force {
				return nil, licensing.Errorf(licensing.ECONFLICT, "activation %d is offline: its machine releases it with a signed deactivation proof", act.ID).
					WithHint("run `licensectl activations offline release PROOF` with the machine's proof, or pass --force for a lost machine")
			}
			how = "forced"
		}
		return &act.Activation, release(ctx, tx, now, acct, act, how)
	})
}

// ActiveActivations counts the store's current activations, every account's,
// by mode ("online", "offline"): an operator's figure (a server's gauge),
// never an account's.
func (a *App) ActiveActivations(ctx context.Context) (map[string]int64, error) {
	return read(ctx, a, func(tx Tx, _ time.Time) (map[string]int64, error) { return tx.CountActivations(ctx) })
}

// ListActivations lists the account's current activations, oldest first.
func (a *App) ListActivations(ctx context.Context, f licensing.ActivationFilter) ([]licensing.Activation, error) {
	if f.Stale < 0 {
		return nil, licensing.Errorf(licensing.EINVALID, "--stale must be a positive duration")
	}
	if f.LicenseKey != "" {
		key, err := licensing.ParseKey(f.LicenseKey)
		if err != nil {
			return nil, err
		}
		f.LicenseKey = key
	}
	if err := a.seen.flush(ctx); err != nil { // list the last seen times this process saw
		return nil, err
	}
	return read(ctx, a, func(tx Tx, now time.Time) ([]licensing.Activation, error) {
		acct, err := actingAccount(ctx, tx)
		if err != nil {
			return nil, err
		}
		if f.LicenseKey != "" {
			if _, err := seatLicense(ctx, tx, acct.id, f.LicenseKey, NoLock); err != nil {
				return nil, err // a typo'd key says so rather than list nothing
			}
		}
		if f.Machine != "" {
			f.Machine = licensing.FoldName(f.Machine)
		}
		return tx.ListActivations(ctx, acct.id, f, now)
	})
}

// ValidateLicense answers a stable reason code for a license and, with a
// fingerprint, one machine; a match counts as the machine being seen. It is
// a pure read on the read pool: the machine's last seen time is queued and
// written in a later batch (seenLog), at most once a minute per activation.
func (a *App) ValidateLicense(ctx context.Context, key, fingerprint, version string) (*licensing.Validation, error) {
	key, err := licensing.ParseKey(key)
	if err != nil {
		return nil, err
	}
	v, err := read(ctx, a, func(tx Tx, now time.Time) (*licensing.Validation, error) {
		v := &licensing.Validation{Key: key, Fingerprint: fingerprint, Version: version}
		acct, err := actingAccount(ctx, tx)
		if err != nil {
			return nil, err
		}
		l, err := tx.SeatLicense(ctx, acct.id, key, NoLock)
		if err != nil {
			return nil, err
		}
		if l == nil {
			r, err := tx.Revocation(ctx, acct.id, key)
			if err != nil {
				return nil, err
			}
			v.Code, v.Message = licensing.ValidNotFound, fmt.Sprintf("license %s not found", key)
			if r != nil {
				v.Code, v.Message = licensing.ValidRevoked, fmt.Sprintf("license %s was revoked on %s (refunded)", key, r.RevokedAt.Format("2006-01-02"))
			}
			return v, nil
		}
		return v, v.Decide(&l.License, l.Suspended, now, licensing.ValidationLookup{
			ActivationOf: func(fp string) (*licensing.Activation, error) {
				r, err := tx.LicenseActivation(ctx, l.ID, fp)
				if r == nil || err != nil {
					return nil, err
				}
				return &r.Activation, nil
			},
			Seen:         func(act *licensing.Activation) error { a.seen.add(act.ID, now); return nil },
			Builds:       func(product string) ([]licensing.Build, error) { return tx.Builds(ctx, product, "") },
			PastDueUntil: a.pastDueUntil(l.PastDue),
		})
	})
	if err != nil {
		return nil, err
	}
	v.Valid = v.Code == licensing.ValidValid
	return v, nil
}

func joinOr(list []string) string {
	var b strings.Builder
	for i, s := range list {
		switch {
		case i == 0:
		case i == len(list)-1:
			b.WriteString(" or ")
		default:
			b.WriteString(", ")
		}
		b.WriteString(s)
	}
	return b.String()
}

// signingKey returns the current signing key, creating the first one on
// first use, in the caller's transaction.
func signingKey(ctx context.Context, tx Tx, now time.Time) (ed25519.PrivateKey, error) {
	k, err := tx.CurrentSigningKey(ctx)
	if err != nil {
		return nil, err
	}
	if k == nil {
		return newSigningKey(ctx, tx, now, "signing_key.create", nil)
	}
	if len(k.Seed) != ed25519.SeedSize {
		return nil, errors.New("the store's signing key is damaged")
	}
	return ed25519.NewKeyFromSeed(k.Seed), nil
}

func newSigningKey(ctx context.Context, tx Tx, now time.Time, action string, details map[string]any) (ed25519.PrivateKey, error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	id := offline.KeyID(pub)
	if err := tx.InsertSigningKey(ctx, SigningKeyRow{ID: id, Seed: priv.Seed(), PublicKey: pub, CreatedAt: now}); err != nil {
		return nil, err
	}
	if details == nil {
		details = map[string]any{}
	}
	details["kid"] = id
	var acct int64 // the acting account, if any, sees key changes in its audit log
	if licensing.AccountFrom(ctx) != "" {
		a, err := actingAccount(ctx, tx)
		if err != nil {
			return nil, err
		}
		acct = a.id
	}
	return priv, audit(ctx, tx, acct, now, actor(ctx), action, id, details)
}

// SigningKeys lists the signing keys, the current one first (made on first use).
func (a *App) SigningKeys(ctx context.Context) ([]licensing.SigningKey, error) {
	return write(ctx, a, func(tx Tx, now time.Time) ([]licensing.SigningKey, error) {
		if _, err := signingKey(ctx, tx, now); err != nil {
			return nil, err
		}
		return tx.SigningKeys(ctx)
	})
}

// RotateSigningKey retires the current key - certificates it signed still
// verify with its public key - and makes a new one.
func (a *App) RotateSigningKey(ctx context.Context) (*licensing.SigningKey, error) {
	return write(ctx, a, func(tx Tx, now time.Time) (*licensing.SigningKey, error) {
		retired, err := tx.RetireSigningKey(ctx, now)
		if err != nil {
			return nil, err
		}
		priv, err := newSigningKey(ctx, tx, now, "signing_key.rotate", map[string]any{"retired": retired})
		if err != nil {
			return nil, err
		}
		pub := priv.Public().(ed25519.PublicKey)
		return &licensing.SigningKey{ID: offline.KeyID(pub), PublicKey: pub, Current: true, CreatedAt: now}, nil
	})
}

// ActivateOffline checks a request file like an online activation, records
// an offline activation with the machine's key and signs its certificate.
func (a *App) ActivateOffline(ctx context.Context, request []byte) (*licensing.OfflineActivation, error) {
	req, err := offline.ParseRequest(request)
	if err != nil {
		return nil, licensing.Errorf(licensing.EINVALID, "%v", err)
	}
	key, err := licensing.ParseKey(req.LicenseKey)
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
	return write(ctx, a, func(tx Tx, now time.Time) (*licensing.OfflineActivation, error) {
		acct, err := actingAccount(ctx, tx)
		if err != nil {
			return nil, err
		}
		l, err := seatLicense(ctx, tx, acct.id, key, ForUpdate)
		if err != nil {
			return nil, err
		}
		act, err := activate(ctx, tx, now, acct, l, r, &machineKey{nonce: req.Nonce, key: pub})
		if err != nil {
			return nil, err
		}
		priv, err := signingKey(ctx, tx, now)
		if err != nil {
			return nil, err
		}
		cert, err := certificate(ctx, tx, now, l, act, req.Nonce)
		if err != nil {
			return nil, err
		}
		text, err := offline.Sign(priv, cert)
		if err != nil {
			return nil, err
		}
		return &licensing.OfflineActivation{Activation: *act, Certificate: string(text)}, nil
	})
}

// certificate fills the payload of an activation's certificate. It expires
// with the license, and at the latest after licensing.CertificateValidity.
func certificate(ctx context.Context, tx Tx, now time.Time, l *SeatLicense, a *licensing.Activation, nonce string) (*offline.Certificate, error) {
	expires := now.Add(licensing.CertificateValidity)
	if l.License.ExpiresAt != nil && l.License.ExpiresAt.Before(expires) {
		expires = *l.License.ExpiresAt
	}
	maxVersion := ""
	if builds, err := tx.Builds(ctx, l.License.Product, a.OS); err != nil {
		return nil, err
	} else if d, err := licensing.LatestBuild(&l.License, builds, a.OS, now); err == nil {
		maxVersion = d.Version
	}
	till := ""
	if l.License.MaintenanceTill != nil {
		till = l.License.MaintenanceTill.Format(time.RFC3339)
	}
	return &offline.Certificate{ActivationID: a.ID, ExpiresAt: expires.Format(time.RFC3339), Fingerprint: a.Fingerprint,
		IssuedAt: now.Format(time.RFC3339), LicenseKey: a.LicenseKey, Machine: a.Machine, MaintenanceTill: till,
		MaxVersion: maxVersion, Nonce: nonce, OS: a.OS, Product: a.Product, RM: a.RM, Version: a.Version}, nil
}

// ReleaseOffline frees the seat a deactivation proof names, after checking
// the proof's signature with the machine key recorded at activation. A proof
// works once.
func (a *App) ReleaseOffline(ctx context.Context, proof []byte) (*licensing.Activation, error) {
	p, err := offline.ParseProof(proof)
	if err != nil {
		return nil, licensing.Errorf(licensing.EINVALID, "%v", err)
	}
	key, err := licensing.ParseKey(p.LicenseKey)
	if err != nil {
		return nil, err
	}
	return write(ctx, a, func(tx Tx, now time.Time) (*licensing.Activation, error) {
		acct, err := actingAccount(ctx, tx)
		if err != nil {
			return nil, err
		}
		if used, err := tx.ProofUsed(ctx, p.Nonce); err != nil {
			return nil, err
		} else if used {
			return nil, licensing.Errorf(licensing.ECONFLICT, "this deactivation proof was already used: its seat is free")
		}
		act, err := tx.FindActivation(ctx, acct.id, ActivationWhere{LicenseKey: key, Fingerprint: p.Fingerprint})
		if err != nil {
			return nil, err
		}
		if act == nil {
			return nil, licensing.Errorf(licensing.ENOTFOUND, "license %s has no activation for fingerprint %q", key, p.Fingerprint)
		}
		if act.Mode != licensing.ModeOffline || act.Nonce != p.ActivationNonce {
			return nil, licensing.Errorf(licensing.ECONFLICT, "the proof is for an earlier activation of this machine, not activation %d", act.ID)
		}
		if err := offline.VerifyProof(ed25519.PublicKey(act.MachineKey), p); err != nil {
			return nil, licensing.Errorf(licensing.EUNAUTHORIZED, "%v", err)
		}
		if err := tx.InsertUsedProof(ctx, p.Nonce, now); err != nil {
			return nil, err
		}
		return &act.Activation, release(ctx, tx, now, acct, act, "proof")
	})
}
