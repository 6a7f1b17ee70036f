package app

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/licensectl/licensectl/internal/licensing"
)

// StoredPurchase is a purchase row with what only the store keeps: the
// buyer's account id.
type StoredPurchase struct {
	licensing.Purchase
	AccountID int64
}

// RefundLicense is a license of a purchase as a refund reads it.
type RefundLicense struct {
	ID int64
	licensing.RefundableLicense
}

// Revocation is what the store keeps of a revoked license.
type Revocation struct {
	RefundID  string
	RevokedAt time.Time
}

// MoneyTx is what purchases, refunds and cancellations need of a
// transaction.
type MoneyTx interface {
	// PurchaseRecord reads a purchase with its buyer's id, taking its row
	// lock with ForUpdate, or nil.
	PurchaseRecord(ctx context.Context, id string, lock Lock) (*StoredPurchase, error)
	// ListPurchases lists an account's purchases (as the buyer), newest
	// first, without items; company is a stored company name or "".
	ListPurchases(ctx context.Context, acct int64, f licensing.PurchaseFilter) ([]licensing.PurchaseRow, error)
	// RefundsOf lists the refunds of a purchase, oldest first, without items.
	RefundsOf(ctx context.Context, id string) ([]licensing.PurchaseRow, error)
	// RefundKeys lists the keys of the licenses a refund revoked.
	RefundKeys(ctx context.Context, refundID string) ([]string, error)
	// RefundLicenses lists a purchase's licenses in the order it created
	// them, taking their row locks with ForUpdate.
	RefundLicenses(ctx context.Context, purchaseID string, lock Lock) ([]RefundLicense, error)
	// RecordRefund sets what was refunded of a purchase and its payment
	// status.
	RecordRefund(ctx context.Context, purchaseID string, refundedCents int64, status string) error
	// RevokeLicenses takes licenses out of their accounts for a refund:
	// account_id NULL, the account remembered as revoked_account_id, no
	// seats used, no auto-renewal; their maintenance plans end at at.
	RevokeLicenses(ctx context.Context, ids []int64, refundID string, at time.Time) error
	// DeleteLicenseActivations removes every activation of the licenses and
	// answers how many there were.
	DeleteLicenseActivations(ctx context.Context, ids []int64) (int, error)
	// Revocation returns how a license the account had was revoked, or nil.
	Revocation(ctx context.Context, acct int64, key string) (*Revocation, error)
	// LicensePlans lists the plans of licenses that acct bought in
	// maintenance purchases and that were not given back yet, by purchase
	// then plan.
	LicensePlans(ctx context.Context, acct int64, licenseIDs []int64) ([]RefundPlan, error)
	// MarkPlansRefunded records the refund that gave plans back.
	MarkPlansRefunded(ctx context.Context, planIDs []string, refundID string) error
}

// RefundPlan is a maintenance plan of a license being refunded.
type RefundPlan struct {
	ID, PurchaseID, Product, Key, Currency string
	PriceCents                             int64
}

// ScanRefundPlan reads a row of columns id, purchase_id, product, license
// key, currency, price_cents.
func ScanRefundPlan(sc Scanner) (*RefundPlan, error) {
	var p RefundPlan
	return &p, sc.Scan(&p.ID, &p.PurchaseID, &p.Product, &p.Key, &p.Currency, &p.PriceCents)
}

// PurchaseRowColumns are the columns ScanPurchaseRow reads, over purchases
// p joined to the buyer's accounts a.
const PurchaseRowColumns = `p.id, p.kind, a.email, p.purchase_email, p.idempotency_key, p.total_cents, p.currency,
	p.billing, p.trial, p.payment_status, p.refunded_cents, p.receipt_url, p.refund_of, p.reason, p.payment_ref, p.created_at,
	CASE WHEN p.kind = 'refund' THEN (SELECT count(*) FROM licenses l WHERE l.refund_id = p.id)
		ELSE (SELECT count(*) FROM licenses l WHERE l.purchase_id = p.id) END`

