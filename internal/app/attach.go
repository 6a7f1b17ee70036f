package app

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"time"

	"github.com/licensectl/licensectl/internal/licensing"
)

var _ licensing.AttachService = (*App)(nil)

// AttachRequestRow is a stored attach request.
type AttachRequestRow struct {
	ID   int64
	Hash []byte // licensing.AttachCodeHash of its code
	licensing.StoredAttach
}

// NewAttachRequest is a pending attach request to insert.
type NewAttachRequest struct {
	AccountID   int64
	Target      licensing.AttachTarget // Email: where the code goes
	Hash        []byte
	RequestedAt time.Time
	ExpiresAt   time.Time
}

// AttachSource is an account some of a target's licenses are taken from.
type AttachSource struct {
	AccountID int64
	Email     string
	Licenses  int
}

// AttachRateWhere names the requests a rate limit counts: the account's
// (AccountID set) or the purchase's.
type AttachRateWhere struct {
	AccountID  int64
	PurchaseID string
}

// AttachTx is what the attach use cases need of a transaction. "The target's
// licenses" are those of its purchase (or its one key) that are not in
// account acct: the ones an attach would move.
type AttachTx interface {
	// LicensePurchase returns the purchase and purchase email of the license
	// with this key, in any account, or nil.
	LicensePurchase(ctx context.Context, key string) (*licensing.AttachTarget, error)
	// PurchaseEmail returns a purchase with its purchase email, or nil.
	PurchaseEmail(ctx context.Context, purchaseID string) (*licensing.AttachTarget, error)
	// AttachKeys lists the keys of the target's licenses, by license id.
	AttachKeys(ctx context.Context, t licensing.AttachTarget, acct int64) ([]string, error)
	// AttachSources counts the target's licenses per account they are in
	// (licenses in no account are not counted), ordered by email.
	AttachSources(ctx context.Context, t licensing.AttachTarget, acct int64) ([]AttachSource, error)
	// MoveLicenses puts the target's licenses in account acct, out of their
	// company.
	MoveLicenses(ctx context.Context, t licensing.AttachTarget, acct int64) error
	// AttachRequestTimes returns when the newest n requests of w made after
	// since were made, newest first, leaving undelivered ones out.
	AttachRequestTimes(ctx context.Context, w AttachRateWhere, since time.Time, n int) ([]time.Time, error)
	// AttachSecret returns the store's key for code hashes, or nil.
	AttachSecret(ctx context.Context) ([]byte, error)
	// InsertAttachSecret stores the key for code hashes; of two replicas that
	// insert one at once, the second fails on the key and its rerun reads
	// the first one's.
	InsertAttachSecret(ctx context.Context, secret []byte) error
	// SupersedeAttachRequests closes the account's pending requests for the
	// target (its purchase, and its key or none) as superseded.
	SupersedeAttachRequests(ctx context.Context, acct int64, t licensing.AttachTarget, at time.Time) error
	// InsertAttachRequest records a pending request and returns its id.
	InsertAttachRequest(ctx context.Context, r NewAttachRequest) (int64, error)
	// AttachRequests returns the account's requests made after since, by id,
	// taking their row locks with ForUpdate.
	AttachRequests(ctx context.Context, acct int64, since time.Time, lock Lock) ([]AttachRequestRow, error)
	// AddAttachAttempt counts one wrong code against a pending request and
	// returns its attempts; false when the request was no longer pending.
	// The count is an increment of the stored value.
	AddAttachAttempt(ctx context.Context, id int64) (int, bool, error)
	// CloseAttachRequest moves a pending request to state; false when it was
	// no longer pending.
	CloseAttachRequest(ctx context.Context, id int64, state string, at time.Time) (bool, error)
	// MarkAttachUndelivered closes a request as undelivered, whatever its
	// state: its code never reached anyone.
	MarkAttachUndelivered(ctx context.Context, id int64, at time.Time) error
}

// ScanAttachRequest reads a row of columns id, purchase_id, license_key (""
// for none), sent_to, code_hash, expires_at, closed_at (0 for none), state,
// attempts.
func ScanAttachRequest(sc Scanner) (*AttachRequestRow, error) {
	var (
		r               AttachRequestRow
		expires, closed int64
	)
	if err := sc.Scan(&r.ID, &r.Target.PurchaseID, &r.Target.Key, &r.Target.Email, &r.Hash, &expires,
		&closed, &r.State, &r.Attempts); err != nil {
		return nil, err
	}
	r.ExpiresAt, r.ClosedAt = Unix(expires), Unix(closed)
	return &r, nil
}

