package postgres

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/licensectl/licensectl/internal/licensing"
)

var _ licensing.AttachService = (*Store)(nil)

// attachHistory is how far back a confirmed, voided or replaced code is still
// recognised, to answer "already used" rather than "wrong code".
const attachHistory = 24 * time.Hour

// attachTarget is what one attach request moves: every license of a
// purchase, or one license of it.
type attachTarget struct {
	purchaseID string
	key        string // "" : the whole purchase
	email      string // the purchase email, where the code goes
}

// where selects the target's licenses that are not (yet) the account's,
// adding its arguments to a.
func (t attachTarget) where(a *args, acct int64) string {
	if t.key != "" {
		return "key = " + a.add(t.key) + " AND (account_id IS NULL OR account_id <> " + a.add(acct) + ")"
	}
	return "purchase_id = " + a.add(t.purchaseID) + " AND (account_id IS NULL OR account_id <> " + a.add(acct) + ")"
}

// object names the target in the audit log.
func (t attachTarget) object() string {
	if t.key != "" {
		return t.key
	}
	return t.purchaseID
}

// nullKey is the target's key for the license_key column.
func (t attachTarget) nullKey() any {
	if t.key == "" {
		return nil
	}
	return t.key
}

// parseAttachRequest checks step 1's input before anything is read.
func parseAttachRequest(req licensing.AttachRequest) (attachTarget, error) {
	switch {
	case req.PurchaseID != "" && req.Key != "":
		return attachTarget{}, licensing.Errorf(licensing.EINVALID, "give a purchase ID or a license key, not both")
	case req.Key != "":
		k, err := parseKey(req.Key)
		return attachTarget{key: k}, err
	case req.PurchaseID != "":
		id, err := licensing.NormalizePurchaseID(req.PurchaseID)
		return attachTarget{purchaseID: id}, err
	}
	return attachTarget{}, licensing.Errorf(licensing.EINVALID, "a purchase ID or a license key is required")
}

// findAttachTarget looks the purchase (or license) up across all accounts:
// the proof of ownership is the email, not the account it sits in now.
func findAttachTarget(ctx context.Context, q queryer, t attachTarget) (attachTarget, error) {
	if t.key != "" {
		err := q.QueryRow(ctx, "SELECT purchase_id, purchase_email FROM licenses WHERE key = $1", t.key).Scan(&t.purchaseID, &t.email)
		if errors.Is(err, pgx.ErrNoRows) {
			return t, licenseNotFound(t.key)
		}
		return t, err
	}
	err := q.QueryRow(ctx, "SELECT purchase_email FROM purchases WHERE id = $1", t.purchaseID).Scan(&t.email)
	if errors.Is(err, pgx.ErrNoRows) {
		return t, licensing.Errorf(licensing.ENOTFOUND, "purchase %s not found", t.purchaseID)
	}
	return t, err
}

// keysToMove lists the target's licenses that are not the account's yet.
func keysToMove(ctx context.Context, q queryer, t attachTarget, acct int64) ([]string, error) {
	var a args
	rows, err := q.Query(ctx, "SELECT key FROM licenses WHERE "+t.where(&a, acct)+" ORDER BY id", a...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	keys := []string{}
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			return nil, err
		}
		keys = append(keys, k)
	}
	return keys, rows.Err()
}

// alreadyYours is the refusal when nothing of the target is left to move.
func alreadyYours(t attachTarget, login string) error {
	switch {
	case t.email == login:
		return licensing.Errorf(licensing.ECONFLICT, "purchase %s was bought with your login email %s: its licenses are already yours", t.purchaseID, login).
			WithHint("licenses bought with your login email appear in your account by themselves; see `licensectl licenses list --search %s`", t.purchaseID)
	case t.key != "":
		return licensing.Errorf(licensing.ECONFLICT, "license %s is already in your account", t.key)
	}
	return licensing.Errorf(licensing.ECONFLICT, "every license of purchase %s is already in your account", t.purchaseID).
		WithHint("see `licensectl licenses list --search %s`", t.purchaseID)
}