// ScanPurchaseRow reads a row of PurchaseRowColumns.
func ScanPurchaseRow(sc Scanner) (*licensing.PurchaseRow, error) {
	var r licensing.PurchaseRow
	var receipt string
	var created int64
	if err := sc.Scan(&r.ID, &r.Kind, &r.Account, &r.PurchaseEmail, &r.IdempotencyKey, &r.TotalCents, &r.Currency,
		&r.Billing, &r.Trial, &r.PaymentStatus, &r.RefundedCents, &receipt, &r.RefundOf, &r.Reason, &r.PaymentRef, &created, &r.LicenseCount); err != nil {
		return nil, err
	}
	if receipt != "" {
		r.ReceiptURL = &receipt
	}
	r.CreatedAt = Unix(created)
	r.Items = []licensing.LineItem{}
	return &r, nil
}

// ScanRefundLicense reads a row of columns id, key, refund id ("" for
// none), seats_used.
func ScanRefundLicense(sc Scanner) (*RefundLicense, error) {
	var l RefundLicense
	return &l, sc.Scan(&l.ID, &l.Key, &l.RefundID, &l.SeatsUsed)
}

// ScanRevocation reads a row of columns refund_id, revoked_at.
func ScanRevocation(sc Scanner) (*Revocation, error) {
	var r Revocation
	var at int64
	err := sc.Scan(&r.RefundID, &at)
	r.RevokedAt = Unix(at)
	return &r, err
}

// revokedError is the refusal, with code, to use a license a refund
// revoked, or nil when the account never had such a license.
func revokedError(ctx context.Context, tx Tx, acct int64, key, code string) error {
	r, err := tx.Revocation(ctx, acct, key)
	if err != nil || r == nil {
		return err
	}
	return licensing.Errorf(code, "license %s was revoked on %s: it was refunded (%s)", key,
		r.RevokedAt.Format("2006-01-02"), r.RefundID).
		WithHint("`licensectl licenses list --include-revoked` lists it; `licensectl purchases show %s` shows the refund", r.RefundID)
}

// ListPurchases implements licensing.MoneyService.
func (a *App) ListPurchases(ctx context.Context, f licensing.PurchaseFilter) ([]licensing.PurchaseRow, error) {
	if err := f.Normalize(); err != nil {
		return nil, err
	}
	return read(ctx, a, func(tx Tx, now time.Time) ([]licensing.PurchaseRow, error) {
		acct, err := actingAccount(ctx, tx)
		if err != nil {
			return nil, err
		}
		if f.Company != "" {
			if _, f.Company, err = company(ctx, tx, acct.id, f.Company); err != nil {
				return nil, err
			}
		}
		rows, err := tx.ListPurchases(ctx, acct.id, f)
		if err != nil {
			return nil, err
		}
		for i := range rows {
			if rows[i].Items, err = tx.PurchaseItems(ctx, rows[i].ID); err != nil {
				return nil, err
			}
		}
		return rows, nil
	})
}

// GetPurchase implements licensing.MoneyService.
func (a *App) GetPurchase(ctx context.Context, id string) (*licensing.PurchaseDetail, error) {
	id, err := licensing.NormalizePurchaseID(id)
	if err != nil {
		return nil, err
	}
	return read(ctx, a, func(tx Tx, now time.Time) (*licensing.PurchaseDetail, error) {
		acct, err := actingAccount(ctx, tx)
		if err != nil {
			return nil, err
		}
		return purchaseDetail(ctx, tx, acct, id, a.seller)
	})
}

// purchaseNotFound is a purchase the account did not make.
func purchaseNotFound(id string) error {
	return licensing.Errorf(licensing.ENOTFOUND, "purchase %s not found", id).
		WithHint("list your purchases with `licensectl purchases list`")
}

