package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"sort"
	"strings"
	"time"

	"github.com/licensectl/licensectl/internal/licensing"
)

var _ licensing.MaintenanceService = (*Store)(nil)

const planColumns = `m.id, ifnull(l.key, ''), m.product, ifnull(m.starts_at, 0), ifnull(m.ends_at, 0), m.auto_renew,
	m.price_cents, m.currency, m.purchase_id, m.created_at`

const planFrom = ` FROM maintenance_plans m LEFT JOIN licenses l ON l.id = m.license_id`

func scanPlan(sc interface{ Scan(...any) error }, now time.Time) (*licensing.MaintenancePlan, error) {
	var (
		m                     licensing.MaintenancePlan
		key                   string
		starts, ends, created int64
	)
	if err := sc.Scan(&m.ID, &key, &m.Product, &starts, &ends, &m.AutoRenew, &m.PriceCents, &m.Currency,
		&m.PurchaseID, &created); err != nil {
		return nil, err
	}
	if key != "" {
		s, e := unixTime(starts), unixTime(ends)
		m.LicenseKey, m.StartsAt, m.EndsAt = &key, &s, &e
	}
	m.CreatedAt = unixTime(created)
	m.Derive(now)
	return &m, nil
}

func queryPlans(ctx context.Context, q queryer, now time.Time, where string, args ...any) ([]licensing.MaintenancePlan, error) {
	rows, err := q.QueryContext(ctx, "SELECT "+planColumns+planFrom+" WHERE "+where+" ORDER BY m.created_at, m.rowid", args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []licensing.MaintenancePlan{}
	for rows.Next() {
		m, err := scanPlan(rows, now)
		if err != nil {
			return nil, err
		}
		out = append(out, *m)
	}
	return out, rows.Err()
}

// newPlanID returns "M-" and 12 random Crockford base32 characters: the
// purchase id's alphabet and strength, with the plan's own prefix.
func newPlanID() string { return "M-" + strings.TrimPrefix(newPurchaseID(), "P-") }

// normalizePlanID accepts a plan id as people type it.
func normalizePlanID(id string) (string, error) {
	id = strings.ToUpper(strings.TrimSpace(id))
	if !strings.HasPrefix(id, "M-") || len(id) != 14 || strings.Trim(id[2:], crockford) != "" {
		return "", licensing.Errorf(licensing.EINVALID, "malformed maintenance plan id %q", clipKey(id)).
			WithHint("plan ids look like M-XXXXXXXXXXXX; see `licensectl maintenance list`")
	}
	return id, nil
}

func planNotFound(id string) error {
	return licensing.Errorf(licensing.ENOTFOUND, "maintenance plan %s not found", id).
		WithHint("see `licensectl maintenance list`")
}

// maintenanceOrder is a maintenance purchase that passed every rule and is
// priced, but not yet written.
type maintenanceOrder struct {
	plan
	autoRenew bool
	plans     []newPlan
}

// newPlan is one plan to create: for a license (licenseID != 0) with its
// dates, or available.
type newPlan struct {
	product   *licensing.Product
	licenseID int64
	key       string
	starts    time.Time
	ends      time.Time
}

// coveredLicense is a license a plan can be bought for.
type coveredLicense struct {
	id          int64
	key, sku    string
	kind        string
	maintenance sql.NullInt64
}

// prepareMaintenance applies every rule of a maintenance purchase and prices
// it. It only reads.
func prepareMaintenance(ctx context.Context, q queryer, req licensing.MaintenanceBuyRequest, buyerID int64, buyer string, now time.Time) (*maintenanceOrder, error) {
	if err := licensing.CheckMaintenanceEmail(req.PurchaseEmail, buyer); err != nil {
		return nil, err
	}
	o := &maintenanceOrder{plan: plan{buyerID: buyerID, buyer: buyer, purchaseEmail: buyer, owner: buyerID},
		autoRenew: !req.NoAutoRenew}
	products := map[string]*licensing.Product{}
	find := func(sku string) (*licensing.Product, error) {
		if p, ok := products[sku]; ok {
			return p, nil
		}
		p, err := findProduct(ctx, q, sku)
		if err != nil {
			return nil, err
		}
		if err := licensing.CheckMaintainable(p); err != nil {
			return nil, err
		}
		products[sku] = p
		return p, nil
	}
	switch {
	case req.Key != "":
		l, err := licenseToCover(ctx, q, buyerID, req.Key)
		if err != nil {
			return nil, err
		}
		p, err := find(l.sku)
		if err != nil {
			return nil, licensing.Errorf(licensing.ErrorCode(err), "license %s: %s", l.key, licensing.ErrorMessage(err)).
				WithHint("%s", licensing.ErrorHint(err))
		}
		if l.kind == licensing.KindTrial {
			return nil, licensing.Errorf(licensing.EINVALID, "license %s is a trial: trials have no maintenance", l.key).
				WithHint("buy the product with `licensectl licenses buy --product %s`, then its maintenance", l.sku)
		}
		// A plan bought while another runs takes over where that one ends.
		starts := now
		if l.maintenance.Valid && l.maintenance.Int64 > now.Unix() {
			starts = unixTime(l.maintenance.Int64)
		}
		o.plans = append(o.plans, newPlan{product: p, licenseID: l.id, key: l.key, starts: starts, ends: licensing.MaintenanceTerm(starts)})
	case req.All:
		cond := ""
		args := []any{buyerID, now.Unix()}
		if req.Product != "" {
			p, err := find(req.Product)
			if err != nil {
				return nil, err
			}
			cond += " AND l.product = ?"
			args = append(args, p.SKU)
		}
		if req.Company != "" {
			id, err := companyID(ctx, q, buyerID, req.Company)
			if err != nil {
				return nil, err
			}
			cond += " AND l.company_id = ?"
			args = append(args, id)
		}
		// Subscriptions and trials need no maintenance: only commercial
		// lifetime licenses whose plan is missing or over.
		rows, err := q.QueryContext(ctx, `SELECT l.id, l.key, l.product FROM licenses l JOIN products p ON p.sku = l.product
			WHERE l.account_id = ? AND l.kind = 'commercial' AND p.term = 'perpetual'
				AND (l.maintenance_till IS NULL OR l.maintenance_till <= ?)`+cond+` ORDER BY l.id`, args...)
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		for rows.Next() {
			var np newPlan
			var sku string
			if err := rows.Scan(&np.licenseID, &np.key, &sku); err != nil {
				return nil, err
			}
			np.starts, np.ends = now, licensing.MaintenanceTerm(now)
			if np.product, err = find(sku); err != nil {
				return nil, err
			}
			o.plans = append(o.plans, np)
		}
		if err := rows.Err(); err != nil {
			return nil, err
		}
	case req.Unassigned:
		p, err := find(req.Product)
		if err != nil {
			return nil, err
		}
		for range req.Quantity {
			o.plans = append(o.plans, newPlan{product: p})
		}
	}
	return o, o.price()
}

// price fills the order's line items (one per product, in SKU order) and
// total, in integer cents.
func (o *maintenanceOrder) price() error {
	count := map[string]int{}
	byKey := map[string]*licensing.Product{}
	for _, np := range o.plans {
		count[np.product.SKU]++
		byKey[np.product.SKU] = np.product
	}
	skus := make([]string, 0, len(count))
	for sku := range count {
		skus = append(skus, sku)
	}
	sort.Strings(skus)
	o.items = []licensing.LineItem{}
	for _, sku := range skus {
		p := byKey[sku]
		if o.currency == "" {
			o.currency = p.Currency
		} else if p.Currency != o.currency {
			return licensing.Errorf(licensing.EINVALID, "one purchase cannot mix currencies (%s and %s)", o.currency, p.Currency).
				WithHint("narrow the purchase with --product")
		}
		it := licensing.LineItem{SKU: licensing.MaintenanceSKU(sku), Description: "Maintenance for " + p.Name + " (1 year)",
			Quantity: count[sku], UnitPriceCents: p.MaintenancePriceCents}
		it.AmountCents = it.UnitPriceCents * int64(it.Quantity)
		o.items = append(o.items, it)
		o.total += it.AmountCents
	}
	if o.currency == "" {
		o.currency = "USD"
	}
	return nil
}

// licenseToCover finds one of the account's licenses for a maintenance plan.
func licenseToCover(ctx context.Context, q queryer, acct int64, key string) (*coveredLicense, error) {
	k, err := parseKey(key)
	if err != nil {
		return nil, err
	}
	l := &coveredLicense{}
	err = q.QueryRowContext(ctx, "SELECT id, key, product, kind, maintenance_till FROM licenses WHERE account_id = ? AND key = ?", acct, k).
		Scan(&l.id, &l.key, &l.sku, &l.kind, &l.maintenance)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, licenseNotFound(k)
	}
	return l, err
}

