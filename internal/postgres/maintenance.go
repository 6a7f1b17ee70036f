package postgres

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"sort"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/licensectl/licensectl/internal/licensing"
)

var _ licensing.MaintenanceService = (*Store)(nil)

const planColumns = `m.id, coalesce(l.key, ''), m.product, coalesce(m.starts_at, 0), coalesce(m.ends_at, 0), m.auto_renew,
	m.price_cents, m.currency, m.purchase_id, m.created_at`

const planFrom = ` FROM maintenance_plans m LEFT JOIN licenses l ON l.id = m.license_id`

func scanPlan(row pgx.Row, now time.Time) (*licensing.MaintenancePlan, error) {
	var (
		m                     licensing.MaintenancePlan
		key                   string
		starts, ends, created int64
	)
	if err := row.Scan(&m.ID, &key, &m.Product, &starts, &ends, &m.AutoRenew, &m.PriceCents, &m.Currency,
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

// queryPlans lists plans oldest first; seq breaks ties as SQLite's rowid does.
func queryPlans(ctx context.Context, q queryer, now time.Time, where string, args ...any) ([]licensing.MaintenancePlan, error) {
	rows, err := q.Query(ctx, "SELECT "+planColumns+planFrom+" WHERE "+where+" ORDER BY m.created_at, m.seq", args...)
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
		return "", licensing.Errorf(licensing.EINVALID, "malformed maintenance plan id %q", clipText(id)).
			WithHint("plan ids look like M-XXXXXXXXXXXX; see `licensectl maintenance list`")
	}
	return id, nil
}

func planNotFound(id string) error {
	return licensing.Errorf(licensing.ENOTFOUND, "maintenance plan %s not found", id).
		WithHint("see `licensectl maintenance list`")
}

// hashJSON is requestHash for request types other than BuyRequest, computed
// the same way (and so the same as the SQLite store's): a key reused across
// request types is a conflict, since their JSON differs.
func hashJSON(v any) (string, error) {
	js, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(js)
	return hex.EncodeToString(sum[:]), nil
}

// idempotency resolves a request's idempotency key: a fresh key when none
// was given, and the id of the purchase already made with it, if any. A key
// used for a different request is a conflict.
func idempotency(ctx context.Context, q queryer, buyerID int64, key, hash string) (string, string, error) {
	if key == "" {
		return "auto-" + randomHex(16), "", nil
	}
	var id, storedHash string
	err := q.QueryRow(ctx, "SELECT id, request_hash FROM purchases WHERE account_id = $1 AND idempotency_key = $2",
		buyerID, key).Scan(&id, &storedHash)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return key, "", nil
	case err != nil:
		return "", "", err
	case storedHash != hash:
		return "", "", &licensing.KeyReusedError{Err: licensing.Errorf(licensing.ECONFLICT, "idempotency key %s was already used for a different purchase (%s)", key, id).
			WithHint("use a new key for a new purchase")}
	}
	return key, id, nil
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
	maintenance *int64
}

// prepareMaintenance applies every rule of a maintenance purchase and prices
// it. It only reads.
func prepareMaintenance(ctx context.Context, q queryer, req licensing.MaintenanceBuyRequest, buyerID int64, buyer string, now time.Time) (*maintenanceOrder, error) {
	if err := licensing.CheckMaintenanceEmail(req.PurchaseEmail, buyer); err != nil {
		return nil, err
	}
	o := &maintenanceOrder{plan: plan{buyerID: buyerID, buyer: buyer, purchaseEmail: buyer, owner: buyerID,
		fixed: map[string]string{}}, autoRenew: !req.NoAutoRenew}
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
		if l.maintenance != nil && *l.maintenance > now.Unix() {
			starts = unixTime(*l.maintenance)
		}
		o.plans = append(o.plans, newPlan{product: p, licenseID: l.id, key: l.key, starts: starts, ends: licensing.MaintenanceTerm(starts)})
	case req.All:
		if err := o.addUncovered(ctx, q, req, find, now); err != nil {
			return nil, err
		}
	default: // Unassigned
		p, err := find(req.Product)
		if err != nil {
			return nil, err
		}
		for range req.Quantity {
			o.plans = append(o.plans, newPlan{product: p})
		}
	}
	if err := o.price(); err != nil {
		return nil, err
	}
	return o, nil
}

