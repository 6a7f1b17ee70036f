package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"time"

	"github.com/licensectl/licensectl/internal/licensing"
)

var _ licensing.RenewalService = (*Store)(nil)

// renewalActor signs the audit events of the renewals engine: no person made
// those changes.
const renewalActor = "renewals"

// dueItem is a plan or license whose end date has come and that the engine
// has not dealt with yet.
type dueItem struct {
	kind      string
	object    string // plan id or license key
	key       string
	licenseID int64
	sku       string
	accountID int64
	account   string
	end       int64
	autoRenew bool
	term      string // subscriptions: monthly or annual
	succeeded bool   // a maintenance plan that a later plan of its license follows
}

// renewalStep is one period the engine renews, or one end it records.
type renewalStep = licensing.RenewalStep[*dueItem]

// renewalScope is the account the engine works on, or nil for all of them.
func renewalScope(ctx context.Context, q queryer) (any, error) {
	if licensing.AccountFrom(ctx) == "" {
		return nil, nil
	}
	id, _, err := actingAccount(ctx, q)
	return id, err
}

// dueItems finds every assigned plan and every expiring license whose end is
// at or before until and has no row in renewals for that end. Renewed items
// have a later end, expired ones a row: neither is found again.
func dueItems(ctx context.Context, q queryer, scope any, until int64) ([]*dueItem, error) {
	var out []*dueItem
	// A plan renews for, and is charged to, whoever owns its license now.
	rows, err := q.QueryContext(ctx, `SELECT m.id, l.key, l.id, m.product, l.account_id, a.email, m.ends_at, m.auto_renew,
			EXISTS (SELECT 1 FROM maintenance_plans n WHERE n.license_id = m.license_id AND n.id <> m.id AND n.starts_at >= m.ends_at)
		FROM maintenance_plans m JOIN licenses l ON l.id = m.license_id JOIN accounts a ON a.id = l.account_id
		WHERE m.license_id IS NOT NULL AND m.ends_at <= ?1 AND (?2 IS NULL OR l.account_id = ?2)
			AND NOT EXISTS (SELECT 1 FROM renewals r WHERE r.kind = 'maintenance' AND r.object = m.id AND r.due_at = m.ends_at)
		ORDER BY m.ends_at, m.id`, until, scope)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		it := &dueItem{kind: licensing.RenewalMaintenance}
		if err := rows.Scan(&it.object, &it.key, &it.licenseID, &it.sku, &it.accountID, &it.account, &it.end,
			&it.autoRenew, &it.succeeded); err != nil {
			return nil, err
		}
		out = append(out, it)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows.Close()

	// Licenses waiting for an account (account_id NULL) have nobody to charge
	// or tell; they are dealt with once attached.
	rows, err = q.QueryContext(ctx, `SELECT l.key, l.id, l.product, l.account_id, a.email, l.expires_at, l.auto_renew, l.term,
			CASE l.kind WHEN 'trial' THEN 'trial' ELSE 'subscription' END AS kind
		FROM licenses l JOIN accounts a ON a.id = l.account_id
		WHERE l.expires_at IS NOT NULL AND l.expires_at <= ?1 AND (?2 IS NULL OR l.account_id = ?2)
			AND NOT EXISTS (SELECT 1 FROM renewals r WHERE r.kind = (CASE l.kind WHEN 'trial' THEN 'trial' ELSE 'subscription' END)
				AND r.object = l.key AND r.due_at = l.expires_at)
		ORDER BY l.expires_at, l.id`, until, scope)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		it := &dueItem{}
		if err := rows.Scan(&it.key, &it.licenseID, &it.sku, &it.accountID, &it.account, &it.end, &it.autoRenew,
			&it.term, &it.kind); err != nil {
			return nil, err
		}
		it.object = it.key
		out = append(out, it)
	}
	return out, rows.Err()
}

// planRenewals reads everything due at or before until and plans it with the
// domain's rules (licensing.PlanRenewals).
func planRenewals(ctx context.Context, q queryer, scope any, until time.Time) ([]renewalStep, error) {
	items, err := dueItems(ctx, q, scope, until.Unix())
	if err != nil {
		return nil, err
	}
	return licensing.PlanRenewals(items, func(it *dueItem) licensing.DueItem {
		return licensing.DueItem{Kind: it.kind, Object: it.object, Key: it.key, SKU: it.sku, Account: it.account,
			End: unixTime(it.end), AutoRenew: it.autoRenew, Term: it.term, Succeeded: it.succeeded}
	}, func(sku string) (*licensing.Product, error) { return findProduct(ctx, q, sku) }, until)
}

