// Code the maintenance and renewal use cases still share, until they move
// to internal/app too (this file goes with them).

package postgres

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

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
	fixed         map[string]string // payment modes already fixed, by SKU
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

// writePurchase inserts a prepared purchase in the caller's transaction.
// Large purchases stream their licenses with COPY: 100,000 licenses are one
// statement and one commit, and a cancelled one leaves nothing behind.
func (s *Store) writePurchase(ctx context.Context, tx pgx.Tx, p *plan, key, hash string, progress func(int)) (*licensing.Purchase, error) {
	now := s.now()
	out := p.purchase(newPurchaseID(), key, now)
	if _, err := tx.Exec(ctx, `INSERT INTO purchases (id, account_id, purchase_email, idempotency_key, request_hash,
			total_cents, currency, billing, trial, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		out.ID, p.buyerID, p.purchaseEmail, key, hash, p.total, p.currency, out.Billing, p.trial, now.Unix()); err != nil {
		return nil, err
	}
	for i, it := range p.items {
		if _, err := tx.Exec(ctx, `INSERT INTO purchase_items (purchase_id, line_no, sku, description, quantity,
				unit_price_cents, amount_cents, company, billing) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
			out.ID, i+1, it.SKU, it.Description, it.Quantity, it.UnitPriceCents, it.AmountCents, it.Company, it.Billing); err != nil {
			return nil, err
		}
		if err := fixBilling(ctx, tx, p, it); err != nil {
			return nil, err
		}
	}
	for _, l := range p.lines {
		if p.trial {
			// The primary key refuses a second trial that a concurrent
			// request slipped past preparePurchase's check.
			if _, err := tx.Exec(ctx, "INSERT INTO trials (account_id, sku, created_at) VALUES ($1, $2, $3)",
				p.buyerID, l.product.SKU, now.Unix()); err != nil {
				return nil, err
			}
		}
	}

	rows := newLicenseRows(ctx, p, out, now, progress)
	var err error
	if rows.total > copyThreshold {
		_, err = tx.CopyFrom(ctx, pgx.Identifier{"licenses"}, licenseCopyColumns, rows)
	} else {
		err = insertLicenses(ctx, tx, rows)
	}
	if err != nil {
		return nil, err
	}
	if progress != nil && len(out.Licenses)%progressEvery != 0 {
		progress(len(out.Licenses))
	}
	err = audit(ctx, tx, p.buyerID, now, p.buyer, "purchase.create", out.ID, map[string]any{
		"items": len(p.items), "licenses": len(out.Licenses), "total_cents": p.total, "currency": p.currency})
	return out, err
}

// fixBilling records the payment mode the first purchase of a subscription
// type fixes. When another transaction fixed it meanwhile (its row appears
// after preparePurchase looked), the purchase is rerun so that the rules see
// the winner's mode.
func fixBilling(ctx context.Context, tx pgx.Tx, p *plan, it licensing.LineItem) error {
	if it.Billing == "" || p.fixed[it.SKU] != "" {
		return nil
	}
	tag, err := tx.Exec(ctx, "INSERT INTO billing_modes (account_id, sku, billing) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
		p.buyerID, it.SKU, it.Billing)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		var b string
		if err := tx.QueryRow(ctx, "SELECT billing FROM billing_modes WHERE account_id = $1 AND sku = $2", p.buyerID, it.SKU).Scan(&b); err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		if b != it.Billing {
			return errRetry
		}
	}
	p.fixed[it.SKU] = it.Billing
	return nil
}

// licenseRows generates a purchase's new licenses one at a time, appending
// each key to the purchase; it is a pgx.CopyFromSource.
type licenseRows struct {
	ctx      context.Context
	p        *plan
	out      *licensing.Purchase
	now      time.Time
	progress func(int)
	total    int

	line, done int // position: line index, licenses done on that line
	row        []any
	err        error
}

func newLicenseRows(ctx context.Context, p *plan, out *licensing.Purchase, now time.Time, progress func(int)) *licenseRows {
	total := 0
	for _, l := range p.lines {
		total += l.quantity
	}
	out.Licenses = make([]string, 0, total)
	return &licenseRows{ctx: ctx, p: p, out: out, now: now, progress: progress, total: total}
}

