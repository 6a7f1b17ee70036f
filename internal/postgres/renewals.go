package postgres

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

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
	rows, err := q.Query(ctx, `SELECT m.id, l.key, l.id, m.product, l.account_id, a.email, m.ends_at, m.auto_renew,
			EXISTS (SELECT 1 FROM maintenance_plans n WHERE n.license_id = m.license_id AND n.id <> m.id AND n.starts_at >= m.ends_at)
		FROM maintenance_plans m JOIN licenses l ON l.id = m.license_id JOIN accounts a ON a.id = l.account_id
		WHERE m.license_id IS NOT NULL AND m.ends_at <= $1 AND ($2::bigint IS NULL OR l.account_id = $2)
			AND NOT EXISTS (SELECT 1 FROM renewals r WHERE r.kind = 'maintenance' AND r.object = m.id AND r.due_at = m.ends_at)
		ORDER BY m.ends_at, m.id`, until, scope)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		it := &dueItem{kind: licensing.RenewalMaintenance}
		if err := rows.Scan(&it.object, &it.key, &it.licenseID, &it.sku, &it.accountID, &it.account, &it.end,
			&it.autoRenew, &it.succeeded); err != nil {
			rows.Close()
			return nil, err
		}
		out = append(out, it)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}

	// Licenses waiting for an account (account_id NULL) have nobody to charge
	// or tell; they are dealt with once attached.
	rows, err = q.Query(ctx, `SELECT l.key, l.id, l.product, l.account_id, a.email, l.expires_at, l.auto_renew, l.term,
			CASE l.kind WHEN 'trial' THEN 'trial' ELSE 'subscription' END AS kind
		FROM licenses l JOIN accounts a ON a.id = l.account_id
		WHERE l.expires_at IS NOT NULL AND l.expires_at <= $1 AND ($2::bigint IS NULL OR l.account_id = $2)
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
// at what price, and what will end. It reads one snapshot.
func (s *Store) DueRenewals(ctx context.Context, until time.Time) ([]licensing.Renewal, error) {
	tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return nil, err
	}
	defer tx.Rollback(ctx)
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
//
// Replicas may run the engine at the same moment (each on its schedule).
// Each period is still renewed, and charged, once: the renewals row of a
// period is unique and every end date moves only from the value the run
// read, so of two overlapping runs one commits and the other starts over,
// finds the first one's rows, and does only what is left (usually nothing).
func (s *Store) RunRenewals(ctx context.Context, asOf time.Time) (*licensing.RenewalRun, error) {
	asOf = asOf.UTC().Truncate(time.Second)
	if err := licensing.CheckRunAsOf(asOf, s.now()); err != nil {
		return nil, err
	}
	var run *licensing.RenewalRun
	err := s.write(ctx, func(tx pgx.Tx) error {
		run = &licensing.RenewalRun{AsOf: asOf, Purchases: []string{}, Renewals: []licensing.Renewal{}}
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
func (s *Store) chargeRenewals(ctx context.Context, tx pgx.Tx, asOf time.Time, steps []renewalStep, run *licensing.RenewalRun) error {
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
		hash, err := hashJSON(struct {
			Renewals []string `json:"renewals"`
		}{g.objects})
		if err != nil {
			return err
		}
		if g.fixed, err = billingModes(ctx, tx, g.buyerID); err != nil {
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

// billingModes returns the payment modes an account has fixed. A renewal
// keeps the term its subscription has, even where that differs from the
// account's mode (a license attached from another buyer): as on SQLite the
// renewal then leaves the fixed mode alone rather than conflict with it.
func billingModes(ctx context.Context, q queryer, acct int64) (map[string]string, error) {
	rows, err := q.Query(ctx, "SELECT sku, billing FROM billing_modes WHERE account_id = $1", acct)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var sku, b string
		if err := rows.Scan(&sku, &b); err != nil {
			return nil, err
		}
		out[sku] = b
	}
	return out, rows.Err()
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
func (s *Store) applyRenewals(ctx context.Context, tx pgx.Tx, steps []renewalStep) error {
	now := s.now()
	final := map[*dueItem]time.Time{}
	b := &pgx.Batch{}
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
		b.Queue(`INSERT INTO renewals (account_id, kind, object, due_at, outcome, new_end, purchase_id, price_cents, processed_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
			st.Item.accountID, st.Kind, st.Object, st.DueAt.Unix(), outcome, newEnd, purchase, st.PriceCents, now.Unix())
		if err := audit(ctx, queueTx{tx, b}, st.Item.accountID, now, renewalActor, "renewal."+st.Action, st.Object, details); err != nil {
			return err
		}
		if b.Len() >= 2*progressEvery {
			if err := tx.SendBatch(ctx, b).Close(); err != nil {
				return err
			}
			b = &pgx.Batch{}
		}
	}
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return err
	}
	return extendEnds(ctx, tx, final)
}

// extendEnds moves renewed plans and subscriptions to their new end; a
// renewed plan's license is covered till then too. Each end moves only from
// the value the run read: should another run have moved it meanwhile (which
// SERIALIZABLE already prevents), the run starts over rather than renew twice.
func extendEnds(ctx context.Context, tx pgx.Tx, final map[*dueItem]time.Time) error {
	// In license order: concurrent runs that touch the same licenses lock
	// them in the same order rather than deadlock.
	items := make([]*dueItem, 0, len(final))
	for it := range final {
		items = append(items, it)
	}
	sort.Slice(items, func(i, j int) bool { return items[i].licenseID < items[j].licenseID })
	b := &pgx.Batch{}
	for _, it := range items {
		end := final[it].Unix()
		if it.kind == licensing.RenewalMaintenance {
			b.Queue("UPDATE maintenance_plans SET ends_at = $1 WHERE id = $2 AND ends_at = $3", end, it.object, it.end)
			b.Queue("UPDATE licenses SET maintenance_till = greatest(coalesce(maintenance_till, 0), $1) WHERE id = $2", end, it.licenseID)
		} else {
			b.Queue("UPDATE licenses SET expires_at = $1 WHERE id = $2 AND expires_at = $3", end, it.licenseID, it.end)
		}
	}
	br := tx.SendBatch(ctx, b)
	for _, it := range items {
		tag, err := br.Exec()
		if err != nil {
			br.Close()
			return err
		}
		if tag.RowsAffected() != 1 {
			br.Close()
			return errRetry
		}
		if it.kind == licensing.RenewalMaintenance {
			if _, err := br.Exec(); err != nil {
				br.Close()
				return err
			}
		}
	}
	return br.Close()
}

// queueTx is a transaction whose Exec queues the statement in a batch rather
// than run it: helpers written for a transaction (audit) then add to the
// batch, and a run of 100,000 renewals does not wait on 100,000 round trips.
type queueTx struct {
	pgx.Tx
	b *pgx.Batch
}

func (q queueTx) Exec(_ context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	q.b.Queue(sql, args...)
	return pgconn.CommandTag{}, nil
}
