package app

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sort"
	"time"

	"github.com/licensectl/licensectl/internal/licensing"
)

var _ licensing.RenewalService = (*App)(nil)

// renewalActor signs the audit events of the renewals engine: no person made
// those changes.
const renewalActor = "renewals"

// DueRow is a plan or license whose end date has come and that the engine
// has not dealt with yet (no renewals row for that end).
type DueRow struct {
	Kind      string // licensing.RenewalMaintenance, RenewalSubscription or RenewalTrial
	Object    string // plan id or license key
	Key       string
	LicenseID int64
	SKU       string
	AccountID int64
	Account   string
	End       time.Time
	AutoRenew bool
	Term      string // subscriptions: monthly or annual
	Succeeded bool   // a maintenance plan that a later plan of its license follows
	// PastDue is when a subscription's renewal charge first failed.
	PastDue *time.Time
	// Plan is a maintenance plan as the API shows it (for its
	// maintenance.expired event).
	Plan *licensing.MaintenancePlan
}

// RenewalRecord is one processed period or end, for the renewals table.
type RenewalRecord struct {
	AccountID   int64
	Kind        string
	Object      string
	DueAt       time.Time
	Outcome     string  // renewed | expired
	NewEnd      *int64  // renewed: the new end (seconds since 1970)
	PurchaseID  *string // renewed: the renewal purchase
	PriceCents  int64
	ProcessedAt time.Time
}

// EndMove moves a renewed item's end. A maintenance plan (PlanID) moves its
// ends_at and its license's maintenance_till (never backwards); a
// subscription moves its license's expires_at.
type EndMove struct {
	PlanID    string // "" for a subscription
	LicenseID int64
	From, To  time.Time
}

// RenewalTx is what the renewals engine needs of a transaction.
type RenewalTx interface {
	// DuePlans lists the assigned plans that end at or before until with
	// no renewals row for that end, of one owner's licenses (acct 0: every
	// account's), by end then id. A plan belongs to whoever owns its
	// license now; licenses without an owner are left out.
	DuePlans(ctx context.Context, acct int64, until time.Time) ([]DueRow, error)
	// DueLicenses lists the owned licenses (subscriptions and trials) that
	// expire at or before until with no renewals row for that end, by
	// expiry then id.
	DueLicenses(ctx context.Context, acct int64, until time.Time) ([]DueRow, error)
	// InsertRenewals records processed periods and ends, in bulk.
	InsertRenewals(ctx context.Context, rows []RenewalRecord) error
	// MoveEnds moves every end, in the order given and in bulk, each only
	// from the value From: false when one of them had moved meanwhile.
	MoveEnds(ctx context.Context, moves []EndMove) (bool, error)
	// SetPastDue records when a subscription's renewal charge first failed
	// (nil: it is paid again).
	SetPastDue(ctx context.Context, licenseID int64, since *time.Time) error
}

// DuePlanColumns are the columns ScanDuePlan reads: over maintenance_plans
// m, licenses l and accounts a, the last whether another plan n of the
// license starts at or after m ends.
const DuePlanColumns = `m.id, l.key, l.id, m.product, l.account_id, a.email, m.ends_at, m.auto_renew,
	EXISTS (SELECT 1 FROM maintenance_plans n WHERE n.license_id = m.license_id AND n.id <> m.id AND n.starts_at >= m.ends_at),
	coalesce(m.starts_at, 0), m.price_cents, m.currency, m.purchase_id, m.created_at`

// ScanDuePlan reads a row of DuePlanColumns.
func ScanDuePlan(sc Scanner) (*DueRow, error) {
	r := DueRow{Kind: licensing.RenewalMaintenance}
	var end, starts, created int64
	p := &licensing.MaintenancePlan{}
	if err := sc.Scan(&r.Object, &r.Key, &r.LicenseID, &r.SKU, &r.AccountID, &r.Account, &end, &r.AutoRenew, &r.Succeeded,
		&starts, &p.PriceCents, &p.Currency, &p.PurchaseID, &created); err != nil {
		return nil, err
	}
	r.End = Unix(end)
	key, st, en := r.Key, Unix(starts), r.End
	p.ID, p.LicenseKey, p.Product, p.StartsAt, p.EndsAt, p.AutoRenew, p.CreatedAt = r.Object, &key, r.SKU, &st, &en, r.AutoRenew, Unix(created)
	r.Plan = p
	return &r, nil
}

// DueLicenseKind is the renewals kind of a license l: trial or subscription.
const DueLicenseKind = `(CASE l.kind WHEN 'trial' THEN 'trial' ELSE 'subscription' END)`