// RequestAttach is step 1: it records a pending attach holding only a keyed
// hash of a fresh code, commits, and then mails the code. Mailing outside the
// transaction keeps a slow mail server from holding a transaction open; a
// failed delivery marks the request undelivered (it then neither works nor
// counts against the rate limits).
//
// The rate limits hold across replicas: two requests that each count the
// other's window are SERIALIZABLE conflicts, so one starts over and counts
// the other's row.
func (s *Store) RequestAttach(ctx context.Context, req licensing.AttachRequest, mailer licensing.Mailer) (*licensing.AttachPending, error) {
	t, err := parseAttachRequest(req)
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
	var (
		out       *licensing.AttachPending
		msg       licensing.Mail
		requestID int64
		acctID    int64
	)
	parsed := t
	err = s.write(ctx, func(tx pgx.Tx) error {
		acct, login, err := actingAccount(ctx, tx)
		if err != nil {
			return err
		}
		acctID = acct
		if t, err = findAttachTarget(ctx, tx, parsed); err != nil {
			return err
		}
		keys, err := keysToMove(ctx, tx, t, acct)
		if err != nil {
			return err
		}
		if len(keys) == 0 {
			return alreadyYours(t, login)
		}
		now := s.now()
		if err := checkAttachRate(ctx, tx, now, "account_id", acct,
			fmt.Sprintf("you requested %d confirmation codes in the last hour", licensing.AttachRateLimit)); err != nil {
			return err
		}
		if err := checkAttachRate(ctx, tx, now, "purchase_id", t.purchaseID,
			fmt.Sprintf("%d confirmation codes were requested for purchase %s in the last hour", licensing.AttachRateLimit, t.purchaseID)); err != nil {
			return err
		}
		secret, err := attachSecret(ctx, tx, true)
		if err != nil {
			return err
		}
		// A new code replaces the account's earlier one for the same target.
		if _, err := tx.Exec(ctx, `UPDATE attach_requests SET state = 'superseded', closed_at = $1
			WHERE account_id = $2 AND purchase_id = $3 AND license_key IS NOT DISTINCT FROM $4 AND state = 'pending'`,
			now.Unix(), acct, t.purchaseID, t.nullKey()); err != nil {
			return err
		}
		out = &licensing.AttachPending{PurchaseID: t.purchaseID, Key: t.key, Licenses: len(keys),
			SentTo: licensing.MaskEmail(t.email), ExpiresAt: now.Add(licensing.AttachCodeTTL)}
		if err := tx.QueryRow(ctx, `INSERT INTO attach_requests (account_id, purchase_id, license_key, sent_to,
				code_hash, requested_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`,
			acct, t.purchaseID, t.nullKey(), t.email, codeHash(secret, canonical), now.Unix(), out.ExpiresAt.Unix()).
			Scan(&requestID); err != nil {
			return err
		}
		msg = licensing.AttachMessage(t.email, login, code, out, keys)
		return audit(ctx, tx, acct, now, login, "attach.request", t.object(), map[string]any{
			"purchase_id": t.purchaseID, "licenses": len(keys), "sent_to": out.SentTo, "expires_at": out.ExpiresAt})
	})
	if err != nil {
		return nil, err
	}
	if err := mailer.Send(ctx, msg); err != nil {
		return nil, s.undelivered(ctx, acctID, requestID, t, out.SentTo, err)
	}
	return out, nil
}

// undelivered voids a request whose code could not be sent and says why.
func (s *Store) undelivered(ctx context.Context, acct, requestID int64, t attachTarget, sentTo string, sendErr error) error {
	// Recorded even when the send failed because ctx was cancelled.
	wctx := context.WithoutCancel(ctx)
	werr := s.write(wctx, func(tx pgx.Tx) error {
		now := s.now()
		if _, err := tx.Exec(wctx, "UPDATE attach_requests SET state = 'undelivered', closed_at = $1 WHERE id = $2", now.Unix(), requestID); err != nil {
			return err
		}
		return audit(wctx, tx, acct, now, actor(ctx), "attach.undelivered", t.object(), map[string]any{"purchase_id": t.purchaseID, "sent_to": sentTo})
	})
	if cerr := ctx.Err(); cerr != nil {
		return errors.Join(cerr, werr)
	}
	e := licensing.Errorf(licensing.EINTERNAL, "could not send the confirmation code to %s: %v", sentTo, sendErr).
		WithHint("check the mail settings (mail.smtp.*, mail.outbox); nothing was attached and this request does not count against the rate limit")
	if werr != nil {
		return errors.Join(e, werr)
	}
	return e
}

