package app

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/licensectl/licensectl/internal/licensekey"
	"github.com/licensectl/licensectl/internal/licensing"
	"github.com/licensectl/licensectl/internal/output"
)

// ProgressEvery is how many licenses (or maintenance plans) a purchase writes
// between progress reports and cancellation checks.
const ProgressEvery = 1000

// PriorPurchase is the purchase an account made with an idempotency key.
type PriorPurchase struct {
	ID          string
	RequestHash string
}

// NewPurchase is a purchase to insert with its line items (numbered from 1
// in order).
type NewPurchase struct {
	ID             string
	AccountID      int64
	PurchaseEmail  string
	IdempotencyKey string
	RequestHash    string
	TotalCents     int64
	Currency       string
	Billing        string
	Trial          bool
	CreatedAt      time.Time
	Items          []licensing.LineItem
	// Kind is licensing.PurchaseKind*; "" is a purchase.
	Kind string
	// PaymentStatus is licensing.Payment*; "" is paid.
	PaymentStatus string
	PaymentRef    string
	ReceiptURL    string
	RefundOf      string // a refund's purchase
	Reason        string
	// PendingRequest is what a pending purchase makes when its payment
	// completes, as JSON.
	PendingRequest string
}

// Columns are the values of the purchase's kind, payment_status,
// payment_ref, receipt_url, refund_of, reason and pending_request columns,
// defaults filled.
func (p NewPurchase) Columns() []any {
	kind, status := p.Kind, p.PaymentStatus
	if kind == "" {
		kind = licensing.PurchaseKindPurchase
	}
	if status == "" {
		status = licensing.PaymentPaid
	}
	var refundOf any
	if p.RefundOf != "" {
		refundOf = p.RefundOf
	}
	return []any{kind, status, p.PaymentRef, p.ReceiptURL, refundOf, p.Reason, p.PendingRequest}
}

// NewLicense is one license to insert.
type NewLicense struct {
	Key           string
	AccountID     int64 // 0: nobody until an account with the purchase email exists
	Product       string
	Kind          string
	Term          string
	CompanyID     int64 // 0: the global pool
	PurchaseID    string
	PurchaseEmail string
	AutoRenew     bool
	ExpiresAt     int64 // seconds since 1970; 0: never
	Seats         int
	CreatedAt     time.Time
}

// PurchaseTx is what buying needs of a transaction.
type PurchaseTx interface {
	// PurchaseByKey returns the account's purchase made with an idempotency
	// key, or nil.
	PurchaseByKey(ctx context.Context, acct int64, key string) (*PriorPurchase, error)
	// PurchaseItems lists a purchase's line items in order.
	PurchaseItems(ctx context.Context, id string) ([]licensing.LineItem, error)
	// PurchaseKeys lists the keys of a purchase's licenses in insertion order.
	PurchaseKeys(ctx context.Context, id string) ([]string, error)
	// BillingMode returns the payment mode the account fixed for a
	// subscription type, or "".
	BillingMode(ctx context.Context, acct int64, sku string) (string, error)
	// FixBillingMode records a payment mode unless the account has one for
	// that type already; false when it had.
	FixBillingMode(ctx context.Context, acct int64, sku, billing string) (bool, error)
	// TrialUsed tells whether the account requested a trial of a type.
	TrialUsed(ctx context.Context, acct int64, sku string) (bool, error)
	// InsertTrial records a trial; the key (account, type) refuses a second.
	InsertTrial(ctx context.Context, acct int64, sku string, at time.Time) error
	// InsertPurchase writes a purchase and its items.
	InsertPurchase(ctx context.Context, p NewPurchase) error
	// InsertLicenses writes every license rows yields, in order, and stops
	// at rows' error: in bulk (one prepared statement on SQLite, COPY on
	// PostgreSQL), never a round trip per license.
	InsertLicenses(ctx context.Context, rows *LicenseRows) error
}

// PurchaseColumns are the purchases columns ScanPurchase reads, in its order.
const PurchaseColumns = `id, purchase_email, idempotency_key, total_cents, currency, billing, trial, created_at,
	kind, payment_status, refunded_cents, receipt_url, payment_ref, refund_of, reason, account_id`