// purchaseDetail reads a purchase of acct with everything `purchases show`
// tells.
func purchaseDetail(ctx context.Context, tx Tx, acct account, id, seller string) (*licensing.PurchaseDetail, error) {
	p, err := tx.PurchaseRecord(ctx, id, NoLock)
	if err != nil {
		return nil, err
	}
	if p == nil || p.AccountID != acct.id {
		return nil, purchaseNotFound(id)
	}
	d := &licensing.PurchaseDetail{Purchase: p.Purchase, Seller: seller, Plans: []string{}}
	d.Account = acct.email
	if d.Items, err = tx.PurchaseItems(ctx, id); err != nil {
		return nil, err
	}
	if d.Kind == licensing.PurchaseKindRefund {
		d.Licenses, err = tx.RefundKeys(ctx, id)
	} else {
		d.Licenses, err = tx.PurchaseKeys(ctx, id)
	}
	if err != nil {
		return nil, err
	}
	plans, err := tx.PurchasePlans(ctx, id)
	if err != nil {
		return nil, err
	}
	for _, pl := range plans {
		d.Plans = append(d.Plans, pl.ID)
	}
	if d.Refunds, err = tx.RefundsOf(ctx, id); err != nil {
		return nil, err
	}
	for i := range d.Refunds {
		if d.Refunds[i].Items, err = tx.PurchaseItems(ctx, d.Refunds[i].ID); err != nil {
			return nil, err
		}
	}
	return d, nil
}

// RefundPurchase implements licensing.MoneyService: in one transaction the
// refund record (kind refund, negative amounts), the purchase's refunded
// amount and status, the revoked licenses, their ended plans and the audit
// event - or, on any refusal, nothing.
func (a *App) RefundPurchase(ctx context.Context, req licensing.RefundRequest) (*licensing.Purchase, error) {
	if err := req.Normalize(); err != nil {
		return nil, err
	}
	if req.Force {
		// Past the window, and over activations: the vendor's call.
		if err := licensing.Authorize(ctx, licensing.ScopeRefundsOverride); err != nil {
			return nil, err
		}
	}
	if a.pay != nil && !req.DryRun {
		return a.refundPaid(ctx, req)
	}
	run := a.store.Write
	if req.DryRun {
		run = a.store.Read
	}
	out, err := writeWith(ctx, a, run, func(tx Tx, now time.Time) (*licensing.Purchase, error) {
		return a.refund(ctx, tx, req, now, nil, nil)
	})
	if err == nil && !out.DryRun && !out.Replayed {
		a.sendReceipts(ctx, out)
	}
	return out, err
}

// refundCall is a provider refund a refund needs: the purchase it gives
// money back of, and the call.
type refundCall struct {
	purchaseID string
	RefundCharge
}

// refundPaid refunds purchases the provider charged: the provider gives the
// money back first (each call keyed by its refund, so a retry after a crash
// finds the same Refund), then the refunds are written.
func (a *App) refundPaid(ctx context.Context, req licensing.RefundRequest) (*licensing.Purchase, error) {
	q := req
	q.DryRun = true
	var calls []refundCall
	preview, err := read(ctx, a, func(tx Tx, now time.Time) (*licensing.Purchase, error) {
		calls = nil
		return a.refund(ctx, tx, q, now, nil, &calls)
	})
	if err != nil || preview.Replayed {
		return preview, err
	}
	refs := map[string]string{}
	for _, c := range calls {
		ref, err := a.pay.Refund(ctx, c.RefundCharge)
		if err != nil {
			return nil, err
		}
		refs[c.purchaseID] = ref
	}
	out, err := write(ctx, a, func(tx Tx, now time.Time) (*licensing.Purchase, error) {
		out, err := a.refund(ctx, tx, req, now, refs, nil)
		if err == nil && !out.Replayed && refundTotal(out) != refundTotal(preview) {
			return nil, licensing.Errorf(licensing.ECONFLICT, "the purchase changed while its refund was made").
				WithHint("run `licensectl payments reconcile`")
		}
		return out, err
	})
	if err == nil && !out.Replayed {
		a.sendReceipts(ctx, out)
	}
	return out, err
}

// refundTotal is what a refund and the refunds made with it give back.
func refundTotal(p *licensing.Purchase) int64 {
	t := p.TotalCents
	for _, r := range p.AlsoRefunded {
		t += r.TotalCents
	}
	return t
}

// sendReceipts mails a refund's receipt and those of the refunds made with it.
func (a *App) sendReceipts(ctx context.Context, p *licensing.Purchase) {
	a.sendReceipt(ctx, p)
	for i := range p.AlsoRefunded {
		a.sendReceipt(ctx, &p.AlsoRefunded[i])
	}
}

// refundDraft is a refund record to write: against which purchase, its
// lines, the licenses or plans it gives back.
type refundDraft struct {
	of    *StoredPurchase
	out   *licensing.Purchase
	plans []string
}