// checkAttachRate refuses a request when AttachRateLimit requests (delivered
// or pending) of the same account or purchase fall in the last window, and
// says when the oldest of them leaves it. column is a constant of the caller.
func checkAttachRate(ctx context.Context, q queryer, now time.Time, column string, value any, what string) error {
	var at int64
	err := q.QueryRow(ctx, `SELECT requested_at FROM attach_requests
		WHERE `+column+` = $1 AND requested_at > $2 AND state <> 'undelivered'
		ORDER BY requested_at DESC LIMIT 1 OFFSET $3`,
		value, now.Add(-licensing.AttachRateWindow).Unix(), licensing.AttachRateLimit-1).Scan(&at)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil
	} else if err != nil {
		return err
	}
	retry := unixTime(at).Add(licensing.AttachRateWindow)
	e := licensing.Errorf(licensing.ECONFLICT, "too many confirmation codes: %s; retry after %s (%s)",
		what, retry.Format(time.RFC3339), waitText(retry.Sub(now))).
		WithHint("the last code sent is still valid for %d minutes after it was sent", int(licensing.AttachCodeTTL/time.Minute))
	return &licensing.RetryError{Err: e, RetryAt: retry}
}

// waitText says how long to wait, rounded up to whole minutes.
func waitText(d time.Duration) string {
	m := int((d + time.Minute - 1) / time.Minute)
	if m <= 1 {
		return "in 1 minute"
	}
	return fmt.Sprintf("in %d minutes", m)
}

// attachSecret returns the store's HMAC key for codes, making it on first use
// when create is set; nil when there is none yet. Of two replicas that make
// it at once, the second's insert fails on the key and its rerun reads the
// first one's secret.
func attachSecret(ctx context.Context, tx pgx.Tx, create bool) ([]byte, error) {
	var secret []byte
	err := tx.QueryRow(ctx, "SELECT secret FROM attach_secret WHERE id = 1").Scan(&secret)
	if !errors.Is(err, pgx.ErrNoRows) || !create {
		if errors.Is(err, pgx.ErrNoRows) {
			err = nil
		}
		return secret, err
	}
	secret = make([]byte, 32)
	rand.Read(secret)
	_, err = tx.Exec(ctx, "INSERT INTO attach_secret (id, secret) VALUES (1, $1)", secret)
	return secret, err
}

// codeHash is the keyed hash stored instead of a code.
func codeHash(secret []byte, code string) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(code))
	return m.Sum(nil)
}

// attachRow is one stored attach request.
type attachRow struct {
	id                  int64
	target              attachTarget
	hash                []byte
	expiresAt, closedAt int64
	state               string
	attempts            int
}