// ScanPurchase reads a row of PurchaseColumns.
func ScanPurchase(sc Scanner) (*StoredPurchase, error) {
	var p StoredPurchase
	var created int64
	var receipt string
	if err := sc.Scan(&p.ID, &p.PurchaseEmail, &p.IdempotencyKey, &p.TotalCents, &p.Currency, &p.Billing, &p.Trial, &created,
		&p.Kind, &p.PaymentStatus, &p.RefundedCents, &receipt, &p.PaymentRef, &p.RefundOf, &p.Reason, &p.AccountID); err != nil {
		return nil, err
	}
	if receipt != "" {
		p.ReceiptURL = &receipt
	}
	p.CreatedAt = Unix(created)
	return &p, nil
}

// LineItemColumns are the purchase_items columns ScanLineItem reads.
const LineItemColumns = `sku, description, quantity, unit_price_cents, amount_cents, company, billing`

// ScanLineItem reads a row of LineItemColumns.
func ScanLineItem(sc Scanner) (*licensing.LineItem, error) {
	var it licensing.LineItem
	err := sc.Scan(&it.SKU, &it.Description, &it.Quantity, &it.UnitPriceCents, &it.AmountCents, &it.Company, &it.Billing)
	return &it, err
}

// ScanPriorPurchase reads a row of columns id, request_hash.
func ScanPriorPurchase(sc Scanner) (*PriorPurchase, error) {
	var p PriorPurchase
	err := sc.Scan(&p.ID, &p.RequestHash)
	return &p, err
}

// ScanBool reads a row of one boolean column.
func ScanBool(sc Scanner) (*bool, error) {
	var b bool
	err := sc.Scan(&b)
	return &b, err
}

// Value is what v points to, or the zero value for nil: a look-up's "none".
func Value[T any](v *T, err error) (T, error) {
	var zero T
	if v == nil {
		return zero, err
	}
	return *v, err
}

// order is a purchase that passed every rule and is priced, but not yet
// written: of licenses, maintenance plans or renewals.
type order struct {
	buyerID       int64
	buyer         string
	purchaseEmail string
	owner         int64 // the account that receives the licenses; 0: nobody yet
	trial         bool
	items         []licensing.LineItem
	total         int64
	currency      string
	lines         []orderLine
	// fixed are the payment modes already fixed, by SKU.
	fixed map[string]string
	// renewal: a renewal keeps the term its subscription has even where
	// the account fixed the other mode (a license attached from another
	// buyer), and leaves that mode alone.
	renewal bool
	// pay is how the provider took the money; zero: recorded as paid,
	// without a provider.
	pay payment
}

// payment is a provider's charge as a purchase records it.
type payment struct {
	ref, receiptURL string
	// pending: the charge waits for the customer; the purchase is written
	// without its licenses, which completePending makes on success.
	pending bool
	request string // pending: the request to complete, as JSON
	url     string // pending: where the customer completes it
}

// orderLine is one request line: the licenses it creates.
type orderLine struct {
	product   *licensing.Product
	quantity  int
	term      string
	companyID int64 // 0: the global pool
	company   string
}

// normalizeRequest validates req without touching the caller's slice.
func normalizeRequest(req licensing.BuyRequest) (licensing.BuyRequest, error) {
	req.Lines = slices.Clone(req.Lines)
	err := req.Normalize()
	return req, err
}

// Quote prices a purchase with the rules Buy applies, in a read-only
// transaction: nothing is written, not even the payment mode.
func (a *App) Quote(ctx context.Context, req licensing.BuyRequest) (*licensing.Purchase, error) {
	req, err := normalizeRequest(req)
	if err != nil {
		return nil, err
	}
	return read(ctx, a, func(tx Tx, now time.Time) (*licensing.Purchase, error) {
		buyer, err := actingAccount(ctx, tx)
		if err != nil {
			return nil, err
		}
		if req.PurchaseEmail == "" {
			req.PurchaseEmail = buyer.email
		}
		o, err := preparePurchase(ctx, tx, req, buyer)
		if err != nil {
			return nil, err
		}
		out := o.purchase("", req.IdempotencyKey, now)
		out.DryRun = true
		return out, nil
	})
}