// parseAttachRequest checks step 1's input before anything is read.
func parseAttachRequest(req licensing.AttachRequest) (licensing.AttachTarget, error) {
	switch {
	case req.PurchaseID != "" && req.Key != "":
		return licensing.AttachTarget{}, licensing.Errorf(licensing.EINVALID, "give a purchase ID or a license key, not both")
	case req.Key != "":
		k, err := licensing.ParseKey(req.Key)
		return licensing.AttachTarget{Key: k}, err
	case req.PurchaseID != "":
		id, err := licensing.NormalizePurchaseID(req.PurchaseID)
		return licensing.AttachTarget{PurchaseID: id}, err
	}
	return licensing.AttachTarget{}, licensing.Errorf(licensing.EINVALID, "a purchase ID or a license key is required")
}

// findAttachTarget looks the purchase (or license) up across all accounts:
// the proof of ownership is the email, not the account it sits in now.
func findAttachTarget(ctx context.Context, tx Tx, t licensing.AttachTarget) (licensing.AttachTarget, error) {
	if t.Key != "" {
		found, err := tx.LicensePurchase(ctx, t.Key)
		if err == nil && found == nil {
			err = licenseNotFound(t.Key)
		}
		if err != nil {
			return t, err
		}
		t.PurchaseID, t.Email = found.PurchaseID, found.Email
		return t, nil
	}
	found, err := tx.PurchaseEmail(ctx, t.PurchaseID)
	if err == nil && found == nil {
		err = licensing.Errorf(licensing.ENOTFOUND, "purchase %s not found", t.PurchaseID)
	}
	if err != nil {
		return t, err
	}
	t.Email = found.Email
	return t, nil
}

// attachSecret returns the store's key for code hashes, making it on first
// use when create is set; nil when there is none yet.
func attachSecret(ctx context.Context, tx Tx, create bool) ([]byte, error) {
	secret, err := tx.AttachSecret(ctx)
	if err != nil || secret != nil || !create {
		return secret, err
	}
	secret = make([]byte, 32)
	rand.Read(secret)
	return secret, tx.InsertAttachSecret(ctx, secret)
}

// attachRequested is what step 1's transaction leaves for the mail after it.
type attachRequested struct {
	pending   *licensing.AttachPending
	msg       licensing.Mail
	requestID int64
	acct      int64
	target    licensing.AttachTarget
}

// RequestAttach is step 1: it records a pending attach holding only a keyed
// hash of a fresh code, commits, and then mails the code. Mailing outside the
// transaction keeps a slow mail server from holding the store's write lock
// (or a PostgreSQL transaction open); a failed delivery marks the request
// undelivered (it then neither works nor counts against the rate limits).
//
// The rate limits hold across replicas: two requests that each count the
// other's window are SERIALIZABLE conflicts, so one starts over and counts
// the other's row.
func (a *App) RequestAttach(ctx context.Context, req licensing.AttachRequest, mailer licensing.Mailer) (*licensing.AttachPending, error) {
	parsed, err := parseAttachRequest(req)
	if err != nil {
		return nil, err
	}
	if mailer == nil {
		return nil, licensing.Errorf(licensing.EINTERNAL, "no mailer to send the confirmation code with")
	}
	code := licensing.NewAttachCode()
	canonical, err := licensing.NormalizeAttachCode(code) // what step 2 hashes
	if err != nil {
		return nil, err
	}
	r, err := write(ctx, a, func(tx Tx, now time.Time) (*attachRequested, error) {
		acct, err := actingAccount(ctx, tx)
		if err != nil {
			return nil, err
		}
		t, err := findAttachTarget(ctx, tx, parsed)
		if err != nil {
			return nil, err
		}
		keys, err := tx.AttachKeys(ctx, t, acct.id)
		if err != nil {
			return nil, err
		}
		if len(keys) == 0 {
			return nil, t.AlreadyYours(acct.email)
		}
		since := licensing.AttachRateWindowStart(now)
		byAccount, err := tx.AttachRequestTimes(ctx, AttachRateWhere{AccountID: acct.id}, since, licensing.AttachRateLimit)
		if err != nil {
			return nil, err
		}
		byPurchase, err := tx.AttachRequestTimes(ctx, AttachRateWhere{PurchaseID: t.PurchaseID}, since, licensing.AttachRateLimit)
		if err != nil {
			return nil, err
		}
		if err := licensing.CheckAttachRate(now, byAccount, byPurchase, t.PurchaseID); err != nil {
			return nil, err
		}
		secret, err := attachSecret(ctx, tx, true)
		if err != nil {
			return nil, err
		}
		// A new code replaces the account's earlier one for the same target.
		if err := tx.SupersedeAttachRequests(ctx, acct.id, t, now); err != nil {
			return nil, err
		}
		out := &licensing.AttachPending{PurchaseID: t.PurchaseID, Key: t.Key, Licenses: len(keys),
			SentTo: licensing.MaskEmail(t.Email), ExpiresAt: now.Add(licensing.AttachCodeTTL)}
		id, err := tx.InsertAttachRequest(ctx, NewAttachRequest{AccountID: acct.id, Target: t,
			Hash: licensing.AttachCodeHash(secret, canonical), RequestedAt: now, ExpiresAt: out.ExpiresAt})
		if err != nil {
			return nil, err
		}
		if err := audit(ctx, tx, acct.id, now, acct.email, "attach.request", t.Object(), map[string]any{
			"purchase_id": t.PurchaseID, "licenses": len(keys), "sent_to": out.SentTo, "expires_at": out.ExpiresAt}); err != nil {
			return nil, err
		}
		return &attachRequested{pending: out, msg: licensing.AttachMessage(t.Email, acct.email, code, out, keys),
				requestID: id, acct: acct.id, target: t},
			emit(ctx, tx, acct.id, now, licensing.EventAttachRequested, t.Object(), out)
	})
	if err != nil {
		return nil, err
	}
	if err := mailer.Send(ctx, r.msg); err != nil {
		return nil, a.undelivered(ctx, r, err)
	}
	return r.pending, nil
}

