// Code the maintenance and renewal use cases still share, until they move
// to internal/app too (this file goes with them).

package sqlite

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"time"

	"github.com/licensectl/licensectl/internal/licensekey"
	"github.com/licensectl/licensectl/internal/licensing"
)

// progressEvery is how many licenses Buy inserts between progress reports and
// cancellation checks.
const progressEvery = 1000

// plan is a purchase that passed every rule and is priced, but not yet written.
type plan struct {
	buyerID       int64
	buyer         string
	purchaseEmail string
	owner         any // the account id that receives the licenses, or nil: nobody yet
	trial         bool
	items         []licensing.LineItem
	total         int64
	currency      string
	lines         []planLine
}

// planLine is one request line: the licenses it creates.
type planLine struct {
	product   *licensing.Product
	quantity  int
	term      string
	companyID any // nil: the global pool
}

// idempotency returns the key a purchase is stored under (one is made up
// when the request named none) and, when the account used the key before for
// the same request (same hash), the id of that earlier purchase. The same key
// with another request is a conflict.
func idempotency(ctx context.Context, q queryer, buyerID int64, key, hash string) (string, string, error) {
	if key == "" {
		return "auto-" + randomHex(16), "", nil
	}
	var id, storedHash string
	err := q.QueryRowContext(ctx, "SELECT id, request_hash FROM purchases WHERE account_id = ? AND idempotency_key = ?",
		buyerID, key).Scan(&id, &storedHash)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return key, "", nil
	case err != nil:
		return "", "", err
	case storedHash != hash:
		return "", "", &licensing.KeyReusedError{Err: licensing.Errorf(licensing.ECONFLICT, "idempotency key %s was already used for a different purchase (%s)", key, id).
			WithHint("use a new key for a new purchase")}
	}
	return key, id, nil
}