// Buy makes a purchase in one transaction: the purchase, its items, every
// license, the payment mode, the trial record and the audit event are
// committed together, or (on any error or cancellation) not at all.
//
// Races between PostgreSQL replicas end as they would on SQLite's single
// writer: the unique (account, idempotency key), the billing_modes and the
// trials keys let one transaction win; the loser is rerun and then finds the
// winner's purchase (a replay or ECONFLICT), the fixed payment mode or the
// used trial.
func (a *App) Buy(ctx context.Context, req licensing.BuyRequest, progress func(done int)) (*licensing.Purchase, error) {
	req, err := normalizeRequest(req)
	if err != nil {
		return nil, err
	}
	key := req.IdempotencyKey
	req.IdempotencyKey = ""
	var pay payment
	var charged int64
	if a.pay != nil && !req.Trial {
		// The money first, outside the store's transaction (a slow
		// provider must not hold the writer); the licenses only once it
		// is taken. The charge's key is the purchase's, so the retry of a
		// purchase that crashed after the charge finds the same charge.
		if key == "" {
			key = "auto-" + randomHex(16)
		}
		plan, err := read(ctx, a, func(tx Tx, _ time.Time) (*buyPlan, error) { return startBuy(ctx, tx, req, key) })
		if err != nil {
			return nil, err
		}
		if plan.prior != nil {
			return plan.prior, nil
		}
		if charged = plan.o.total; charged > 0 {
			pending, err := json.Marshal(pendingBuy{Request: plan.req, Key: key})
			if err != nil {
				return nil, err
			}
			if pay, err = a.charge(ctx, plan.buyer, plan.o.total, plan.o.currency, "purchase", key, plan.hash, pending); err != nil {
				return nil, err
			}
		}
	}
	p, err := write(ctx, a, func(tx Tx, now time.Time) (*licensing.Purchase, error) {
		plan, err := startBuy(ctx, tx, req, key)
		if err != nil || plan.prior != nil {
			return plan.priorOr(err)
		}
		if pay.ref != "" && plan.o.total != charged {
			return nil, licensing.Errorf(licensing.ECONFLICT, "the price changed while the payment was taken (%s, now %s)",
				licensing.FormatCents(charged), licensing.FormatCents(plan.o.total)).WithHint("the charge is refunded; buy again")
		}
		plan.o.pay = pay
		return writePurchase(ctx, tx, plan.o, plan.key, plan.hash, now, progress)
	})
	if err != nil && pay.ref != "" && !pay.pending && !licensing.Temporary(err) {
		a.undoCharge(ctx, pay, charged, key)
	}
	if err == nil && !p.Replayed && !pay.pending {
		a.sendReceipt(ctx, p)
	}
	return p, err
}

// buyPlan is a purchase request checked and priced in a transaction, before
// anything is written.
type buyPlan struct {
	buyer account
	req   licensing.BuyRequest // with its purchase email
	hash  string
	key   string
	prior *licensing.Purchase // the key's earlier purchase: a replay
	o     *order
}

func (p *buyPlan) priorOr(err error) (*licensing.Purchase, error) {
	if err != nil {
		return nil, err
	}
	return p.prior, nil
}

// startBuy applies the idempotency key and every purchase rule to req.
func startBuy(ctx context.Context, tx Tx, req licensing.BuyRequest, key string) (*buyPlan, error) {
	buyer, err := actingAccount(ctx, tx)
	if err != nil {
		return nil, err
	}
	r := req
	if r.PurchaseEmail == "" {
		r.PurchaseEmail = buyer.email
	}
	hash, err := licensing.RequestHash(r)
	if err != nil {
		return nil, err
	}
	// Checked before the rules: a replayed trial must answer the
	// original purchase, not "you already requested a trial".
	k, prior, err := idempotency(ctx, tx, buyer.id, key, hash)
	if err != nil {
		return nil, err
	}
	plan := &buyPlan{buyer: buyer, req: r, hash: hash, key: k}
	if prior != "" {
		if plan.prior, err = loadPurchase(ctx, tx, prior, buyer.email); err != nil {
			return nil, err
		}
		plan.prior.Replayed = true
		return plan, nil
	}
	plan.o, err = preparePurchase(ctx, tx, r, buyer)
	return plan, err
}