// DueLicenseColumns are the columns ScanDueLicense reads, over licenses l
// and accounts a.
const DueLicenseColumns = `l.key, l.id, l.product, l.account_id, a.email, l.expires_at, l.auto_renew, l.term, ` + DueLicenseKind +
	`, l.past_due_since`

// ScanDueLicense reads a row of DueLicenseColumns.
func ScanDueLicense(sc Scanner) (*DueRow, error) {
	var r DueRow
	var end int64
	var pastDue *int64
	if err := sc.Scan(&r.Key, &r.LicenseID, &r.SKU, &r.AccountID, &r.Account, &end, &r.AutoRenew, &r.Term, &r.Kind, &pastDue); err != nil {
		return nil, err
	}
	r.Object, r.End, r.PastDue = r.Key, Unix(end), UnixOrNil(pastDue)
	return &r, nil
}

// renewalStep is one period the engine renews, or one end it records.
type renewalStep = licensing.RenewalStep[*DueRow]

// renewalScope is the account the engine works on, or 0 for all of them.
func renewalScope(ctx context.Context, tx Tx) (int64, error) {
	if licensing.AccountFrom(ctx) == "" {
		return 0, nil
	}
	acct, err := actingAccount(ctx, tx)
	return acct.id, err
}

// planRenewals reads everything due at or before until and plans it with the
// domain's rules (licensing.PlanRenewals).
func planRenewals(ctx context.Context, tx Tx, scope int64, until time.Time) ([]renewalStep, error) {
	plans, err := tx.DuePlans(ctx, scope, until)
	if err != nil {
		return nil, err
	}
	subs, err := tx.DueLicenses(ctx, scope, until)
	if err != nil {
		return nil, err
	}
	items := make([]*DueRow, 0, len(plans)+len(subs))
	for _, rows := range [][]DueRow{plans, subs} {
		for i := range rows {
			items = append(items, &rows[i])
		}
	}
	return licensing.PlanRenewals(items, func(it *DueRow) licensing.DueItem {
		return licensing.DueItem{Kind: it.Kind, Object: it.Object, Key: it.Key, SKU: it.SKU, Account: it.Account,
			End: it.End, AutoRenew: it.AutoRenew, Term: it.Term, Succeeded: it.Succeeded}
	}, func(sku string) (*licensing.Product, error) { return product(ctx, tx, sku) }, until)
}

// DueRenewals previews what falls due at or before until: what will renew,
// at what price, and what will end.
func (a *App) DueRenewals(ctx context.Context, until time.Time) ([]licensing.Renewal, error) {
	until = until.UTC().Truncate(time.Second)
	return read(ctx, a, func(tx Tx, _ time.Time) ([]licensing.Renewal, error) {
		scope, err := renewalScope(ctx, tx)
		if err != nil {
			return nil, err
		}
		steps, err := planRenewals(ctx, tx, scope, until)
		if err != nil {
			return nil, err
		}
		out := make([]licensing.Renewal, 0, len(steps))
		for _, st := range steps {
			out = append(out, st.Renewal)
		}
		return out, nil
	})
}

// RunRenewals processes everything due at or before asOf in one transaction:
// one renewal purchase per account (and currency) holding every period it
// renews, the new end dates, a renewals row per period or end, and an audit
// event for each. A second run for the same asOf finds nothing due.
//
// PostgreSQL replicas may run the engine at the same moment (each on its
// schedule). Each period is still renewed, and charged, once: the renewals
// row of a period is unique and every end date moves only from the value
// the run read, so of two overlapping runs one commits and the other starts
// over, finds the first one's rows, and does only what is left (usually
// nothing).
func (a *App) RunRenewals(ctx context.Context, asOf time.Time) (*licensing.RenewalRun, error) {
	return a.runRenewals(ctx, asOf, "on_demand")
}

// runRenewals is RunRenewals, reported to the observer under trigger.
func (a *App) runRenewals(ctx context.Context, asOf time.Time, trigger string) (*licensing.RenewalRun, error) {
	run, err := a.renewalsRun(ctx, asOf)
	if a.obs != nil {
		a.obs.RenewalsRun(trigger, run, err)
	}
	return run, err
}

