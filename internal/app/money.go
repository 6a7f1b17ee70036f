package app

import (
	"context"
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

// revokedError is the refusal to use a license a refund revoked, or nil
// when the account never had such a license.
func revokedError(ctx context.Context, tx Tx, acct int64, key string) error {
	r, err := tx.Revocation(ctx, acct, key)
	if err != nil || r == nil {
		return err
	}
	return licensing.Errorf(licensing.ECONFLICT, "license %s was revoked on %s: it was refunded (%s)", key,
		r.RevokedAt.Format("2006-01-02"), r.RefundID).
		WithHint("see `licensectl purchases show %s`", r.RefundID)
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
		return a.refund(ctx, tx, req, now, "", nil)
	})
	if err == nil && !out.DryRun && !out.Replayed {
		a.sendReceipt(ctx, out)
	}
	return out, err
}

// refundPaid refunds a purchase the provider charged: the provider gives
// the money back first (its key is the refund's, so a retry after a crash
// finds the same Refund), then the refund is written.
func (a *App) refundPaid(ctx context.Context, req licensing.RefundRequest) (*licensing.Purchase, error) {
	q := req
	q.DryRun = true
	var charge string
	preview, err := read(ctx, a, func(tx Tx, now time.Time) (*licensing.Purchase, error) {
		return a.refund(ctx, tx, q, now, "", &charge)
	})
	if err != nil || preview.Replayed {
		return preview, err
	}
	ref := ""
	if charge != "" {
		acct, err := read(ctx, a, func(tx Tx, _ time.Time) (account, error) { return actingAccount(ctx, tx) })
		if err != nil {
			return nil, err
		}
		if ref, err = a.pay.Refund(ctx, RefundCharge{PaymentRef: charge, AmountCents: -preview.TotalCents,
			IdempotencyKey: fmt.Sprintf("licensectl-refund-%d-%s", acct.id, preview.IdempotencyKey), Reason: req.Reason}); err != nil {
			return nil, err
		}
	}
	out, err := write(ctx, a, func(tx Tx, now time.Time) (*licensing.Purchase, error) {
		out, err := a.refund(ctx, tx, req, now, ref, nil)
		if err == nil && !out.Replayed && out.TotalCents != preview.TotalCents {
			return nil, licensing.Errorf(licensing.ECONFLICT, "the purchase changed while its refund was made (%s given back)", ref).
				WithHint("run `licensectl payments reconcile`")
		}
		return out, err
	})
	if err == nil && !out.Replayed {
		a.sendReceipt(ctx, out)
	}
	return out, err
}

// refund is the refund's transaction: providerRef is the provider's Refund
// ("" without one); charge, when not nil, receives the purchase's charge.
func (a *App) refund(ctx context.Context, tx Tx, req licensing.RefundRequest, now time.Time, providerRef string, charge *string) (*licensing.Purchase, error) {
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
	if charge != nil {
		*charge = p.PaymentRef
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
		return nil, licensing.Errorf(licensing.EINVALID, "%s bought no licenses: refunding maintenance purchases is not supported", p.ID).
			WithHint("to stop a plan's renewals, run `licensectl maintenance cancel ID`")
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
	refundOf := p.ID
	out := &licensing.Purchase{ID: NewPurchaseID(), Kind: licensing.PurchaseKindRefund, Account: buyer.email,
		PurchaseEmail: p.PurchaseEmail, IdempotencyKey: key, Items: plan.Items, TotalCents: plan.TotalCents,
		Currency: p.Currency, Billing: p.Billing, Licenses: plan.Keys, CreatedAt: now, PaymentStatus: licensing.PaymentRefunded,
		RefundOf: &refundOf, Reason: req.Reason, PaymentRef: providerRef}
	if req.DryRun {
		out.ID, out.DryRun = "", true
		return out, nil
	}
	if err := tx.InsertPurchase(ctx, NewPurchase{ID: out.ID, AccountID: buyer.id, PurchaseEmail: out.PurchaseEmail,
		IdempotencyKey: key, RequestHash: hash, TotalCents: out.TotalCents, Currency: out.Currency, Billing: out.Billing,
		CreatedAt: now, Items: out.Items, Kind: out.Kind, RefundOf: refundOf, Reason: out.Reason,
		PaymentStatus: out.PaymentStatus, PaymentRef: providerRef}); err != nil {
		return nil, err
	}
	refunded := p.RefundedCents - plan.TotalCents
	if err := tx.RecordRefund(ctx, p.ID, refunded, licensing.PaymentStatusAfterRefund(p.TotalCents, refunded)); err != nil {
		return nil, err
	}
	deactivated := 0
	if activated > 0 {
		if deactivated, err = tx.DeleteLicenseActivations(ctx, ids); err != nil {
			return nil, err
		}
	}
	for start := 0; start < len(ids); start += ProgressEvery {
		end := min(start+ProgressEvery, len(ids))
		if err := tx.RevokeLicenses(ctx, ids[start:end], out.ID, now); err != nil {
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
	return out, audit(ctx, tx, buyer.id, now, buyer.email, "purchase.refund", out.ID, details)
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
			if err := revokedError(ctx, tx, acct.id, key); err != nil {
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
		return l, nil
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