// undelivered voids a request whose code could not be sent and says why.
func (a *App) undelivered(ctx context.Context, r *attachRequested, sendErr error) error {
	// Recorded even when the send failed because ctx was cancelled.
	wctx := context.WithoutCancel(ctx)
	_, werr := write(wctx, a, func(tx Tx, now time.Time) (struct{}, error) {
		if err := tx.MarkAttachUndelivered(wctx, r.requestID, now); err != nil {
			return struct{}{}, err
		}
		return struct{}{}, audit(wctx, tx, r.acct, now, actor(ctx), "attach.undelivered", r.target.Object(),
			map[string]any{"purchase_id": r.target.PurchaseID, "sent_to": r.pending.SentTo})
	})
	if cerr := ctx.Err(); cerr != nil {
		return errors.Join(cerr, werr)
	}
	e := licensing.Errorf(licensing.EINTERNAL, "could not send the confirmation code to %s: %v", r.pending.SentTo, sendErr).
		WithHint("check the mail settings (mail.smtp.*, mail.outbox); nothing was attached and this request does not count against the rate limit")
	if werr != nil {
		return errors.Join(e, werr)
	}
	return e
}

// attachConfirmed is what step 2's transaction answers: the licenses moved,
// or a refusal that is committed (a counted attempt, a used-up code) and
// returned after.
type attachConfirmed struct {
	out     *licensing.AttachResult
	refusal error
}

// ConfirmAttach is step 2. A refusal that must be remembered (a wrong code
// counts an attempt; a code whose licenses are already here is used up) is
// committed first and returned after.
//
// The account's recent requests are read with their row locks: confirmations
// of one account queue up, and each sees the attempts and states the one
// before it left.
func (a *App) ConfirmAttach(ctx context.Context, code string) (*licensing.AttachResult, error) {
	code, err := licensing.NormalizeAttachCode(code)
	if err != nil {
		return nil, err
	}
	r, err := write(ctx, a, func(tx Tx, now time.Time) (attachConfirmed, error) {
		acct, err := actingAccount(ctx, tx)
		if err != nil {
			return attachConfirmed{}, err
		}
		reqs, err := tx.AttachRequests(ctx, acct.id, now.Add(-licensing.AttachHistory), ForUpdate)
		if err != nil {
			return attachConfirmed{}, err
		}
		secret, err := attachSecret(ctx, tx, false)
		if err != nil {
			return attachConfirmed{}, err
		}
		match := matchAttachCode(reqs, secret, code)
		if match == nil {
			refusal, err := wrongAttachCode(ctx, tx, now, acct, reqs)
			return attachConfirmed{refusal: refusal}, err
		}
		if refusal := match.Refusal(now); refusal != nil {
			return attachConfirmed{refusal: refusal}, nil
		}
		out, refusal, err := moveLicenses(ctx, tx, now, acct, match)
		return attachConfirmed{out: out, refusal: refusal}, err
	})
	if err != nil {
		return nil, err
	}
	if r.refusal != nil {
		return nil, r.refusal
	}
	return r.out, nil
}