// ConfirmAttach is step 2. A refusal that must be remembered (a wrong code
// counts an attempt; a code whose licenses are already here is used up) is
// committed first and returned after.
func (s *Store) ConfirmAttach(ctx context.Context, code string) (*licensing.AttachResult, error) {
	code, err := licensing.NormalizeAttachCode(code)
	if err != nil {
		return nil, err
	}
	var out *licensing.AttachResult
	var refusal error
	err = s.write(ctx, func(tx pgx.Tx) error {
		out, refusal = nil, nil
		acct, login, err := actingAccount(ctx, tx)
		if err != nil {
			return err
		}
		now := s.now()
		reqs, err := recentAttachRequests(ctx, tx, acct, now)
		if err != nil {
			return err
		}
		secret, err := attachSecret(ctx, tx, false)
		if err != nil {
			return err
		}
		var match *attachRow
		if secret != nil {
			h := codeHash(secret, code)
			for i := range reqs {
				// Every row is compared, in constant time each.
				if subtle.ConstantTimeCompare(reqs[i].hash, h) == 1 && reqs[i].state != "undelivered" {
					match = &reqs[i]
				}
			}
		}
		if match == nil {
			refusal, err = wrongAttachCode(ctx, tx, acct, login, reqs, now)
			return err
		}
		switch {
		case match.state == "used":
			refusal = licensing.Errorf(licensing.ECONFLICT, "this confirmation code was already used: the licenses were attached at %s",
				unixTime(match.closedAt).Format(time.RFC3339)).
				WithHint("see `licensectl licenses list --search %s`", match.target.purchaseID)
			return nil
		case match.state == "void":
			refusal = licensing.Errorf(licensing.EUNAUTHORIZED, "this confirmation code was cancelled after %d wrong codes", licensing.AttachMaxAttempts).
				WithHint("request a new code: %s", requestCommand(match.target))
			return nil
		case match.state == "superseded":
			refusal = licensing.Errorf(licensing.EUNAUTHORIZED, "this confirmation code was replaced by a newer one").
				WithHint("use the code of the latest email")
			return nil
		case now.Unix() >= match.expiresAt:
			refusal = licensing.Errorf(licensing.EUNAUTHORIZED, "this confirmation code expired at %s", unixTime(match.expiresAt).Format(time.RFC3339)).
				WithHint("codes are valid for %d minutes; request a new one: %s", int(licensing.AttachCodeTTL/time.Minute), requestCommand(match.target))
			return nil
		}
		out, refusal, err = s.moveLicenses(ctx, tx, acct, login, match, now)
		return err
	})
	if err != nil {
		return nil, err
	}
	if refusal != nil {
		return nil, refusal
	}
	return out, nil
}

func requestCommand(t attachTarget) string {
	if t.key != "" {
		return "licensectl licenses attach --key " + t.key
	}
	return "licensectl licenses attach --purchase-id " + t.purchaseID
}