// result renders an order as the purchase the caller sees.
func (o *maintenanceOrder) result(id, key string, now time.Time) *licensing.MaintenancePurchase {
	out := &licensing.MaintenancePurchase{Purchase: *o.purchase(id, key, now), Count: len(o.plans),
		Plans: make([]licensing.MaintenancePlan, 0, len(o.plans))}
	for _, np := range o.plans {
		m := licensing.MaintenancePlan{Product: np.product.SKU, AutoRenew: o.autoRenew, PriceCents: np.product.MaintenancePriceCents,
			Currency: np.product.Currency, PurchaseID: id, CreatedAt: now}
		if np.licenseID != 0 {
			key, starts, ends := np.key, np.starts, np.ends
			m.LicenseKey, m.StartsAt, m.EndsAt = &key, &starts, &ends
		}
		m.Derive(now)
		out.Plans = append(out.Plans, m)
	}
	return out
}

// QuoteMaintenance prices a maintenance purchase and changes nothing.
func (s *Store) QuoteMaintenance(ctx context.Context, req licensing.MaintenanceBuyRequest) (*licensing.MaintenancePurchase, error) {
	if err := req.Normalize(); err != nil {
		return nil, err
	}
	tx, err := s.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	buyerID, buyer, err := actingAccount(ctx, tx)
	if err != nil {
		return nil, err
	}
	now := s.now()
	o, err := prepareMaintenance(ctx, tx, req, buyerID, buyer, now)
	if err != nil {
		return nil, err
	}
	out := o.result("", req.IdempotencyKey, now)
	out.DryRun = true
	return out, nil
}