func (r *licenseRows) Next() bool {
	for r.line < len(r.p.lines) && r.done == r.p.lines[r.line].quantity {
		r.line, r.done = r.line+1, 0
	}
	if r.line == len(r.p.lines) || r.err != nil {
		return false
	}
	l := r.p.lines[r.line]
	k, err := licensekey.New(nil)
	if err != nil {
		r.err = err
		return false
	}
	kind, autoRenew, expires := licenseTerms(r.p.trial, l.term, r.now)
	r.row = []any{k, r.p.owner, l.product.SKU, kind, l.term, l.companyID,
		r.out.ID, r.p.purchaseEmail, autoRenew, expires, l.product.Seats, r.now.Unix()}
	r.out.Licenses = append(r.out.Licenses, k)
	r.done++
	if n := len(r.out.Licenses); n%progressEvery == 0 {
		// A cancelled purchase stops here; the transaction is rolled back.
		if r.err = r.ctx.Err(); r.err != nil {
			return false
		}
		if r.progress != nil {
			r.progress(n)
		}
	}
	return true
}

func (r *licenseRows) Values() ([]any, error) { return r.row, nil }

func (r *licenseRows) Err() error { return r.err }

// insertLicenses writes a few licenses in one round trip.
func insertLicenses(ctx context.Context, tx pgx.Tx, rows *licenseRows) error {
	b := &pgx.Batch{}
	for rows.Next() {
		b.Queue(`INSERT INTO licenses (key, account_id, product, kind, term, company_id,
			purchase_id, purchase_email, auto_renew, expires_at, seats, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`, rows.row...)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	return tx.SendBatch(ctx, b).Close()
}

// licenseTerms answers a new license's kind, auto-renew flag and expiry:
// trials run TrialDays and never renew, subscriptions run one billing period
// and renew, lifetime licenses never expire.
func licenseTerms(trial bool, term string, now time.Time) (kind string, autoRenew bool, expires any) {
	switch {
	case trial:
		return licensing.KindTrial, false, now.AddDate(0, 0, licensing.TrialDays).Unix()
	case term == licensing.LicenseTermMonthly:
		return licensing.KindCommercial, true, now.AddDate(0, 1, 0).Unix()
	case term == licensing.LicenseTermAnnual:
		return licensing.KindCommercial, true, now.AddDate(1, 0, 0).Unix()
	}
	return licensing.KindCommercial, false, nil
}

// loadPurchase reads a stored purchase with its items and license keys.
func loadPurchase(ctx context.Context, q queryer, id, buyer string) (*licensing.Purchase, error) {
	p := &licensing.Purchase{ID: id, Account: buyer}
	var created int64
	if err := q.QueryRow(ctx, `SELECT purchase_email, idempotency_key, total_cents, currency, billing, trial, created_at
		FROM purchases WHERE id = $1`, id).Scan(&p.PurchaseEmail, &p.IdempotencyKey, &p.TotalCents, &p.Currency,
		&p.Billing, &p.Trial, &created); err != nil {
		return nil, err
	}
	p.CreatedAt = unixTime(created)
	rows, err := q.Query(ctx, `SELECT sku, description, quantity, unit_price_cents, amount_cents, company, billing
		FROM purchase_items WHERE purchase_id = $1 ORDER BY line_no`, id)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var it licensing.LineItem
		if err := rows.Scan(&it.SKU, &it.Description, &it.Quantity, &it.UnitPriceCents, &it.AmountCents, &it.Company, &it.Billing); err != nil {
			rows.Close()
			return nil, err
		}
		p.Items = append(p.Items, it)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	keys, err := q.Query(ctx, "SELECT key FROM licenses WHERE purchase_id = $1 ORDER BY id", id)
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

// hashJSON identifies what a request asks for (as app's requestHash does).
func hashJSON(v any) (string, error) {
	js, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(js)
	return hex.EncodeToString(sum[:]), nil
}