func (a *App) renewalsRun(ctx context.Context, asOf time.Time) (*licensing.RenewalRun, error) {
	asOf = asOf.UTC().Truncate(time.Second)
	if err := licensing.CheckRunAsOf(asOf, a.now()); err != nil {
		return nil, err
	}
	var charged map[string]renewalCharge
	if a.pay != nil {
		var err error
		if charged, err = a.chargeRenewalsFirst(ctx, asOf); err != nil {
			return nil, err
		}
	}
	var failed []renewalCharge
	var bought []*licensing.Purchase // the run's renewal charges, for their receipts
	var rem *reminders
	run, err := write(ctx, a, func(tx Tx, now time.Time) (*licensing.RenewalRun, error) {
		rem = &reminders{}
		scope, err := renewalScope(ctx, tx)
		if err != nil {
			return nil, err
		}
		steps, err := planRenewals(ctx, tx, scope, asOf)
		if err != nil {
			return nil, err
		}
		purchases, kept, fails, err := a.chargeRenewals(ctx, tx, asOf, now, steps, charged)
		if err != nil {
			return nil, err
		}
		failed, bought = fails, purchases
		steps = kept
		if err := applyRenewals(ctx, tx, now, steps); err != nil {
			return nil, err
		}
		if err := rem.writeNotices(ctx, tx, scope, asOf, now); err != nil {
			return nil, err
		}
		for i, f := range failed {
			ok, err := rem.wants(ctx, tx, f.acct.id, f.acct.email, licensing.EventSubscriptionRenewalFailed)
			if err != nil {
				return nil, err
			}
			failed[i].mute = !ok
		}
		rs := make([]licensing.Renewal, 0, len(steps))
		for _, st := range steps {
			rs = append(rs, st.Renewal)
		}
		run := licensing.SummarizeRenewals(asOf, rs)
		run.Purchases = make([]string, 0, len(purchases))
		for _, p := range purchases {
			run.Purchases = append(run.Purchases, p.ID)
		}
		for _, f := range failed {
			run.Failed += len(f.steps)
		}
		return run, nil
	})
	if err == nil {
		for _, f := range failed {
			if !f.mute {
				a.mailRenewalFailed(ctx, f)
			}
		}
		for _, p := range bought {
			a.sendReceipt(ctx, p)
		}
		rem.send(ctx, a.mailer)
	}
	return run, err
}

// renewalCharge is one charge of a renewals run: an account's renewing
// steps in one currency, and what the provider answered.
type renewalCharge struct {
	key      string
	acct     account
	total    int64
	currency string
	pay      payment
	reason   string // the provider refused: why
	steps    []int
	mute     bool // the account turned renewal_failed reminders off
}

// renewalKey is a charge's key: its periods (objects and due dates), so a
// run that crashed after charging is charged the same on its rerun.
func renewalKey(asOf time.Time, objects []string) string {
	h, _ := licensing.RequestHash(objects)
	return "renewal-" + asOf.Format(time.RFC3339) + "-" + h[:16]
}

// chargeRenewalsFirst charges every renewal charge of the run through the
// provider, before the run's transaction (which must not wait on it), by
// key. A refused card is a failed charge, not an error of the run.
func (a *App) chargeRenewalsFirst(ctx context.Context, asOf time.Time) (map[string]renewalCharge, error) {
	plan, err := read(ctx, a, func(tx Tx, _ time.Time) ([]renewalCharge, error) {
		scope, err := renewalScope(ctx, tx)
		if err != nil {
			return nil, err
		}
		steps, err := planRenewals(ctx, tx, scope, asOf)
		if err != nil {
			return nil, err
		}
		var out []renewalCharge
		for _, c := range licensing.GroupRenewalCharges(steps, func(d *DueRow) string { return d.Term }) {
			it := steps[c.Steps[0]].Item
			out = append(out, renewalCharge{key: renewalKey(asOf, c.Objects), acct: account{id: it.AccountID, email: c.Account},
				total: c.TotalCents, currency: c.Currency})
		}
		return out, nil
	})
	if err != nil {
		return nil, err
	}
	done := map[string]renewalCharge{}
	for _, c := range plan {
		pay, err := a.charge(ctx, c.acct, c.total, c.currency, "renewal", c.key, c.key, nil)
		switch {
		case licensing.ErrorCode(err) == licensing.ECONFLICT:
			c.reason = licensing.ErrorMessage(err)
		case err != nil:
			return nil, err // the provider is down: the run stops; the next one charges the same keys
		default:
			c.pay = pay
		}
		done[c.key] = c
	}
	return done, nil
}