// DueRenewals previews what falls due at or before until: what will renew,
// at what price, and what will end.
func (s *Store) DueRenewals(ctx context.Context, until time.Time) ([]licensing.Renewal, error) {
	tx, err := s.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	scope, err := renewalScope(ctx, tx)
	if err != nil {
		return nil, err
	}
	steps, err := planRenewals(ctx, tx, scope, until.UTC().Truncate(time.Second))
	if err != nil {
		return nil, err
	}
	out := make([]licensing.Renewal, 0, len(steps))
	for _, st := range steps {
		out = append(out, st.Renewal)
	}
	return out, nil
}

// RunRenewals processes everything due at or before asOf in one transaction:
// one renewal purchase per account (and currency) holding every period it
// renews, the new end dates, a renewals row per period or end, and an audit
// event for each. A second run for the same asOf finds nothing due.
func (s *Store) RunRenewals(ctx context.Context, asOf time.Time) (*licensing.RenewalRun, error) {
	asOf = asOf.UTC().Truncate(time.Second)
	if err := licensing.CheckRunAsOf(asOf, s.now()); err != nil {
		return nil, err
	}
	var run *licensing.RenewalRun
	err := s.write(ctx, func(tx *sql.Tx) error {
		run = &licensing.RenewalRun{AsOf: asOf, Purchases: []string{}}
		scope, err := renewalScope(ctx, tx)
		if err != nil {
			return err
		}
		steps, err := planRenewals(ctx, tx, scope, asOf)
		if err != nil {
			return err
		}
		if err := s.chargeRenewals(ctx, tx, asOf, steps, run); err != nil {
			return err
		}
		if err := s.applyRenewals(ctx, tx, steps); err != nil {
			return err
		}
		rs := make([]licensing.Renewal, 0, len(steps))
		for _, st := range steps {
			rs = append(rs, st.Renewal)
		}
		purchases := run.Purchases
		run = licensing.SummarizeRenewals(asOf, rs)
		run.Purchases = purchases
		return nil
	})
	if err != nil {
		return nil, err
	}
	return run, nil
}

// chargeRenewals writes one purchase per account and currency for the
// renewing steps, with a line per product and kind, and sets each step's
// purchase id.
func (s *Store) chargeRenewals(ctx context.Context, tx *sql.Tx, asOf time.Time, steps []renewalStep, run *licensing.RenewalRun) error {
	type group struct {
		plan
		lines   map[string]int // line key -> index in items
		steps   []int
		objects []string
	}
	var order []string
	groups := map[string]*group{}
	for i := range steps {
		st := &steps[i]
		if st.Action != licensing.RenewalRenew {
			continue
		}
		gk := fmt.Sprintf("%d/%s", st.Item.accountID, st.Currency)
		g, ok := groups[gk]
		if !ok {
			g = &group{plan: plan{buyerID: st.Item.accountID, buyer: st.Account, purchaseEmail: st.Account,
				owner: st.Item.accountID, currency: st.Currency, items: []licensing.LineItem{}}, lines: map[string]int{}}
			groups[gk] = g
			order = append(order, gk)
		}
		it := renewalLine(st)
		lk := it.SKU + "/" + it.Billing + "/" + fmt.Sprint(it.UnitPriceCents)
		idx, ok := g.lines[lk]
		if !ok {
			idx = len(g.items)
			g.lines[lk] = idx
			g.items = append(g.items, it)
		}
		g.items[idx].Quantity++
		g.items[idx].AmountCents += it.UnitPriceCents
		g.total += it.UnitPriceCents
		g.steps = append(g.steps, i)
		g.objects = append(g.objects, st.Object+"@"+st.DueAt.Format(time.RFC3339))
	}
	for _, gk := range order {
		g := groups[gk]
		hash, err := requestHash(struct {
			Renewals []string `json:"renewals"`
		}{g.objects})
		if err != nil {
			return err
		}
		key := "renewal-" + asOf.Format(time.RFC3339) + "-" + randomHex(4)
		p, err := s.writePurchase(ctx, tx, &g.plan, key, hash, nil)
		if err != nil {
			return err
		}
		for _, i := range g.steps {
			steps[i].PurchaseID = p.ID
		}
		run.Purchases = append(run.Purchases, p.ID)
	}
	return nil
}