// BuyMaintenance makes a maintenance purchase in one transaction: the
// purchase and its items, every plan, the licenses' maintenance dates and the
// audit events are committed together or not at all. When no license needs a
// plan it buys nothing and answers a purchase without an id and no plans.
func (s *Store) BuyMaintenance(ctx context.Context, req licensing.MaintenanceBuyRequest, progress func(done int)) (*licensing.MaintenancePurchase, error) {
	if err := req.Normalize(); err != nil {
		return nil, err
	}
	var out *licensing.MaintenancePurchase
	err := s.write(ctx, func(tx *sql.Tx) error {
		buyerID, buyer, err := actingAccount(ctx, tx)
		if err != nil {
			return err
		}
		if err := licensing.CheckMaintenanceEmail(req.PurchaseEmail, buyer); err != nil {
			return err
		}
		hashed := req
		hashed.IdempotencyKey, hashed.PurchaseEmail = "", ""
		hash, err := requestHash(struct {
			Maintenance licensing.MaintenanceBuyRequest `json:"maintenance"`
		}{hashed})
		if err != nil {
			return err
		}
		key, prior, err := idempotency(ctx, tx, buyerID, req.IdempotencyKey, hash)
		if err != nil {
			return err
		}
		now := s.now()
		if prior != "" {
			out, err = loadMaintenancePurchase(ctx, tx, prior, buyer, now)
			return err
		}
		o, err := prepareMaintenance(ctx, tx, req, buyerID, buyer, now)
		if err != nil {
			return err
		}
		if len(o.plans) == 0 {
			out = o.result("", key, now)
			return nil
		}
		p, err := s.writePurchase(ctx, tx, &o.plan, key, hash, nil)
		if err != nil {
			return err
		}
		out = o.result(p.ID, key, now)
		return s.writePlans(ctx, tx, o, out, progress)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// writePlans inserts the order's plans (filling their ids into out) and
// moves each covered license's maintenance date, with one prepared statement
// each, in the caller's transaction.
func (s *Store) writePlans(ctx context.Context, tx *sql.Tx, o *maintenanceOrder, out *licensing.MaintenancePurchase, progress func(int)) error {
	insert, err := tx.PrepareContext(ctx, `INSERT INTO maintenance_plans (id, account_id, product, license_id, starts_at, ends_at,
		auto_renew, price_cents, currency, purchase_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return err
	}
	defer insert.Close()
	assign, err := newAssigner(ctx, tx)
	if err != nil {
		return err
	}
	defer assign.close()
	assigned := 0
	for i, np := range o.plans {
		id := newPlanID()
		out.Plans[i].ID = id
		var license, starts, ends any
		if np.licenseID != 0 {
			license, starts, ends = np.licenseID, np.starts.Unix(), np.ends.Unix()
		}
		if _, err := insert.ExecContext(ctx, id, o.buyerID, np.product.SKU, license, starts, ends, boolInt(o.autoRenew),
			np.product.MaintenancePriceCents, np.product.Currency, out.ID, out.CreatedAt.Unix()); err != nil {
			return err
		}
		if np.licenseID != 0 {
			if err := assign.covered(ctx, np.licenseID, id); err != nil {
				return err
			}
			assigned++
		}
		if n := i + 1; n%progressEvery == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
			if progress != nil {
				progress(n)
			}
		}
	}
	if progress != nil && len(o.plans)%progressEvery != 0 {
		progress(len(o.plans))
	}
	details := map[string]any{"plans": len(o.plans), "assigned": assigned, "total_cents": o.total, "currency": o.currency,
		"auto_renew": o.autoRenew}
	if len(o.plans) == 1 {
		details["plan"] = out.Plans[0].ID
		if k := out.Plans[0].LicenseKey; k != nil {
			details["license"] = *k
			details["starts_at"] = out.Plans[0].StartsAt.Format(time.RFC3339)
			details["ends_at"] = out.Plans[0].EndsAt.Format(time.RFC3339)
		}
	}
	return audit(ctx, tx, o.buyerID, out.CreatedAt, o.buyer, "maintenance.buy", out.ID, details)
}

// assigner keeps a license's maintenance_till equal to the end of its latest
// plan, and hands renewal to the newest plan: an older plan that still has
// auto-renew on would otherwise renew over the new one.
type assigner struct {
	till, handOver *sql.Stmt
}

func newAssigner(ctx context.Context, tx *sql.Tx) (*assigner, error) {
	till, err := tx.PrepareContext(ctx, `UPDATE licenses SET maintenance_till =
		(SELECT max(ends_at) FROM maintenance_plans WHERE license_id = ?1) WHERE id = ?1`)
	if err != nil {
		return nil, err
	}
	handOver, err := tx.PrepareContext(ctx, "UPDATE maintenance_plans SET auto_renew = 0 WHERE license_id = ? AND id <> ? AND auto_renew = 1")
	if err != nil {
		till.Close()
		return nil, err
	}
	return &assigner{till: till, handOver: handOver}, nil
}

func (a *assigner) covered(ctx context.Context, licenseID int64, planID string) error {
	if _, err := a.handOver.ExecContext(ctx, licenseID, planID); err != nil {
		return err
	}
	_, err := a.till.ExecContext(ctx, licenseID)
	return err
}

func (a *assigner) close() {
	a.till.Close()
	a.handOver.Close()
}

// loadMaintenancePurchase reads a stored maintenance purchase with its plans
// as they are now.
func loadMaintenancePurchase(ctx context.Context, q queryer, id, buyer string, now time.Time) (*licensing.MaintenancePurchase, error) {
	p, err := loadPurchase(ctx, q, id, buyer)
	if err != nil {
		return nil, err
	}
	p.Replayed = true
	plans, err := queryPlans(ctx, q, now, "m.purchase_id = ?", id)
	if err != nil {
		return nil, err
	}
	return &licensing.MaintenancePurchase{Purchase: *p, Count: len(plans), Plans: plans}, nil
}

// ListMaintenance lists the acting account's plans, oldest first.
func (s *Store) ListMaintenance(ctx context.Context, f licensing.MaintenanceFilter) ([]licensing.MaintenancePlan, error) {
	acct, _, err := actingAccount(ctx, s.r)
	if err != nil {
		return nil, err
	}
	where, args := ownedPlan, []any{acct, acct}
	if f.Available {
		where += " AND m.license_id IS NULL"
	}
	if f.License != "" {
		k, err := parseKey(f.License)
		if err != nil {
			return nil, err
		}
		where += " AND l.key = ?"
		args = append(args, k)
	}
	return queryPlans(ctx, s.r, s.now(), where, args...)
}

// ownedPlan selects the plans of an account (two arguments: its id twice).
// An assigned plan belongs to whoever owns its license, so plans follow
// licenses attached to another account; an available one, to its buyer.
const ownedPlan = "(m.license_id IS NULL AND m.account_id = ? OR l.account_id = ?)"

// licensePlans is a license's plan history, for `licenses show`.
func licensePlans(ctx context.Context, q queryer, acct int64, key string, now time.Time) ([]licensing.MaintenancePlan, error) {
	return queryPlans(ctx, q, now, "l.account_id = ? AND l.key = ?", acct, key)
}

// storedPlan is a plan row as AssignMaintenance and UpdateMaintenance read it.
type storedPlan struct {
	product   string
	licenseID sql.NullInt64
	key       sql.NullString
	ends      sql.NullInt64
	autoRenew bool
}

func findPlan(ctx context.Context, q queryer, acct int64, id string) (*storedPlan, error) {
	var p storedPlan
	err := q.QueryRowContext(ctx, `SELECT m.product, m.license_id, l.key, m.ends_at, m.auto_renew`+planFrom+`
		WHERE `+ownedPlan+` AND m.id = ?`, acct, acct, id).Scan(&p.product, &p.licenseID, &p.key, &p.ends, &p.autoRenew)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, planNotFound(id)
	}
	return &p, err
}

// AssignMaintenance assigns an available plan to a license of its product
// that no plan covers now; the plan runs one year from now.
func (s *Store) AssignMaintenance(ctx context.Context, id, key string) (*licensing.MaintenancePlan, error) {
	id, err := normalizePlanID(id)
	if err != nil {
		return nil, err
	}
	if _, err := parseKey(key); err != nil {
		return nil, err
	}
	var out *licensing.MaintenancePlan
	err = s.write(ctx, func(tx *sql.Tx) error {
		acct, email, err := actingAccount(ctx, tx)
		if err != nil {
			return err
		}
		p, err := findPlan(ctx, tx, acct, id)
		if err != nil {
			return err
		}
		l, err := licenseToCover(ctx, tx, acct, key)
		if err != nil {
			return err
		}
		now := s.now()
		if err := checkAssign(id, p, l, now); err != nil {
			return err
		}
		ends := licensing.MaintenanceTerm(now)
		if _, err := tx.ExecContext(ctx, "UPDATE maintenance_plans SET license_id = ?, starts_at = ?, ends_at = ? WHERE id = ?",
			l.id, now.Unix(), ends.Unix(), id); err != nil {
			return err
		}
		a, err := newAssigner(ctx, tx)
		if err != nil {
			return err
		}
		defer a.close()
		if err := a.covered(ctx, l.id, id); err != nil {
			return err
		}
		if err := audit(ctx, tx, acct, now, email, "maintenance.assign", id, map[string]any{
			"license": l.key, "starts_at": now.Format(time.RFC3339), "ends_at": ends.Format(time.RFC3339)}); err != nil {
			return err
		}
		out, err = scanPlan(tx.QueryRowContext(ctx, "SELECT "+planColumns+planFrom+" WHERE m.id = ?", id), now)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// checkAssign answers why a plan cannot go to a license, if it cannot.
func checkAssign(id string, p *storedPlan, l *coveredLicense, now time.Time) error {
	switch {
	case p.licenseID.Valid && p.licenseID.Int64 == l.id:
		return licensing.Errorf(licensing.ECONFLICT, "maintenance plan %s is already assigned to license %s", id, l.key)
	case p.licenseID.Valid:
		return licensing.Errorf(licensing.ECONFLICT, "maintenance plan %s is already assigned to license %s", id, p.key.String).
			WithHint("a plan is assigned once; see `licensectl maintenance list --available` for unassigned plans")
	case p.product != l.sku:
		return licensing.Errorf(licensing.ECONFLICT, "maintenance plan %s is for %s, but license %s is %s", id, p.product, l.key, l.sku).
			WithHint("a plan covers licenses of its own product only")
	case l.kind == licensing.KindTrial:
		return licensing.Errorf(licensing.ECONFLICT, "license %s is a trial: trials have no maintenance", l.key)
	case l.maintenance.Valid && l.maintenance.Int64 > now.Unix():
		return licensing.Errorf(licensing.ECONFLICT, "license %s is already covered by maintenance till %s", l.key,
			unixTime(l.maintenance.Int64).Format(time.RFC3339)).
			WithHint("to add a year after the current plan, use `licensectl maintenance buy %s`", l.key)
	}
	return nil
}

// UpdateMaintenance switches a plan's auto-renew.
func (s *Store) UpdateMaintenance(ctx context.Context, id string, u licensing.MaintenanceUpdate) (*licensing.MaintenancePlan, error) {
	id, err := normalizePlanID(id)
	if err != nil {
		return nil, err
	}
	if u.AutoRenew == nil {
		return nil, licensing.Errorf(licensing.EINVALID, "nothing to change").WithHint("pass --auto-renew=true or --auto-renew=false")
	}
	var out *licensing.MaintenancePlan
	err = s.write(ctx, func(tx *sql.Tx) error {
		acct, email, err := actingAccount(ctx, tx)
		if err != nil {
			return err
		}
		p, err := findPlan(ctx, tx, acct, id)
		if err != nil {
			return err
		}
		now := s.now()
		if *u.AutoRenew && p.ends.Valid && p.ends.Int64 <= now.Unix() {
			return licensing.Errorf(licensing.ECONFLICT, "maintenance plan %s ended on %s: it cannot renew any more", id,
				unixTime(p.ends.Int64).Format(time.RFC3339)).
				WithHint("buy a new plan with `licensectl maintenance buy %s`", p.key.String)
		}
		if *u.AutoRenew != p.autoRenew {
			if _, err := tx.ExecContext(ctx, "UPDATE maintenance_plans SET auto_renew = ? WHERE id = ?", boolInt(*u.AutoRenew), id); err != nil {
				return err
			}
			if err := audit(ctx, tx, acct, now, email, "maintenance.update", id, map[string]any{"auto_renew": *u.AutoRenew}); err != nil {
				return err
			}
		}
		out, err = scanPlan(tx.QueryRowContext(ctx, "SELECT "+planColumns+planFrom+" WHERE m.id = ?", id), now)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