// chargeRenewals writes one purchase per account and currency for the
// renewing steps (licensing.GroupRenewalCharges), sets each step's purchase
// id and returns the purchases with the steps to apply. With a
// provider (charged not nil) only the charges it took are written; a refused
// one is past due (its steps left out), and one it was not asked for (due
// since the charges were taken) waits for the next run.
func (a *App) chargeRenewals(ctx context.Context, tx Tx, asOf, now time.Time, steps []renewalStep,
	charged map[string]renewalCharge) ([]*licensing.Purchase, []renewalStep, []renewalCharge, error) {
	var purchases []*licensing.Purchase
	skip := map[int]bool{}
	var failed []renewalCharge
	for _, c := range licensing.GroupRenewalCharges(steps, func(d *DueRow) string { return d.Term }) {
		acct := steps[c.Steps[0]].Item.AccountID
		key := renewalKey(asOf, c.Objects)
		o := order{buyerID: acct, buyer: c.Account, purchaseEmail: c.Account, owner: acct, currency: c.Currency,
			items: c.Items, total: c.TotalCents, fixed: map[string]string{}, renewal: true}
		if charged != nil {
			ch, ok := charged[key]
			if !ok || ch.reason != "" || ch.total != c.TotalCents {
				for _, i := range c.Steps {
					skip[i] = true
				}
				if ok && ch.reason != "" {
					ch.steps = c.Steps
					if err := a.renewalFailed(ctx, tx, now, steps, ch); err != nil {
						return nil, nil, nil, err
					}
					failed = append(failed, ch)
				}
				continue
			}
			o.pay = ch.pay
		}
		hash, err := licensing.RequestHash(struct {
			Renewals []string `json:"renewals"`
		}{c.Objects})
		if err != nil {
			return nil, nil, nil, err
		}
		p, err := writePurchase(ctx, tx, &o, key, hash, now, nil)
		if err != nil {
			return nil, nil, nil, err
		}
		for _, i := range c.Steps {
			steps[i].PurchaseID = p.ID
			if d := steps[i].Item; d.PastDue != nil {
				if err := tx.SetPastDue(ctx, d.LicenseID, nil); err != nil {
					return nil, nil, nil, err
				}
				d.PastDue = nil
			}
		}
		purchases = append(purchases, p)
	}
	if len(skip) == 0 {
		return purchases, steps, nil, nil
	}
	kept := make([]renewalStep, 0, len(steps))
	for i, st := range steps {
		if !skip[i] {
			kept = append(kept, st)
		}
	}
	return purchases, kept, failed, nil
}

// renewalFailed records a refused renewal charge: a subscription is past
// due from its first failure and stops renewing once the grace period is
// over (the next run ends it); a maintenance plan stops renewing at once.
func (a *App) renewalFailed(ctx context.Context, tx Tx, now time.Time, steps []renewalStep, ch renewalCharge) error {
	seen := map[*DueRow]bool{}
	for _, i := range ch.steps {
		d := steps[i].Item
		if seen[d] {
			continue
		}
		seen[d] = true
		switch {
		case d.Kind == licensing.RenewalMaintenance:
			if err := tx.SetPlanAutoRenew(ctx, d.Object, false); err != nil {
				return err
			}
		case d.PastDue == nil:
			due := d.End
			if err := tx.SetPastDue(ctx, d.LicenseID, &due); err != nil {
				return err
			}
		case !now.Before(d.PastDue.Add(a.grace)):
			off := false
			if err := tx.UpdateLicense(ctx, d.LicenseID, LicenseChange{AutoRenew: &off}); err != nil {
				return err
			}
		}
		details := map[string]any{"kind": d.Kind, "license": d.Key, "due_at": d.End.Format(time.RFC3339), "reason": ch.reason}
		if err := audit(ctx, tx, d.AccountID, now, renewalActor, "renewal.failed", d.Object, details); err != nil {
			return err
		}
		if err := emit(ctx, tx, d.AccountID, now, licensing.EventSubscriptionRenewalFailed, d.Object, details); err != nil {
			return err
		}
	}
	return nil
}

// mailRenewalFailed tells an account its renewal payment failed.
func (a *App) mailRenewalFailed(ctx context.Context, ch renewalCharge) {
	if a.mailer == nil {
		return
	}
	body := fmt.Sprintf("The renewal charge of %s %s for your licenses failed: %s\n\n"+
		"Your subscriptions stay valid for %s (past due). Save a card with\n\n  licensectl billing setup\n\n"+
		"and the next renewals run charges it again.\n\n"+
		"Turn these reminders off with:\n  licensectl notifications set --renewal-failed=false\n", licensing.FormatCents(ch.total), ch.currency, ch.reason, licensing.FormatWindow(a.grace))
	a.mailer.Send(ctx, licensing.Mail{To: ch.acct.email, Subject: "Your licensectl renewal payment failed", Body: body})
}