// idempotency returns the key a purchase is stored under (one is made up
// when the request named none) and, when the account used the key before for
// the same request (same hash), the id of that earlier purchase. The same key
// with another request is a conflict.
func idempotency(ctx context.Context, tx Tx, acct int64, key, hash string) (string, string, error) {
	if key == "" {
		return "auto-" + randomHex(16), "", nil
	}
	prior, err := tx.PurchaseByKey(ctx, acct, key)
	switch {
	case err != nil:
		return "", "", err
	case prior == nil:
		return key, "", nil
	case prior.RequestHash != hash:
		return "", "", &licensing.KeyReusedError{Err: licensing.Errorf(licensing.ECONFLICT, "idempotency key %s was already used for a different purchase (%s)", key, prior.ID).
			WithHint("use a new key for a new purchase")}
	}
	return key, prior.ID, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// preparePurchase applies every purchase rule that needs the store (catalog,
// fixed payment modes, companies, trials, the purchase email's owner) and
// prices the request. It only reads.
func preparePurchase(ctx context.Context, tx Tx, req licensing.BuyRequest, buyer account) (*order, error) {
	o := &order{buyerID: buyer.id, buyer: buyer.email, purchaseEmail: req.PurchaseEmail, trial: req.Trial, fixed: map[string]string{}}
	products := map[string]*licensing.Product{}
	find := func(sku string) (*licensing.Product, error) {
		if pr, ok := products[sku]; ok {
			return pr, nil
		}
		pr, err := product(ctx, tx, sku)
		if err != nil {
			return nil, err
		}
		products[sku] = pr
		return pr, nil
	}
	fixedBilling := func(sku string) (string, error) {
		b, err := tx.BillingMode(ctx, buyer.id, sku)
		if b != "" {
			o.fixed[sku] = b
		}
		return b, err
	}
	forSelf := req.PurchaseEmail == buyer.email
	companies := map[string]int64{} // by the name as asked
	companyNames := map[string]string{}
	lookUp := func(name string) (string, error) {
		if !forSelf {
			return "", licensing.Errorf(licensing.EINVALID, "--company applies to licenses bought for your own account, not for %s", req.PurchaseEmail).
				WithHint("drop --company: the owner of %s matches the licenses to companies", req.PurchaseEmail)
		}
		id, stored, err := company(ctx, tx, buyer.id, name)
		companies[name], companyNames[name] = id, stored
		return stored, err
	}
	items, terms, total, err := licensing.PriceLines(req, licensing.BuyLookups{Product: find, FixedBilling: fixedBilling, Company: lookUp})
	if err != nil {
		return nil, err
	}
	o.items, o.total = items, total
	for _, it := range items {
		c := products[it.SKU].Currency
		if o.currency == "" {
			o.currency = c
		} else if c != o.currency {
			return nil, licensing.Errorf(licensing.EINVALID, "one purchase cannot mix currencies (%s and %s)", o.currency, c).
				WithHint("buy these products in separate purchases")
		}
	}

	trialSeen := map[string]bool{}
	for i, l := range req.Lines {
		ol := orderLine{product: products[l.Product], quantity: l.Quantity, term: terms[i]}
		if l.Company != "" {
			ol.companyID, ol.company = companies[l.Company], companyNames[l.Company]
		}
		if req.Trial {
			sku := ol.product.SKU
			used, err := tx.TrialUsed(ctx, buyer.id, sku)
			if err != nil {
				return nil, err
			}
			if used || trialSeen[sku] {
				return nil, licensing.Errorf(licensing.ECONFLICT, "you already requested a trial of %s", sku).
					WithHint("a trial can be requested once per license type; buy it with `licensectl licenses buy --product %s`", sku)
			}
			trialSeen[sku] = true
		}
		o.lines = append(o.lines, ol)
	}

	if forSelf {
		o.owner = buyer.id
	} else if o.owner, err = tx.AccountID(ctx, req.PurchaseEmail); err != nil {
		return nil, err
	} // 0: nobody owns them until an account with that email is created
	return o, nil
}

func (o *order) purchase(id, key string, now time.Time) *licensing.Purchase {
	kind := licensing.PurchaseKindPurchase
	if o.renewal {
		kind = licensing.PurchaseKindRenewal
	}
	p := &licensing.Purchase{ID: id, Kind: kind, Account: o.buyer, PurchaseEmail: o.purchaseEmail, IdempotencyKey: key,
		Items: o.items, TotalCents: o.total, Currency: o.currency, Billing: licensing.PurchaseBilling(o.items),
		Trial: o.trial, Licenses: []string{}, CreatedAt: now, PaymentStatus: licensing.PaymentPaid,
		PaymentRef: o.pay.ref, PaymentURL: o.pay.url}
	if o.pay.receiptURL != "" {
		u := o.pay.receiptURL
		p.ReceiptURL = &u
	}
	if o.pay.pending {
		p.PaymentStatus = licensing.PaymentPending
	}
	return p
}

// writePurchase writes a prepared order: the purchase and its items, the
// payment modes it fixes, its trials, its licenses and the audit event.
func writePurchase(ctx context.Context, tx Tx, o *order, key, hash string, now time.Time, progress func(int)) (*licensing.Purchase, error) {
	out := o.purchase(NewPurchaseID(), key, now)
	if err := tx.InsertPurchase(ctx, NewPurchase{ID: out.ID, AccountID: o.buyerID, PurchaseEmail: o.purchaseEmail,
		IdempotencyKey: key, RequestHash: hash, TotalCents: o.total, Currency: o.currency, Billing: out.Billing,
		Trial: o.trial, CreatedAt: now, Items: o.items, Kind: out.Kind, PaymentStatus: out.PaymentStatus,
		PaymentRef: o.pay.ref, ReceiptURL: o.pay.receiptURL, PendingRequest: o.pay.request}); err != nil {
		return nil, err
	}
	if o.pay.pending {
		// Nothing is bought until the payment completes (completePending).
		return out, audit(ctx, tx, o.buyerID, now, o.buyer, "purchase.pending", out.ID, map[string]any{
			"total_cents": o.total, "currency": o.currency, "payment_ref": o.pay.ref})
	}
	return out, writeOrder(ctx, tx, o, out, now, progress)
}

// writeOrder writes what a paid purchase makes (out is written already):
// the payment modes it fixes, its trials, its licenses and the audit event.
func writeOrder(ctx context.Context, tx Tx, o *order, out *licensing.Purchase, now time.Time, progress func(int)) error {
	for _, it := range o.items {
		if err := fixBilling(ctx, tx, o, it); err != nil {
			return err
		}
	}
	if o.trial {
		for _, l := range o.lines {
			if err := tx.InsertTrial(ctx, o.buyerID, l.product.SKU, now); err != nil {
				return err
			}
		}
	}
	rows := newLicenseRows(ctx, o, out.ID, now, progress)
	if rows.total > 0 {
		if err := tx.InsertLicenses(ctx, rows); err != nil {
			return err
		}
		if err := rows.Err(); err != nil {
			return err
		}
	}
	out.Licenses = rows.keys
	if n := len(out.Licenses); progress != nil && n > 0 && n != rows.reported {
		progress(n)
	}
	details := map[string]any{"items": len(o.items), "licenses": len(out.Licenses), "total_cents": o.total, "currency": o.currency}
	if o.pay.ref != "" {
		details["payment_ref"] = o.pay.ref
	}
	if err := audit(ctx, tx, o.buyerID, now, o.buyer, "purchase.create", out.ID, details); err != nil {
		return err
	}
	if o.renewal {
		return nil // its renewals are the events (subscription.renewed)
	}
	if err := emit(ctx, tx, o.buyerID, now, licensing.EventPurchaseCreated, out.ID, out); err != nil {
		return err
	}
	// license.created, one per license, built as the rows went by and
	// written in one call (InsertEvents batches them).
	return tx.InsertEvents(ctx, rows.events)
}

// fixBilling records the payment mode the first purchase of a subscription
// type fixes. When another transaction fixed another mode meanwhile (its row
// appeared after the rules looked), the purchase is run again so that the
// rules see the winner's mode; a renewal leaves a different mode alone.
func fixBilling(ctx context.Context, tx Tx, o *order, it licensing.LineItem) error {
	if it.Billing == "" || o.fixed[it.SKU] != "" {
		return nil
	}
	fixed, err := tx.FixBillingMode(ctx, o.buyerID, it.SKU, it.Billing)
	if err != nil {
		return err
	}
	if !fixed && !o.renewal {
		b, err := tx.BillingMode(ctx, o.buyerID, it.SKU)
		if err != nil {
			return err
		}
		if b != it.Billing {
			return ErrRetry
		}
	}
	o.fixed[it.SKU] = it.Billing
	return nil
}

// LicenseRows yields a purchase's new licenses one at a time, making each
// key as it goes; every ProgressEvery licenses it checks for cancellation
// and reports progress. A store's InsertLicenses reads it like a cursor:
//
//	for rows.Next() { l := rows.License(); ... }
//	return rows.Err()
type LicenseRows struct {
	ctx      context.Context
	o        *order
	progress func(int)
	total    int

	line, done int // position: line index, licenses done on that line
	cur        NewLicense
	keys       []string
	reported   int
	err        error

	// events are the license.created events of the licenses so far; their
	// JSON is cut from arena, which grows in large steps.
	events  []EventRow
	arena   []byte
	created licensing.License // the current license as the API shows it
	acct    int64             // whose events: the owner, or the buyer
}

func newLicenseRows(ctx context.Context, o *order, purchaseID string, now time.Time, progress func(int)) *LicenseRows {
	total := 0
	for _, l := range o.lines {
		total += l.quantity
	}
	r := &LicenseRows{ctx: ctx, o: o, progress: progress, total: total, keys: make([]string, 0, total), line: -1}
	r.cur = NewLicense{AccountID: o.owner, PurchaseID: purchaseID, PurchaseEmail: o.purchaseEmail, CreatedAt: now}
	r.acct = o.owner
	if r.acct == 0 {
		r.acct = o.buyerID // nobody owns them yet: the buyer hears of them
	}
	if !o.renewal {
		r.events = make([]EventRow, 0, total)
	}
	return r
}

// Len is how many licenses the rows hold in all.
func (r *LicenseRows) Len() int { return r.total }

// Next moves to the next license; false at the end or on an error (see Err).
func (r *LicenseRows) Next() bool {
	if r.err != nil {
		return false
	}
	if n := len(r.keys); n > 0 && n%ProgressEvery == 0 && n != r.reported {
		// A cancelled purchase stops here; the transaction is rolled back.
		if r.err = r.ctx.Err(); r.err != nil {
			return false
		}
		r.reported = n
		if r.progress != nil {
			r.progress(n)
		}
	}
	for r.line < 0 || (r.line < len(r.o.lines) && r.done == r.o.lines[r.line].quantity) {
		r.line, r.done = r.line+1, 0
		if r.line < len(r.o.lines) {
			r.startLine(r.o.lines[r.line])
		}
	}
	if r.line == len(r.o.lines) {
		return false
	}
	k, err := licensekey.New(nil)
	if err != nil {
		r.err = err
		return false
	}
	r.cur.Key = k
	r.keys = append(r.keys, k)
	r.done++
	if r.events != nil {
		if r.err = r.addCreated(); r.err != nil {
			return false
		}
	}
	return true
}

// arenaStep is how much room the event arena makes at a time.
const arenaStep = 256 << 10

// addCreated records the license.created event of the current license.
func (r *LicenseRows) addCreated() error {
	if cap(r.arena)-len(r.arena) < 2048 {
		r.arena = make([]byte, 0, arenaStep) // earlier events keep the old one
	}
	c := &r.created
	c.Key = r.cur.Key
	start := len(r.arena)
	b, err := output.AppendLicenseJSON(r.arena, c)
	if err != nil {
		return err
	}
	r.arena = b
	r.events = append(r.events, EventRow{AccountID: r.acct, Type: licensing.EventLicenseCreated, Object: c.Key,
		Time: r.cur.CreatedAt, Data: b[start:len(b):len(b)]})
	return nil
}

// startLine sets the fields every license of a line shares.
func (r *LicenseRows) startLine(l orderLine) {
	c := &r.cur
	c.Product, c.Term, c.CompanyID, c.Seats = l.product.SKU, l.term, l.companyID, l.product.Seats
	c.Kind, c.AutoRenew, c.ExpiresAt = licensing.NewLicenseTerms(r.o.trial, l.term, c.CreatedAt)
	shown := licensing.License{Product: c.Product, ProductName: l.product.Name, Kind: c.Kind, Term: c.Term,
		PurchaseID: c.PurchaseID, PurchaseEmail: c.PurchaseEmail, AutoRenew: c.AutoRenew, Seats: c.Seats, CreatedAt: c.CreatedAt}
	if l.company != "" {
		name := l.company
		shown.Company = &name
	}
	if c.ExpiresAt != 0 {
		exp := Unix(c.ExpiresAt)
		shown.ExpiresAt = &exp
	}
	shown.Derive(c.CreatedAt)
	r.created = shown
}

// License is the current license; the rows reuse it for the next.
func (r *LicenseRows) License() *NewLicense { return &r.cur }

// Err is what stopped the rows early: a cancelled context, or no key.
func (r *LicenseRows) Err() error { return r.err }

// loadPurchase reads a stored purchase with its items and license keys.
func loadPurchase(ctx context.Context, tx Tx, id, buyer string) (*licensing.Purchase, error) {
	rec, err := tx.PurchaseRecord(ctx, id, NoLock)
	if err != nil {
		return nil, err
	}
	if rec == nil {
		return nil, fmt.Errorf("purchase %s is gone", id)
	}
	p := &rec.Purchase
	p.Account = buyer
	if p.Items, err = tx.PurchaseItems(ctx, id); err != nil {
		return nil, err
	}
	if p.Licenses, err = tx.PurchaseKeys(ctx, id); err != nil {
		return nil, err
	}
	return p, nil
}