// addUncovered adds a plan for each of the buyer's licenses that --all
// selects: commercial lifetime licenses whose plan is missing or over
// (subscriptions and trials need none).
func (o *maintenanceOrder) addUncovered(ctx context.Context, q queryer, req licensing.MaintenanceBuyRequest,
	find func(string) (*licensing.Product, error), now time.Time) error {
	a := args{o.buyerID, now.Unix()}
	cond := ""
	if req.Product != "" {
		p, err := find(req.Product)
		if err != nil {
			return err
		}
		cond += " AND l.product = " + a.add(p.SKU)
	}
	if req.Company != "" {
		id, err := companyID(ctx, q, o.buyerID, req.Company)
		if err != nil {
			return err
		}
		cond += " AND l.company_id = " + a.add(id)
	}
	rows, err := q.Query(ctx, `SELECT l.id, l.key, l.product FROM licenses l JOIN products p ON p.sku = l.product
		WHERE l.account_id = $1 AND l.kind = 'commercial' AND p.term = 'perpetual'
			AND (l.maintenance_till IS NULL OR l.maintenance_till <= $2)`+cond+` ORDER BY l.id`, a...)
	if err != nil {
		return err
	}
	type found struct {
		id       int64
		key, sku string
	}
	var ls []found
	for rows.Next() {
		var f found
		if err := rows.Scan(&f.id, &f.key, &f.sku); err != nil {
			rows.Close()
			return err
		}
		ls = append(ls, f)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	// Products are looked up after the rows are read: one connection cannot
	// run a query while another's rows are open.
	for _, f := range ls {
		p, err := find(f.sku)
		if err != nil {
			return err
		}
		o.plans = append(o.plans, newPlan{product: p, licenseID: f.id, key: f.key, starts: now, ends: licensing.MaintenanceTerm(now)})
	}
	return nil
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
	err = q.QueryRow(ctx, "SELECT id, key, product, kind, maintenance_till FROM licenses WHERE account_id = $1 AND key = $2", acct, k).
		Scan(&l.id, &l.key, &l.sku, &l.kind, &l.maintenance)
	if errors.Is(err, pgx.ErrNoRows) {
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

// QuoteMaintenance prices a maintenance purchase in a read-only transaction
// (one snapshot) and changes nothing.
func (s *Store) QuoteMaintenance(ctx context.Context, req licensing.MaintenanceBuyRequest) (*licensing.MaintenancePurchase, error) {
	if err := req.Normalize(); err != nil {
		return nil, err
	}
	tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return nil, err
	}
	defer tx.Rollback(ctx)
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
//
// Two replicas buying for the same license at once end as on SQLite's single
// writer: SERIALIZABLE makes one of them start over, and the rerun sees the
// winner's plan (and stacks after it) or, with the same idempotency key, its
// purchase.
func (s *Store) BuyMaintenance(ctx context.Context, req licensing.MaintenanceBuyRequest, progress func(done int)) (*licensing.MaintenancePurchase, error) {
	if err := req.Normalize(); err != nil {
		return nil, err
	}
	var out *licensing.MaintenancePurchase
	err := s.write(ctx, func(tx pgx.Tx) error {
		out = nil
		buyerID, buyer, err := actingAccount(ctx, tx)
		if err != nil {
			return err
		}
		if err := licensing.CheckMaintenanceEmail(req.PurchaseEmail, buyer); err != nil {
			return err
		}
		hashed := req
		hashed.IdempotencyKey, hashed.PurchaseEmail = "", ""
		hash, err := hashJSON(struct {
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
		return writePlans(ctx, tx, o, out, progress)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// writePlans inserts the order's plans (filling their ids into out) and
// moves each covered license's maintenance date, progressEvery plans to a
// round trip, in the caller's transaction.
func writePlans(ctx context.Context, tx pgx.Tx, o *maintenanceOrder, out *licensing.MaintenancePurchase, progress func(int)) error {
	assigned := 0
	b := &pgx.Batch{}
	for i, np := range o.plans {
		id := newPlanID()
		out.Plans[i].ID = id
		var license, starts, ends any
		if np.licenseID != 0 {
			license, starts, ends = np.licenseID, np.starts.Unix(), np.ends.Unix()
		}
		b.Queue(`INSERT INTO maintenance_plans (id, account_id, product, license_id, starts_at, ends_at,
			auto_renew, price_cents, currency, purchase_id, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
			id, o.buyerID, np.product.SKU, license, starts, ends, o.autoRenew,
			np.product.MaintenancePriceCents, np.product.Currency, out.ID, out.CreatedAt.Unix())
		if np.licenseID != 0 {
			queueCovered(b, np.licenseID, id)
			assigned++
		}
		if n := i + 1; n%progressEvery == 0 || n == len(o.plans) {
			if err := tx.SendBatch(ctx, b).Close(); err != nil {
				return err
			}
			b = &pgx.Batch{}
			if err := ctx.Err(); err != nil {
				return err
			}
			if progress != nil {
				progress(n)
			}
		}
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

// queueCovered keeps a license's maintenance_till equal to the end of its
// latest plan, and hands renewal to the newest plan: an older plan that still
// has auto-renew on would otherwise renew over the new one.
func queueCovered(b *pgx.Batch, licenseID int64, planID string) {
	b.Queue("UPDATE maintenance_plans SET auto_renew = false WHERE license_id = $1 AND id <> $2 AND auto_renew",
		licenseID, planID)
	b.Queue(`UPDATE licenses SET maintenance_till = (SELECT max(ends_at) FROM maintenance_plans WHERE license_id = $1)
		WHERE id = $1`, licenseID)
}

// loadMaintenancePurchase reads a stored maintenance purchase with its plans
// as they are now.
func loadMaintenancePurchase(ctx context.Context, q queryer, id, buyer string, now time.Time) (*licensing.MaintenancePurchase, error) {
	p, err := loadPurchase(ctx, q, id, buyer)
	if err != nil {
		return nil, err
	}
	p.Replayed = true
	plans, err := queryPlans(ctx, q, now, "m.purchase_id = $1", id)
	if err != nil {
		return nil, err
	}
	return &licensing.MaintenancePurchase{Purchase: *p, Count: len(plans), Plans: plans}, nil
}

// ListMaintenance lists the acting account's plans, oldest first.
func (s *Store) ListMaintenance(ctx context.Context, f licensing.MaintenanceFilter) ([]licensing.MaintenancePlan, error) {
	acct, _, err := actingAccount(ctx, s.pool)
	if err != nil {
		return nil, err
	}
	where, a := ownedPlan, args{acct}
	if f.Available {
		where += " AND m.license_id IS NULL"
	}
	if f.License != "" {
		k, err := parseKey(f.License)
		if err != nil {
			return nil, err
		}
		where += " AND l.key = " + a.add(k)
	}
	return queryPlans(ctx, s.pool, s.now(), where, a...)
}

// ownedPlan selects the plans of the account $1. An assigned plan belongs to
// whoever owns its license, so plans follow licenses attached to another
// account; an available one, to its buyer.
const ownedPlan = "(m.license_id IS NULL AND m.account_id = $1 OR l.account_id = $1)"

// licensePlans is a license's plan history, for `licenses show`.
func licensePlans(ctx context.Context, q queryer, acct int64, key string, now time.Time) ([]licensing.MaintenancePlan, error) {
	return queryPlans(ctx, q, now, "l.account_id = $1 AND l.key = $2", acct, key)
}

// storedPlan is a plan row as AssignMaintenance and UpdateMaintenance read it.
type storedPlan struct {
	product   string
	licenseID *int64
	key       *string
	ends      *int64
	autoRenew bool
}

// findPlan reads a plan of the account, locking it: concurrent changes of one
// plan queue up rather than fail at commit.
func findPlan(ctx context.Context, tx pgx.Tx, acct int64, id string) (*storedPlan, error) {
	var p storedPlan
	err := tx.QueryRow(ctx, `SELECT m.product, m.license_id, l.key, m.ends_at, m.auto_renew`+planFrom+`
		WHERE `+ownedPlan+` AND m.id = $2 FOR UPDATE OF m`, acct, id).Scan(&p.product, &p.licenseID, &p.key, &p.ends, &p.autoRenew)
	if errors.Is(err, pgx.ErrNoRows) {
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
	err = s.write(ctx, func(tx pgx.Tx) error {
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
		// Only while still available: a plan another replica assigned
		// meanwhile is not taken over, the rerun reports it.
		tag, err := tx.Exec(ctx, `UPDATE maintenance_plans SET license_id = $1, starts_at = $2, ends_at = $3
			WHERE id = $4 AND license_id IS NULL`, l.id, now.Unix(), ends.Unix(), id)
		if err != nil {
			return err
		}
		if tag.RowsAffected() != 1 {
			return errRetry
		}
		b := &pgx.Batch{}
		queueCovered(b, l.id, id)
		if err := tx.SendBatch(ctx, b).Close(); err != nil {
			return err
		}
		if err := audit(ctx, tx, acct, now, email, "maintenance.assign", id, map[string]any{
			"license": l.key, "starts_at": now.Format(time.RFC3339), "ends_at": ends.Format(time.RFC3339)}); err != nil {
			return err
		}
		out, err = scanPlan(tx.QueryRow(ctx, "SELECT "+planColumns+planFrom+" WHERE m.id = $1", id), now)
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
	case p.licenseID != nil && *p.licenseID == l.id:
		return licensing.Errorf(licensing.ECONFLICT, "maintenance plan %s is already assigned to license %s", id, l.key)
	case p.licenseID != nil:
		return licensing.Errorf(licensing.ECONFLICT, "maintenance plan %s is already assigned to license %s", id, deref(p.key)).
			WithHint("a plan is assigned once; see `licensectl maintenance list --available` for unassigned plans")
	case p.product != l.sku:
		return licensing.Errorf(licensing.ECONFLICT, "maintenance plan %s is for %s, but license %s is %s", id, p.product, l.key, l.sku).
			WithHint("a plan covers licenses of its own product only")
	case l.kind == licensing.KindTrial:
		return licensing.Errorf(licensing.ECONFLICT, "license %s is a trial: trials have no maintenance", l.key)
	case l.maintenance != nil && *l.maintenance > now.Unix():
		return licensing.Errorf(licensing.ECONFLICT, "license %s is already covered by maintenance till %s", l.key,
			unixTime(*l.maintenance).Format(time.RFC3339)).
			WithHint("to add a year after the current plan, use `licensectl maintenance buy %s`", l.key)
	}
	return nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
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
	err = s.write(ctx, func(tx pgx.Tx) error {
		acct, email, err := actingAccount(ctx, tx)
		if err != nil {
			return err
		}
		p, err := findPlan(ctx, tx, acct, id)
		if err != nil {
			return err
		}
		now := s.now()
		if *u.AutoRenew && p.ends != nil && *p.ends <= now.Unix() {
			return licensing.Errorf(licensing.ECONFLICT, "maintenance plan %s ended on %s: it cannot renew any more", id,
				unixTime(*p.ends).Format(time.RFC3339)).
				WithHint("buy a new plan with `licensectl maintenance buy %s`", deref(p.key))
		}
		if *u.AutoRenew != p.autoRenew {
			if _, err := tx.Exec(ctx, "UPDATE maintenance_plans SET auto_renew = $1 WHERE id = $2", *u.AutoRenew, id); err != nil {
				return err
			}
			if err := audit(ctx, tx, acct, now, email, "maintenance.update", id, map[string]any{"auto_renew": *u.AutoRenew}); err != nil {
				return err
			}
		}
		out, err = scanPlan(tx.QueryRow(ctx, "SELECT "+planColumns+planFrom+" WHERE m.id = $1", id), now)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