// matchAttachCode returns the request code names, or nil. Every row is
// compared, in constant time each.
func matchAttachCode(reqs []AttachRequestRow, secret []byte, code string) *AttachRequestRow {
	if secret == nil {
		return nil
	}
	h := licensing.AttachCodeHash(secret, code)
	var match *AttachRequestRow
	for i := range reqs {
		if subtle.ConstantTimeCompare(reqs[i].Hash, h) == 1 && reqs[i].Answers() {
			match = &reqs[i]
		}
	}
	return match
}

// wrongAttachCode counts a wrong code against each live pending request of
// the account, voids those that reach AttachMaxAttempts, and returns the
// refusal to report once that is committed. Each count is an increment of
// the stored value, only while the request is pending: two wrong codes at
// once are two attempts.
func wrongAttachCode(ctx context.Context, tx Tx, now time.Time, acct account, reqs []AttachRequestRow) (refusal, err error) {
	var w licensing.WrongAttachCode
	for i := range reqs {
		r := &reqs[i]
		if !r.Live(now) {
			continue
		}
		attempts, ok, err := tx.AddAttachAttempt(ctx, r.ID)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, ErrRetry // closed since it was read: count again on fresh rows
		}
		void := w.Count(r.Target, attempts)
		if void {
			if ok, err := tx.CloseAttachRequest(ctx, r.ID, licensing.AttachStateVoid, now); err != nil {
				return nil, err
			} else if !ok {
				return nil, ErrRetry
			}
		}
		if err := audit(ctx, tx, acct.id, now, acct.email, "attach.reject", r.Target.Object(), map[string]any{
			"purchase_id": r.Target.PurchaseID, "attempts": attempts, "void": void}); err != nil {
			return nil, err
		}
	}
	return w.Err(), nil
}

// moveLicenses gives the account the target's licenses that are not its yet,
// in the caller's transaction. Licenses leave their company (companies belong
// to the old account); a move out of another account is a transfer, recorded
// in both accounts' audit logs. The code is used up only while still pending,
// so two confirmations of one code move the licenses once.
func moveLicenses(ctx context.Context, tx Tx, now time.Time, acct account, r *AttachRequestRow) (out *licensing.AttachResult, refusal, err error) {
	t := r.Target
	keys, err := tx.AttachKeys(ctx, t, acct.id)
	if err != nil {
		return nil, nil, err
	}
	if ok, err := tx.CloseAttachRequest(ctx, r.ID, licensing.AttachStateUsed, now); err != nil {
		return nil, nil, err
	} else if !ok {
		return nil, nil, ErrRetry
	}
	if len(keys) == 0 {
		return nil, t.AlreadyYours(acct.email), nil
	}
	sources, err := tx.AttachSources(ctx, t, acct.id)
	if err != nil {
		return nil, nil, err
	}
	if err := tx.MoveLicenses(ctx, t, acct.id); err != nil {
		return nil, nil, err
	}
	out = &licensing.AttachResult{PurchaseID: t.PurchaseID, Key: t.Key, Account: acct.email, Licenses: keys,
		TransferredFrom: []string{}, AttachedAt: now}
	transferred := 0
	for _, src := range sources {
		out.TransferredFrom = append(out.TransferredFrom, src.Email)
		transferred += src.Licenses
		details := map[string]any{"purchase_id": t.PurchaseID, "from": src.Email, "to": acct.email, "licenses": src.Licenses}
		for _, owner := range []int64{src.AccountID, acct.id} {
			if err := audit(ctx, tx, owner, now, acct.email, "license.transfer", t.Object(), details); err != nil {
				return nil, nil, err
			}
		}
	}
	if err := audit(ctx, tx, acct.id, now, acct.email, "attach.confirm", t.Object(), map[string]any{
		"purchase_id": t.PurchaseID, "licenses": len(keys), "transferred": transferred, "sent_to": licensing.MaskEmail(t.Email)}); err != nil {
		return nil, nil, err
	}
	return out, nil, emit(ctx, tx, acct.id, now, licensing.EventAttachCompleted, t.Object(), out)
}

// ScanAttachSource reads a row of columns account id, email, licenses.
func ScanAttachSource(sc Scanner) (*AttachSource, error) {
	var s AttachSource
	return &s, sc.Scan(&s.AccountID, &s.Email, &s.Licenses)
}

// ScanString reads a row of one text column.
func ScanString(sc Scanner) (*string, error) {
	var s string
	return &s, sc.Scan(&s)
}

// ScanUnixTime reads a row of one stored time.
func ScanUnixTime(sc Scanner) (*time.Time, error) {
	var sec int64
	if err := sc.Scan(&sec); err != nil {
		return nil, err
	}
	t := Unix(sec)
	return &t, nil
}