// applyRenewals records every step in renewals and in the audit log,
// ProgressEvery steps at a time, then moves the end dates of renewed items
// to their last new end.
func applyRenewals(ctx context.Context, tx Tx, now time.Time, steps []renewalStep) error {
	final := map[*DueRow]time.Time{}
	var renewed []*DueRow // renewed items in the order of their first step
	for start := 0; start < len(steps); start += ProgressEvery {
		end := min(start+ProgressEvery, len(steps))
		records := make([]RenewalRecord, 0, end-start)
		events := make([]AuditRow, 0, end-start)
		var outbox []EventRow
		for _, st := range steps[start:end] {
			rec := RenewalRecord{AccountID: st.Item.AccountID, Kind: st.Kind, Object: st.Object, DueAt: st.DueAt,
				Outcome: "expired", PriceCents: st.PriceCents, ProcessedAt: now}
			details := map[string]any{"kind": st.Kind, "license": st.LicenseKey, "product": st.Product,
				"due_at": st.DueAt.Format(time.RFC3339)}
			if st.Action == licensing.RenewalRenew {
				newEnd, purchase := st.NewEnd.Unix(), st.PurchaseID
				rec.Outcome, rec.NewEnd, rec.PurchaseID = "renewed", &newEnd, &purchase
				if _, ok := final[st.Item]; !ok {
					renewed = append(renewed, st.Item)
				}
				final[st.Item] = *st.NewEnd
				details["new_end"] = st.NewEnd.Format(time.RFC3339)
				details["price_cents"], details["currency"], details["purchase_id"] = st.PriceCents, st.Currency, st.PurchaseID
			} else {
				details["reason"] = st.Reason
			}
			records = append(records, rec)
			js, err := json.Marshal(details)
			if err != nil {
				return err
			}
			events = append(events, AuditRow{AccountID: st.Item.AccountID, Time: now, Actor: licensing.Actor(ctx, renewalActor),
				Action: "renewal." + st.Action, Object: st.Object, Details: js})
			switch {
			case st.Action == licensing.RenewalRenew && st.Kind == licensing.RenewalSubscription:
				outbox = append(outbox, EventRow{AccountID: st.Item.AccountID, Type: licensing.EventSubscriptionRenewed,
					Object: st.Object, Time: now, Data: js})
			case st.Action == licensing.RenewalExpire && st.Kind == licensing.RenewalMaintenance && !st.Item.Succeeded && st.Item.Plan != nil:
				// Not renewed, and no later plan takes over: the license's
				// maintenance ends.
				plan := *st.Item.Plan
				plan.Derive(now)
				pj, err := json.Marshal(&plan)
				if err != nil {
					return err
				}
				outbox = append(outbox, EventRow{AccountID: st.Item.AccountID, Type: licensing.EventMaintenanceExpired,
					Object: st.Object, Time: now, Data: pj})
			}
		}
		if err := tx.InsertRenewals(ctx, records); err != nil {
			return err
		}
		if err := tx.InsertAudit(ctx, events...); err != nil {
			return err
		}
		if err := tx.InsertEvents(ctx, outbox); err != nil {
			return err
		}
	}
	// In license order: concurrent runs that touch the same licenses lock
	// them in the same order rather than deadlock, and updates that walk
	// the tables in order touch each page once.
	sort.SliceStable(renewed, func(i, j int) bool { return renewed[i].LicenseID < renewed[j].LicenseID })
	moves := make([]EndMove, 0, len(renewed))
	for _, it := range renewed {
		m := EndMove{LicenseID: it.LicenseID, From: it.End, To: final[it]}
		if it.Kind == licensing.RenewalMaintenance {
			m.PlanID = it.Object
		}
		moves = append(moves, m)
	}
	if len(moves) == 0 {
		return nil
	}
	moved, err := tx.MoveEnds(ctx, moves)
	if err == nil && !moved {
		return ErrRetry // another run moved an end meanwhile: start over rather than renew twice
	}
	return err
}

// RunRenewalsEvery runs the renewals engine over every account now and then
// every interval until ctx ends, logging each run. The engine is idempotent
// per date, so a run that overlaps another replica's or the operator's
// renews nothing twice.
func (a *App) RunRenewalsEvery(ctx context.Context, every time.Duration, log *slog.Logger) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		run, err := a.runRenewals(ctx, a.clock.Now(), "schedule")
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			log.Error("renewals run failed", "error", err.Error())
		default:
			log.Info("renewals run", "renewed", run.Renewed, "expired", run.Expired, "total_cents", run.TotalCents)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