// renewalLine is the purchase line of one renewed period (quantity 0: the
// caller counts).
func renewalLine(st *renewalStep) licensing.LineItem {
	if st.Kind == licensing.RenewalMaintenance {
		return licensing.LineItem{SKU: licensing.MaintenanceSKU(st.Product), Description: "Maintenance renewal for " + st.Name + " (1 year)",
			UnitPriceCents: st.PriceCents}
	}
	return licensing.LineItem{SKU: st.Product, Description: st.Name + " renewal (" + st.Item.term + ")",
		UnitPriceCents: st.PriceCents, Billing: st.Item.term}
}

// applyRenewals moves the end dates of renewed items to their last new end,
// records every step in renewals and in the audit log.
func (s *Store) applyRenewals(ctx context.Context, tx *sql.Tx, steps []renewalStep) error {
	now := s.now()
	record, err := tx.PrepareContext(ctx, `INSERT INTO renewals (account_id, kind, object, due_at, outcome, new_end, purchase_id,
		price_cents, processed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return err
	}
	defer record.Close()
	final := map[*dueItem]time.Time{}
	for _, st := range steps {
		var newEnd, purchase any
		outcome := "expired"
		details := map[string]any{"kind": st.Kind, "license": st.LicenseKey, "product": st.Product,
			"due_at": st.DueAt.Format(time.RFC3339)}
		if st.Action == licensing.RenewalRenew {
			outcome, newEnd, purchase = "renewed", st.NewEnd.Unix(), st.PurchaseID
			final[st.Item] = *st.NewEnd
			details["new_end"] = st.NewEnd.Format(time.RFC3339)
			details["price_cents"], details["currency"], details["purchase_id"] = st.PriceCents, st.Currency, st.PurchaseID
		} else {
			details["reason"] = st.Reason
		}
		if _, err := record.ExecContext(ctx, st.Item.accountID, st.Kind, st.Object, st.DueAt.Unix(), outcome, newEnd, purchase,
			st.PriceCents, now.Unix()); err != nil {
			return err
		}
		if err := audit(ctx, tx, st.Item.accountID, now, renewalActor, "renewal."+st.Action, st.Object, details); err != nil {
			return err
		}
	}
	return extendEnds(ctx, tx, final)
}

// extendEnds moves renewed plans and subscriptions to their new end; a
// renewed plan's license is covered till then too.
func extendEnds(ctx context.Context, tx *sql.Tx, final map[*dueItem]time.Time) error {
	stmts := map[string]*sql.Stmt{}
	for name, query := range map[string]string{
		"plan":         "UPDATE maintenance_plans SET ends_at = ? WHERE id = ?",
		"till":         "UPDATE licenses SET maintenance_till = max(ifnull(maintenance_till, 0), ?) WHERE id = ?",
		"subscription": "UPDATE licenses SET expires_at = ? WHERE id = ?",
	} {
		st, err := tx.PrepareContext(ctx, query)
		if err != nil {
			return err
		}
		defer st.Close()
		stmts[name] = st
	}
	// In license order: updates that walk the tables in order touch each
	// page once, which on a store larger than the page cache is most of the cost.
	items := make([]*dueItem, 0, len(final))
	for it := range final {
		items = append(items, it)
	}
	sort.Slice(items, func(i, j int) bool { return items[i].licenseID < items[j].licenseID })
	for _, it := range items {
		end := final[it]
		var err error
		if it.kind == licensing.RenewalMaintenance {
			if _, err = stmts["plan"].ExecContext(ctx, end.Unix(), it.object); err == nil {
				_, err = stmts["till"].ExecContext(ctx, end.Unix(), it.licenseID)
			}
		} else {
			_, err = stmts["subscription"].ExecContext(ctx, end.Unix(), it.licenseID)
		}
		if err != nil {
			return err
		}
	}
	return nil
}