// requestHash identifies what a request asks for, so that a retried request
// is told apart from a different one that reuses its idempotency key. Any
// request type may be hashed; types differ in their JSON fields, so a key
// reused across request types is a conflict too.
func requestHash(req any) (string, error) {
	js, err := json.Marshal(req)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(js)
	return hex.EncodeToString(sum[:]), nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func (p *plan) purchase(id, key string, now time.Time) *licensing.Purchase {
	return &licensing.Purchase{ID: id, Account: p.buyer, PurchaseEmail: p.purchaseEmail, IdempotencyKey: key,
		Items: p.items, TotalCents: p.total, Currency: p.currency, Billing: licensing.PurchaseBilling(p.items),
		Trial: p.trial, Licenses: []string{}, CreatedAt: now}
}

// writePurchase inserts a prepared purchase. Licenses go through one prepared
// statement, all in the caller's transaction: a 100,000-license purchase is
// one commit (one fsync), and a cancelled one leaves nothing behind.
func (s *Store) writePurchase(ctx context.Context, tx *sql.Tx, p *plan, key, hash string, progress func(int)) (*licensing.Purchase, error) {
	now := s.now()
	out := p.purchase(newPurchaseID(), key, now)
	if _, err := tx.ExecContext(ctx, `INSERT INTO purchases (id, account_id, purchase_email, idempotency_key, request_hash,
			total_cents, currency, billing, trial, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		out.ID, p.buyerID, p.purchaseEmail, key, hash, p.total, p.currency, out.Billing, boolInt(p.trial), now.Unix()); err != nil {
		return nil, err
	}
	for i, it := range p.items {
		if _, err := tx.ExecContext(ctx, `INSERT INTO purchase_items (purchase_id, line_no, sku, description, quantity,
				unit_price_cents, amount_cents, company, billing) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			out.ID, i+1, it.SKU, it.Description, it.Quantity, it.UnitPriceCents, it.AmountCents, it.Company, it.Billing); err != nil {
			return nil, err
		}
		if it.Billing != "" {
			// The first purchase of a subscription type fixes its payment mode.
			if _, err := tx.ExecContext(ctx, "INSERT OR IGNORE INTO billing_modes (account_id, sku, billing) VALUES (?, ?, ?)",
				p.buyerID, it.SKU, it.Billing); err != nil {
				return nil, err
			}
		}
	}

	total := 0
	for _, l := range p.lines {
		total += l.quantity
	}
	out.Licenses = make([]string, 0, total)
	stmt, err := tx.PrepareContext(ctx, `INSERT INTO licenses (key, account_id, product, kind, term, company_id,
			purchase_id, purchase_email, auto_renew, expires_at, seats, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return nil, err
	}
	defer stmt.Close()
	for _, l := range p.lines {
		kind, autoRenew, expires := licenseTerms(p.trial, l.term, now)
		if p.trial {
			if _, err := tx.ExecContext(ctx, "INSERT INTO trials (account_id, sku, created_at) VALUES (?, ?, ?)",
				p.buyerID, l.product.SKU, now.Unix()); err != nil {
				return nil, err
			}
		}
		for range l.quantity {
			k, err := licensekey.New(nil)
			if err != nil {
				return nil, err
			}
			if _, err := stmt.ExecContext(ctx, k, p.owner, l.product.SKU, kind, l.term, l.companyID,
				out.ID, p.purchaseEmail, autoRenew, expires, l.product.Seats, now.Unix()); err != nil {
				return nil, err
			}
			out.Licenses = append(out.Licenses, k)
			if n := len(out.Licenses); n%progressEvery == 0 {
				if err := ctx.Err(); err != nil {
					return nil, err
				}
				if progress != nil {
					progress(n)
				}
			}
		}
	}
	if progress != nil && len(out.Licenses)%progressEvery != 0 {
		progress(len(out.Licenses))
	}
	err = audit(ctx, tx, p.buyerID, now, p.buyer, "purchase.create", out.ID, map[string]any{
		"items": len(p.items), "licenses": len(out.Licenses), "total_cents": p.total, "currency": p.currency})
	return out, err
}

// licenseTerms answers a new license's kind, auto-renew flag and expiry:
// trials run TrialDays and never renew, subscriptions run one billing period
// and renew, lifetime licenses never expire.
func licenseTerms(trial bool, term string, now time.Time) (kind string, autoRenew int, expires any) {
	switch {
	case trial:
		return licensing.KindTrial, 0, now.AddDate(0, 0, licensing.TrialDays).Unix()
	case term == licensing.LicenseTermMonthly:
		return licensing.KindCommercial, 1, now.AddDate(0, 1, 0).Unix()
	case term == licensing.LicenseTermAnnual:
		return licensing.KindCommercial, 1, now.AddDate(1, 0, 0).Unix()
	}
	return licensing.KindCommercial, 0, nil
}

// loadPurchase reads a stored purchase with its items and license keys.
func loadPurchase(ctx context.Context, q queryer, id, buyer string) (*licensing.Purchase, error) {
	p := &licensing.Purchase{ID: id, Account: buyer}
	var created int64
	if err := q.QueryRowContext(ctx, `SELECT purchase_email, idempotency_key, total_cents, currency, billing, trial, created_at
		FROM purchases WHERE id = ?`, id).Scan(&p.PurchaseEmail, &p.IdempotencyKey, &p.TotalCents, &p.Currency,
		&p.Billing, &p.Trial, &created); err != nil {
		return nil, err
	}
	p.CreatedAt = unixTime(created)
	rows, err := q.QueryContext(ctx, `SELECT sku, description, quantity, unit_price_cents, amount_cents, company, billing
		FROM purchase_items WHERE purchase_id = ? ORDER BY line_no`, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var it licensing.LineItem
		if err := rows.Scan(&it.SKU, &it.Description, &it.Quantity, &it.UnitPriceCents, &it.AmountCents, &it.Company, &it.Billing); err != nil {
			return nil, err
		}
		p.Items = append(p.Items, it)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	keys, err := q.QueryContext(ctx, "SELECT key FROM licenses WHERE purchase_id = ? ORDER BY id", id)
	if err != nil {
		return nil, err
	}
	defer keys.Close()
	p.Licenses = []string{}
	for keys.Next() {
		var k string
		if err := keys.Scan(&k); err != nil {
			return nil, err
		}
		p.Licenses = append(p.Licenses, k)
	}
	return p, keys.Err()
}