// recentAttachRequests returns the account's requests made within
// attachHistory (longer than a code lives, so every live one is among them),
// locked: confirmations of one account queue up, and each sees the attempts
// and states the one before it left. The rate limit keeps them few.
func recentAttachRequests(ctx context.Context, tx pgx.Tx, acct int64, now time.Time) ([]attachRow, error) {
	rows, err := tx.Query(ctx, `SELECT id, purchase_id, coalesce(license_key, ''), sent_to, code_hash, expires_at,
			coalesce(closed_at, 0), state, attempts
		FROM attach_requests WHERE account_id = $1 AND requested_at > $2 ORDER BY id FOR UPDATE`,
		acct, now.Add(-attachHistory).Unix())
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []attachRow
	for rows.Next() {
		var r attachRow
		if err := rows.Scan(&r.id, &r.target.purchaseID, &r.target.key, &r.target.email, &r.hash, &r.expiresAt,
			&r.closedAt, &r.state, &r.attempts); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// wrongAttachCode counts a wrong code against each live pending request of
// the account, voids those that reach AttachMaxAttempts, and returns the
// refusal to report once that is committed. Each count is an increment of
// the stored value, only while the request is pending: two wrong codes at
// once are two attempts.
func wrongAttachCode(ctx context.Context, tx pgx.Tx, acct int64, login string, reqs []attachRow, now time.Time) (refusal, err error) {
	left := licensing.AttachMaxAttempts
	var voided []attachTarget
	live := 0
	for _, r := range reqs {
		if r.state != "pending" || now.Unix() >= r.expiresAt {
			continue
		}
		live++
		var attempts int
		err := tx.QueryRow(ctx, `UPDATE attach_requests SET attempts = attempts + 1,
				state = CASE WHEN attempts + 1 >= $1 THEN 'void' ELSE state END,
				closed_at = CASE WHEN attempts + 1 >= $1 THEN $2 ELSE closed_at END
			WHERE id = $3 AND state = 'pending' RETURNING attempts`,
			licensing.AttachMaxAttempts, now.Unix(), r.id).Scan(&attempts)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil, errRetry // closed since it was read: count again on fresh rows
		} else if err != nil {
			return nil, err
		}
		void := attempts >= licensing.AttachMaxAttempts
		if void {
			voided = append(voided, r.target)
		}
		if err := audit(ctx, tx, acct, now, login, "attach.reject", r.target.object(), map[string]any{
			"purchase_id": r.target.purchaseID, "attempts": attempts, "void": void}); err != nil {
			return nil, err
		}
		left = min(left, licensing.AttachMaxAttempts-attempts)
	}
	switch {
	case live == 0:
		return licensing.Errorf(licensing.EUNAUTHORIZED, "no pending attach request matches this code").
			WithHint("codes expire after %d minutes and work only for the account that requested them; request one with `licensectl licenses attach --purchase-id ID` or `--key KEY`",
				int(licensing.AttachCodeTTL/time.Minute)), nil
	case len(voided) > 0:
		return licensing.Errorf(licensing.EUNAUTHORIZED, "wrong confirmation code; after %d wrong codes the pending attach of %s was cancelled",
			licensing.AttachMaxAttempts, voided[0].object()).
			WithHint("request a new code: %s", requestCommand(voided[0])), nil
	}
	return licensing.Errorf(licensing.EUNAUTHORIZED, "wrong confirmation code (%d attempts left)", left).
		WithHint("copy the code from the latest email; after %d wrong codes the request is cancelled", licensing.AttachMaxAttempts), nil
}

// moveLicenses gives the account the target's licenses that are not its yet,
// in the caller's transaction. Licenses leave their company (companies belong
// to the old account); a move out of another account is a transfer, recorded
// in both accounts' audit logs. The code is used up only while still pending,
// so two confirmations of one code move the licenses once.
func (s *Store) moveLicenses(ctx context.Context, tx pgx.Tx, acct int64, login string, r *attachRow, now time.Time) (out *licensing.AttachResult, refusal, err error) {
	t := r.target
	keys, err := keysToMove(ctx, tx, t, acct)
	if err != nil {
		return nil, nil, err
	}
	tag, err := tx.Exec(ctx, "UPDATE attach_requests SET state = 'used', closed_at = $1 WHERE id = $2 AND state = 'pending'", now.Unix(), r.id)
	if err != nil {
		return nil, nil, err
	}
	if tag.RowsAffected() != 1 {
		return nil, nil, errRetry
	}
	if len(keys) == 0 {
		return nil, alreadyYours(t, login), nil
	}
	type source struct {
		id    int64
		email string
		n     int
	}
	var sources []source
	var a args
	rows, err := tx.Query(ctx, `SELECT a.id, a.email, count(*) FROM licenses JOIN accounts a ON a.id = licenses.account_id
		WHERE `+t.where(&a, acct)+` GROUP BY a.id, a.email ORDER BY a.email`, a...)
	if err != nil {
		return nil, nil, err
	}
	for rows.Next() {
		var src source
		if err := rows.Scan(&src.id, &src.email, &src.n); err != nil {
			rows.Close()
			return nil, nil, err
		}
		sources = append(sources, src)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, nil, err
	}
	u := args{acct}
	if _, err := tx.Exec(ctx, "UPDATE licenses SET account_id = $1, company_id = NULL WHERE "+t.where(&u, acct), u...); err != nil {
		return nil, nil, err
	}
	out = &licensing.AttachResult{PurchaseID: t.purchaseID, Key: t.key, Account: login, Licenses: keys,
		TransferredFrom: []string{}, AttachedAt: now}
	transferred := 0
	for _, src := range sources {
		out.TransferredFrom = append(out.TransferredFrom, src.email)
		transferred += src.n
		details := map[string]any{"purchase_id": t.purchaseID, "from": src.email, "to": login, "licenses": src.n}
		for _, owner := range []int64{src.id, acct} {
			if err := audit(ctx, tx, owner, now, login, "license.transfer", t.object(), details); err != nil {
				return nil, nil, err
			}
		}
	}
	err = audit(ctx, tx, acct, now, login, "attach.confirm", t.object(), map[string]any{
		"purchase_id": t.purchaseID, "licenses": len(keys), "transferred": transferred, "sent_to": licensing.MaskEmail(t.email)})
	return out, nil, err
}
