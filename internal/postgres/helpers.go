package postgres

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/licensectl/licensectl/internal/licensing"
)

// actingAccount returns the id and email of the account in ctx.
func actingAccount(ctx context.Context, q queryer) (int64, string, error) {
	email, err := licensing.RequireAccount(ctx)
	if err != nil {
		return 0, "", err
	}
	email = strings.ToLower(strings.TrimSpace(email))
	var id int64
	err = q.QueryRow(ctx, "SELECT id FROM accounts WHERE email = $1", email).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, "", licensing.Errorf(licensing.EUNAUTHORIZED, "account %s does not exist", email).
			WithHint("create it with `licensectl accounts create %s`", email)
	}
	return id, email, err
}

// actor names who made a change: the acting account, or the operator of the
// store for commands that run without one.
func actor(ctx context.Context) string {
	if a := licensing.AccountFrom(ctx); a != "" {
		return strings.ToLower(strings.TrimSpace(a))
	}
	return "operator"
}

// audit records an event in the caller's transaction, so that a change and
// its audit entry are committed together or not at all. accountID nil files
// the event outside any account.
func audit(ctx context.Context, tx pgx.Tx, accountID any, at time.Time, actor, action, object string, details any) error {
	js, err := json.Marshal(details)
	if err != nil {
		return err
	}
	_, err = tx.Exec(ctx, `INSERT INTO audit (account_id, time, actor, action, object, details)
		VALUES ($1, $2, $3, $4, $5, $6)`, accountID, at.Unix(), actor, action, object, string(js))
	return err
}

// companyID finds a company of the account by its folded name
// (licensing.FoldName), as the SQLite store does; the exact name finds the
// companies that fold alike but were created before names were folded (see
// foldNames).
func companyID(ctx context.Context, q queryer, accountID int64, name string) (int64, error) {
	id, _, err := company(ctx, q, accountID, name)
	return id, err
}

// company is companyID with the company's name as stored.
func company(ctx context.Context, q queryer, accountID int64, name string) (int64, string, error) {
	var id int64
	var stored string
	err := q.QueryRow(ctx, `SELECT id, name FROM companies WHERE account_id = $1 AND (name_folded = $2 OR name = $3)
		ORDER BY name = $3 DESC, id LIMIT 1`, accountID, licensing.FoldName(name), name).Scan(&id, &stored)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, "", licensing.Errorf(licensing.ENOTFOUND, "no company %q", name).
			WithHint("create it with `licensectl companies create %q`", name)
	}
	return id, stored, err
}

const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// newPurchaseID returns "P-" and 12 random Crockford base32 characters (60
// bits), the SQLite store's format.
func newPurchaseID() string {
	var raw [12]byte
	rand.Read(raw[:]) // never fails: crypto/rand panics rather than return an error
	b := []byte("P-000000000000")
	for i, r := range raw {
		b[2+i] = crockford[r&31]
	}
	return string(b)
}

func clipText(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}