// refund is the refund's transaction. refs are the provider's Refunds by
// purchase (nil without a provider); calls, when not nil, receives the
// provider refunds the refund needs (a dry run only). The licenses'
// maintenance plans, bought by the same account, are given back with them
// in refunds of their own maintenance purchases.
func (a *App) refund(ctx context.Context, tx Tx, req licensing.RefundRequest, now time.Time, refs map[string]string, calls *[]refundCall) (*licensing.Purchase, error) {
	buyer, err := actingAccount(ctx, tx)
	if err != nil {
		return nil, err
	}
	key := licensing.RefundKey(req)
	hash, err := licensing.RequestHash(struct {
		Refund   string   `json:"refund"`
		Licenses []string `json:"licenses"`
	}{req.PurchaseID, req.Licenses})
	if err != nil {
		return nil, err
	}
	// The same refund again: the first one, whatever changed since.
	if prior, err := tx.PurchaseByKey(ctx, buyer.id, key); err != nil {
		return nil, err
	} else if prior != nil {
		d, err := purchaseDetail(ctx, tx, buyer, prior.ID, a.seller)
		if err != nil {
			return nil, err
		}
		d.Replayed = true
		return &d.Purchase, nil
	}
	lock := ForUpdate // a dry run reads only
	if req.DryRun {
		lock = NoLock
	}
	p, err := tx.PurchaseRecord(ctx, req.PurchaseID, lock)
	if err != nil {
		return nil, err
	}
	if p == nil || p.AccountID != buyer.id {
		return nil, purchaseNotFound(req.PurchaseID)
	}
	if err := licensing.CheckRefundable(&p.Purchase, a.refundWindow, req.Force, now); err != nil {
		return nil, err
	}
	items, err := tx.PurchaseItems(ctx, p.ID)
	if err != nil {
		return nil, err
	}
	lics, err := tx.RefundLicenses(ctx, p.ID, lock)
	if err != nil {
		return nil, err
	}
	if len(lics) == 0 {
		return nil, licensing.Errorf(licensing.EINVALID, "%s bought no licenses: maintenance purchases are refunded with their licenses", p.ID).
			WithHint("refund the license's purchase (its plans come back with it), or stop a plan's renewals with `licensectl maintenance cancel ID`")
	}
	refundable := make([]licensing.RefundableLicense, len(lics))
	byKey := make(map[string]RefundLicense, len(lics))
	for i, l := range lics {
		refundable[i], byKey[l.Key] = l.RefundableLicense, l
	}
	plan, err := licensing.PlanRefund(items, refundable, req.Licenses)
	if err != nil {
		return nil, err
	}
	ids := make([]int64, 0, len(plan.Keys))
	activated := 0
	for _, k := range plan.Keys {
		l := byKey[k]
		ids = append(ids, l.ID)
		if l.SeatsUsed > 0 {
			if !req.Force {
				return nil, licensing.Errorf(licensing.ECONFLICT, "license %s is activated on %s: an activated license cannot be refunded", k,
					plural(l.SeatsUsed, "machine")).
					WithHint("deactivate it first (`licensectl activations list --license %s`), or ask the vendor to refund it with --force", k)
			}
			activated++
		}
	}
	drafts := []refundDraft{{of: p, out: refundRecord(buyer, p, key, plan.Items, plan.TotalCents, plan.Keys, req.Reason, now)}}
	plans, err := tx.LicensePlans(ctx, buyer.id, ids)
	if err != nil {
		return nil, err
	}
	for start := 0; start < len(plans); {
		end := start
		for end < len(plans) && plans[end].PurchaseID == plans[start].PurchaseID {
			end++
		}
		mp, err := tx.PurchaseRecord(ctx, plans[start].PurchaseID, lock)
		if err != nil {
			return nil, err
		}
		var its []licensing.LineItem
		var total int64
		var planIDs []string
		for _, pl := range plans[start:end] {
			its = append(its, licensing.LineItem{SKU: licensing.MaintenanceSKU(pl.Product), Description: "Refund: maintenance plan " + pl.ID + " for " + pl.Key,
				Quantity: 1, UnitPriceCents: -pl.PriceCents, AmountCents: -pl.PriceCents})
			total -= pl.PriceCents
			planIDs = append(planIDs, pl.ID)
		}
		d := refundDraft{of: mp, plans: planIDs, out: refundRecord(buyer, mp, key+"-"+mp.ID, its, total, []string{}, req.Reason, now)}
		drafts = append(drafts, d)
		start = end
	}
	for _, d := range drafts {
		if calls != nil && d.of.PaymentRef != "" {
			*calls = append(*calls, refundCall{purchaseID: d.of.ID, RefundCharge: RefundCharge{PaymentRef: d.of.PaymentRef,
				AmountCents: -d.out.TotalCents, IdempotencyKey: fmt.Sprintf("licensectl-refund-%d-%s", buyer.id, d.out.IdempotencyKey),
				Reason: req.Reason}})
		}
		d.out.PaymentRef = refs[d.of.ID]
	}
	out := drafts[0].out
	for _, d := range drafts[1:] {
		out.AlsoRefunded = append(out.AlsoRefunded, *d.out)
	}
	if req.DryRun {
		out.ID, out.DryRun = "", true
		for i := range out.AlsoRefunded {
			out.AlsoRefunded[i].ID, out.AlsoRefunded[i].DryRun = "", true
		}
		return out, nil
	}
	for i, d := range drafts {
		if err := tx.InsertPurchase(ctx, NewPurchase{ID: d.out.ID, AccountID: buyer.id, PurchaseEmail: d.out.PurchaseEmail,
			IdempotencyKey: d.out.IdempotencyKey, RequestHash: hash, TotalCents: d.out.TotalCents, Currency: d.out.Currency,
			Billing: d.out.Billing, CreatedAt: now, Items: d.out.Items, Kind: d.out.Kind, RefundOf: d.of.ID, Reason: d.out.Reason,
			PaymentStatus: d.out.PaymentStatus, PaymentRef: d.out.PaymentRef}); err != nil {
			return nil, err
		}
		refunded := d.of.RefundedCents - d.out.TotalCents
		if err := tx.RecordRefund(ctx, d.of.ID, refunded, licensing.PaymentStatusAfterRefund(d.of.TotalCents, refunded)); err != nil {
			return nil, err
		}
		if err := tx.MarkPlansRefunded(ctx, d.plans, d.out.ID); err != nil {
			return nil, err
		}
		if i > 0 {
			if err := audit(ctx, tx, buyer.id, now, buyer.email, "purchase.refund", d.out.ID, map[string]any{"refund_of": d.of.ID,
				"plans": d.plans, "total_cents": d.out.TotalCents, "currency": d.out.Currency, "with": out.ID}); err != nil {
				return nil, err
			}
		}
	}
	deactivated := 0
	if activated > 0 {
		if deactivated, err = tx.DeleteLicenseActivations(ctx, ids); err != nil {
			return nil, err
		}
	}
	for start := 0; start < len(ids); start += ProgressEvery {
		end := min(start+ProgressEvery, len(ids))
		if err := tx.RevokeLicenses(ctx, ids[start:end], out.ID, now); err != nil { // ProgressEvery at a time: cancellable
			return nil, err
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
	}
	details := map[string]any{"refund_of": p.ID, "licenses": len(plan.Keys), "total_cents": plan.TotalCents,
		"currency": p.Currency, "reason": req.Reason}
	if req.Force {
		details["force"], details["deactivated"] = true, deactivated
	}
	if len(plan.Keys) <= 10 {
		details["keys"] = plan.Keys
	}
	if err := audit(ctx, tx, buyer.id, now, buyer.email, "purchase.refund", out.ID, details); err != nil {
		return nil, err
	}
	return out, refundEvents(ctx, tx, buyer.id, now, out)
}

// refundEvents writes a refund's events: purchase.refunded for it and the
// refunds made with it, license.revoked for each license.
func refundEvents(ctx context.Context, tx Tx, acct int64, now time.Time, out *licensing.Purchase) error {
	rows := make([]EventRow, 0, 1+len(out.AlsoRefunded)+len(out.Licenses))
	for _, r := range append([]licensing.Purchase{*out}, out.AlsoRefunded...) {
		js, err := json.Marshal(r)
		if err != nil {
			return err
		}
		rows = append(rows, EventRow{AccountID: acct, Type: licensing.EventPurchaseRefunded, Object: deref(r.RefundOf), Time: now, Data: js})
	}
	for _, k := range out.Licenses {
		js, err := json.Marshal(struct {
			Key       string    `json:"key"`
			Validity  string    `json:"validity"`
			RefundID  string    `json:"refund_id"`
			RevokedAt time.Time `json:"revoked_at"`
		}{k, licensing.ValidityRevoked, out.ID, now})
		if err != nil {
			return err
		}
		rows = append(rows, EventRow{AccountID: acct, Type: licensing.EventLicenseRevoked, Object: k, Time: now, Data: js})
	}
	return tx.InsertEvents(ctx, rows)
}

// refundRecord is a refund of purchase p to write.
func refundRecord(buyer account, p *StoredPurchase, key string, items []licensing.LineItem, total int64, keys []string,
	reason string, now time.Time) *licensing.Purchase {
	of := p.ID
	return &licensing.Purchase{ID: NewPurchaseID(), Kind: licensing.PurchaseKindRefund, Account: buyer.email,
		PurchaseEmail: p.PurchaseEmail, IdempotencyKey: key, Items: items, TotalCents: total, Currency: p.Currency,
		Billing: p.Billing, Licenses: keys, CreatedAt: now, PaymentStatus: licensing.PaymentRefunded, RefundOf: &of, Reason: reason}
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}

// CancelLicense implements licensing.MoneyService: a subscription stops
// renewing (its auto-renewal goes off) and stays valid until its paid period
// ends; undo turns renewal back on while that period lasts.
func (a *App) CancelLicense(ctx context.Context, key string, undo bool) (*licensing.License, error) {
	key, err := licensing.ParseKey(key)
	if err != nil {
		return nil, err
	}
	return write(ctx, a, func(tx Tx, now time.Time) (*licensing.License, error) {
		acct, err := actingAccount(ctx, tx)
		if err != nil {
			return nil, err
		}
		cur, err := tx.LicenseState(ctx, acct.id, key, ForUpdate)
		if err != nil {
			return nil, err
		}
		if cur == nil {
			if err := revokedError(ctx, tx, acct.id, key, licensing.ECONFLICT); err != nil {
				return nil, err
			}
			return nil, licenseNotFound(key)
		}
		l, err := tx.LicenseByID(ctx, cur.ID)
		if err != nil {
			return nil, err
		}
		if err := licensing.CheckCancel(l, undo, now); err != nil {
			return nil, err
		}
		if cur.AutoRenew == undo {
			l.Derive(now)
			return l, nil // cancelled already (or, undone, renewing)
		}
		renew := undo
		if err := tx.UpdateLicense(ctx, cur.ID, LicenseChange{AutoRenew: &renew}); err != nil {
			return nil, err
		}
		action := "license.cancel"
		if undo {
			action = "license.cancel_undo"
		}
		if err := audit(ctx, tx, acct.id, now, actor(ctx), action, key, map[string]any{"ends_at": l.ExpiresAt}); err != nil {
			return nil, err
		}
		l.AutoRenew = renew
		l.Derive(now)
		return l, emit(ctx, tx, acct.id, now, licensing.EventLicenseUpdated, key, l)
	})
}

// CancelMaintenance implements licensing.MoneyService: the plan stops
// renewing and lasts until its end; undo resumes renewals until then.
func (a *App) CancelMaintenance(ctx context.Context, id string, undo bool) (*licensing.MaintenancePlan, error) {
	renew := undo
	return a.UpdateMaintenance(ctx, id, licensing.MaintenanceUpdate{AutoRenew: &renew})
}

// sendReceipt mails a purchase's receipt to its purchase email, after the
// purchase committed; a mail that fails is told in ReceiptError, the
// purchase stands.
func (a *App) sendReceipt(ctx context.Context, p *licensing.Purchase) {
	if a.mailer == nil || p == nil || p.ID == "" {
		return
	}
	d := &licensing.PurchaseDetail{Purchase: *p, Seller: a.seller}
	if err := a.mailer.Send(ctx, licensing.ReceiptMail(d)); err != nil {
		p.ReceiptError = err.Error()
	}
}
