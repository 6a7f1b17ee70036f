package app

import (
	"context"
	"sort"
	"strings"
	"time"

	"github.com/licensectl/licensectl/internal/licensing"
)

var _ licensing.MaintenanceService = (*App)(nil)

// UncoveredLicense is a license `maintenance buy --all` buys a plan for.
type UncoveredLicense struct {
	ID  int64
	Key string
	SKU string
}

// NewPlan is a maintenance plan to insert: for a license (LicenseID != 0)
// with its dates, or available (no license, no dates).
type NewPlan struct {
	ID         string
	AccountID  int64
	Product    string
	LicenseID  int64
	StartsAt   time.Time
	EndsAt     time.Time
	AutoRenew  bool
	PriceCents int64
	Currency   string
	PurchaseID string
	CreatedAt  time.Time
}

// PlanCover is a license a plan has just been given to.
type PlanCover struct {
	LicenseID int64
	PlanID    string
}

// PlanRecord is a stored plan with its license's row id (0: available).
type PlanRecord struct {
	licensing.MaintenancePlan
	LicenseID int64
}

// PlanFilter narrows an account's plans.
type PlanFilter struct {
	Available bool   // only plans not assigned to a license
	License   string // only the plans of this license (canonical key)
}

// MaintenanceTx is what the maintenance use cases need of a transaction.
// Plans come back as stored (Status not derived).
type MaintenanceTx interface {
	// UncoveredLicenses lists the account's commercial lifetime licenses
	// whose maintenance_till is missing or not after now, by id; of one
	// product (sku "" any) and company (0 any).
	UncoveredLicenses(ctx context.Context, acct int64, now time.Time, sku string, companyID int64) ([]UncoveredLicense, error)
	// InsertPlans writes plans, in bulk.
	InsertPlans(ctx context.Context, plans []NewPlan) error
	// CoverLicenses records, for each (license, plan), that the plan now
	// covers the license: the license's other plans stop auto-renewing and
	// its maintenance_till becomes the latest end of its plans.
	CoverLicenses(ctx context.Context, covers []PlanCover) error
	// Plans lists the account's plans, oldest first: those assigned to its
	// licenses, and the available ones it bought.
	Plans(ctx context.Context, acct int64, f PlanFilter) ([]licensing.MaintenancePlan, error)
	// PurchasePlans lists the plans a purchase bought, oldest first.
	PurchasePlans(ctx context.Context, purchaseID string) ([]licensing.MaintenancePlan, error)
	// Plan returns one of the account's plans (as Plans finds them), taking
	// its row lock with ForUpdate, or nil.
	Plan(ctx context.Context, acct int64, id string, lock Lock) (*PlanRecord, error)
	// AssignPlan gives an available plan to a license with its dates; false
	// when the plan was not available any more.
	AssignPlan(ctx context.Context, id string, licenseID int64, starts, ends time.Time) (bool, error)
	// SetPlanAutoRenew switches a plan's auto-renew.
	SetPlanAutoRenew(ctx context.Context, id string, on bool) error
}

// PlanColumns are the columns ScanPlan reads, over PlanFrom.
const PlanColumns = `m.id, coalesce(l.key, ''), m.product, coalesce(m.starts_at, 0), coalesce(m.ends_at, 0), m.auto_renew,
	m.price_cents, m.currency, m.purchase_id, m.created_at`

// PlanFrom joins a plan to its license, if it has one.
const PlanFrom = ` FROM maintenance_plans m LEFT JOIN licenses l ON l.id = m.license_id`

// ScanPlan reads a row of PlanColumns; its Status is not derived yet.
func ScanPlan(sc Scanner) (*licensing.MaintenancePlan, error) {
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
		s, e := Unix(starts), Unix(ends)
		m.LicenseKey, m.StartsAt, m.EndsAt = &key, &s, &e
	}
	m.CreatedAt = Unix(created)
	return &m, nil
}

// ScanPlanRecord reads a row of PlanColumns and coalesce(m.license_id, 0).
func ScanPlanRecord(sc Scanner) (*PlanRecord, error) {
	var r PlanRecord
	var lic int64
	m, err := ScanPlan(scanRest{sc, &lic})
	if err != nil {
		return nil, err
	}
	r.MaintenancePlan, r.LicenseID = *m, lic
	return &r, nil
}

// scanRest is a Scanner that appends more destinations to each Scan.
type scanRest struct {
	sc   Scanner
	rest any
}

func (s scanRest) Scan(dest ...any) error { return s.sc.Scan(append(dest, s.rest)...) }

// ScanUncoveredLicense reads a row of columns id, key, product.
func ScanUncoveredLicense(sc Scanner) (*UncoveredLicense, error) {
	var l UncoveredLicense
	return &l, sc.Scan(&l.ID, &l.Key, &l.SKU)
}

// PlanDates are a plan's license id, start and end as stored: NULL (nil)
// for an available plan.
func PlanDates(p NewPlan) (license, starts, ends any) {
	if p.LicenseID == 0 {
		return nil, nil, nil
	}
	return p.LicenseID, p.StartsAt.Unix(), p.EndsAt.Unix()
}

// DerivePlans sets each plan's status as of now.
func DerivePlans(plans []licensing.MaintenancePlan, now time.Time) []licensing.MaintenancePlan {
	for i := range plans {
		plans[i].Derive(now)
	}
	return plans
}

// newPlanID returns "M-" and 12 random Crockford base32 characters: the
// purchase id's alphabet and strength, with the plan's own prefix.
func newPlanID() string { return "M-" + strings.TrimPrefix(NewPurchaseID(), "P-") }

// normalizePlanID accepts a plan id as people type it.
func normalizePlanID(id string) (string, error) {
	id = strings.ToUpper(strings.TrimSpace(id))
	if !strings.HasPrefix(id, "M-") || len(id) != 14 || strings.Trim(id[2:], crockford) != "" {
		return "", licensing.Errorf(licensing.EINVALID, "malformed maintenance plan id %q", licensing.ClipArg(id)).
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
	order
	autoRenew bool
	plans     []orderPlan
}

// orderPlan is one plan to create: for a license (licenseID != 0) with its
// dates, or available.
type orderPlan struct {
	product   *licensing.Product
	licenseID int64
	key       string
	starts    time.Time
	ends      time.Time
}

// licenseToCover finds one of the account's licenses for a maintenance plan.
func licenseToCover(ctx context.Context, tx Tx, acct int64, key string) (*SeatLicense, error) {
	k, err := licensing.ParseKey(key)
	if err != nil {
		return nil, err
	}
	l, err := tx.SeatLicense(ctx, acct, k, NoLock)
	if err == nil && l == nil {
		return nil, licenseNotFound(k)
	}
	return l, err
}

// prepareMaintenance applies every rule of a maintenance purchase and prices
// it. It only reads.
func prepareMaintenance(ctx context.Context, tx Tx, req licensing.MaintenanceBuyRequest, buyer account, now time.Time) (*maintenanceOrder, error) {
	if err := licensing.CheckMaintenanceEmail(req.PurchaseEmail, buyer.email); err != nil {
		return nil, err
	}
	o := &maintenanceOrder{order: order{buyerID: buyer.id, buyer: buyer.email, purchaseEmail: buyer.email, owner: buyer.id,
		fixed: map[string]string{}}, autoRenew: !req.NoAutoRenew}
	products := map[string]*licensing.Product{}
	find := func(sku string) (*licensing.Product, error) {
		if p, ok := products[sku]; ok {
			return p, nil
		}
		p, err := product(ctx, tx, sku)
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
		l, err := licenseToCover(ctx, tx, buyer.id, req.Key)
		if err != nil {
			return nil, err
		}
		key, sku := l.License.Key, l.License.Product
		p, err := find(sku)
		if err != nil {
			return nil, licensing.Errorf(licensing.ErrorCode(err), "license %s: %s", key, licensing.ErrorMessage(err)).
				WithHint("%s", licensing.ErrorHint(err))
		}
		if l.License.Kind == licensing.KindTrial {
			return nil, licensing.TrialHasNoMaintenance(key, sku)
		}
		// A plan bought while another runs takes over where that one ends.
		starts := now
		if till := l.License.MaintenanceTill; till != nil && till.After(now) {
			starts = *till
		}
		o.plans = append(o.plans, orderPlan{product: p, licenseID: l.ID, key: key, starts: starts, ends: licensing.MaintenanceTerm(starts)})
	case req.All:
		sku := ""
		if req.Product != "" {
			p, err := find(req.Product)
			if err != nil {
				return nil, err
			}
			sku = p.SKU
		}
		var companyID int64
		if req.Company != "" {
			id, _, err := company(ctx, tx, buyer.id, req.Company)
			if err != nil {
				return nil, err
			}
			companyID = id
		}
		// Subscriptions and trials need no maintenance: only commercial
		// lifetime licenses whose plan is missing or over.
		ls, err := tx.UncoveredLicenses(ctx, buyer.id, now, sku, companyID)
		if err != nil {
			return nil, err
		}
		for _, l := range ls {
			p, err := find(l.SKU)
			if err != nil {
				return nil, err
			}
			o.plans = append(o.plans, orderPlan{product: p, licenseID: l.ID, key: l.Key, starts: now, ends: licensing.MaintenanceTerm(now)})
		}
	default: // Unassigned
		p, err := find(req.Product)
		if err != nil {
			return nil, err
		}
		for range req.Quantity {
			o.plans = append(o.plans, orderPlan{product: p})
		}
	}
	if err := o.price(); err != nil {
		return nil, err
	}
	return o, nil
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
func (a *App) QuoteMaintenance(ctx context.Context, req licensing.MaintenanceBuyRequest) (*licensing.MaintenancePurchase, error) {
	if err := req.Normalize(); err != nil {
		return nil, err
	}
	return read(ctx, a, func(tx Tx, now time.Time) (*licensing.MaintenancePurchase, error) {
		buyer, err := actingAccount(ctx, tx)
		if err != nil {
			return nil, err
		}
		o, err := prepareMaintenance(ctx, tx, req, buyer, now)
		if err != nil {
			return nil, err
		}
		out := o.result("", req.IdempotencyKey, now)
		out.DryRun = true
		return out, nil
	})
}

// BuyMaintenance makes a maintenance purchase in one transaction: the
// purchase and its items, every plan, the licenses' maintenance dates and the
// audit events are committed together or not at all. When no license needs a
// plan it buys nothing and answers a purchase without an id and no plans.
//
// Two PostgreSQL replicas buying for the same license at once end as on
// SQLite's single writer: SERIALIZABLE makes one of them start over, and the
// rerun sees the winner's plan (and stacks after it) or, with the same
// idempotency key, its purchase.
func (a *App) BuyMaintenance(ctx context.Context, req licensing.MaintenanceBuyRequest, progress func(done int)) (*licensing.MaintenancePurchase, error) {
	if err := req.Normalize(); err != nil {
		return nil, err
	}
	key := req.IdempotencyKey
	var pay payment
	var charged int64
	if a.pay != nil {
		// As licenses buy: the money first (keyed by the purchase's key),
		// the plans once it is taken.
		if key == "" {
			key = "auto-" + randomHex(16)
		}
		r := req
		r.IdempotencyKey = key
		st, err := read(ctx, a, func(tx Tx, now time.Time) (*maintenanceStart, error) { return startMaintenance(ctx, tx, r, now) })
		if err != nil {
			return nil, err
		}
		if st.prior != nil || len(st.o.plans) == 0 {
			return st.result(), nil
		}
		charged = st.o.total
		if pay, err = a.charge(ctx, st.buyer, st.o.total, st.o.currency, "maintenance", st.key, st.hash, nil); err != nil {
			return nil, err
		}
		req.IdempotencyKey = key
	}
	mp, err := write(ctx, a, func(tx Tx, now time.Time) (*licensing.MaintenancePurchase, error) {
		st, err := startMaintenance(ctx, tx, req, now)
		if err != nil {
			return nil, err
		}
		if st.prior != nil || len(st.o.plans) == 0 {
			return st.result(), nil
		}
		if pay.ref != "" && st.o.total != charged {
			return nil, licensing.Errorf(licensing.ECONFLICT, "the price changed while the payment was taken").WithHint("the charge is refunded; buy again")
		}
		st.o.pay = pay
		p, err := writePurchase(ctx, tx, &st.o.order, st.key, st.hash, now, nil)
		if err != nil {
			return nil, err
		}
		out := st.o.result(p.ID, st.key, now)
		return out, writePlans(ctx, tx, st.o, out, progress)
	})
	if err != nil && pay.ref != "" && !licensing.Temporary(err) {
		a.undoCharge(ctx, pay, charged, key)
	}
	if err == nil && !mp.Replayed && mp.ID != "" {
		a.sendReceipt(ctx, &mp.Purchase)
	}
	return mp, err
}

// maintenanceStart is a maintenance purchase checked and priced, before
// anything is written: the earlier purchase of its key, or its order.
type maintenanceStart struct {
	buyer     account
	hash, key string
	prior     *licensing.MaintenancePurchase
	o         *maintenanceOrder
	now       time.Time
}

func (st *maintenanceStart) result() *licensing.MaintenancePurchase {
	if st.prior != nil {
		return st.prior
	}
	return st.o.result("", st.key, st.now)
}

// startMaintenance applies the idempotency key and the rules to req.
func startMaintenance(ctx context.Context, tx Tx, req licensing.MaintenanceBuyRequest, now time.Time) (*maintenanceStart, error) {
	buyer, err := actingAccount(ctx, tx)
	if err != nil {
		return nil, err
	}
	if err := licensing.CheckMaintenanceEmail(req.PurchaseEmail, buyer.email); err != nil {
		return nil, err
	}
	hashed := req
	hashed.IdempotencyKey, hashed.PurchaseEmail = "", ""
	hash, err := licensing.RequestHash(struct {
		Maintenance licensing.MaintenanceBuyRequest `json:"maintenance"`
	}{hashed})
	if err != nil {
		return nil, err
	}
	key, prior, err := idempotency(ctx, tx, buyer.id, req.IdempotencyKey, hash)
	if err != nil {
		return nil, err
	}
	st := &maintenanceStart{buyer: buyer, hash: hash, key: key, now: now}
	if prior != "" {
		st.prior, err = loadMaintenancePurchase(ctx, tx, prior, buyer.email, now)
		return st, err
	}
	st.o, err = prepareMaintenance(ctx, tx, req, buyer, now)
	return st, err
}

// writePlans inserts the order's plans (filling their ids into out) and
// moves each covered license's maintenance date, ProgressEvery plans at a
// time, reporting progress and checking for cancellation after each.
func writePlans(ctx context.Context, tx Tx, o *maintenanceOrder, out *licensing.MaintenancePurchase, progress func(int)) error {
	assigned := 0
	for start := 0; start < len(o.plans); start += ProgressEvery {
		end := min(start+ProgressEvery, len(o.plans))
		plans := make([]NewPlan, 0, end-start)
		var covers []PlanCover
		for i := start; i < end; i++ {
			np := o.plans[i]
			id := newPlanID()
			out.Plans[i].ID = id
			plans = append(plans, NewPlan{ID: id, AccountID: o.buyerID, Product: np.product.SKU, LicenseID: np.licenseID,
				StartsAt: np.starts, EndsAt: np.ends, AutoRenew: o.autoRenew, PriceCents: np.product.MaintenancePriceCents,
				Currency: np.product.Currency, PurchaseID: out.ID, CreatedAt: out.CreatedAt})
			if np.licenseID != 0 {
				covers = append(covers, PlanCover{LicenseID: np.licenseID, PlanID: id})
			}
		}
		if err := tx.InsertPlans(ctx, plans); err != nil {
			return err
		}
		if err := tx.CoverLicenses(ctx, covers); err != nil {
			return err
		}
		assigned += len(covers)
		if err := ctx.Err(); err != nil {
			return err
		}
		if progress != nil {
			progress(end)
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

// loadMaintenancePurchase reads a stored maintenance purchase with its plans
// as they are now.
func loadMaintenancePurchase(ctx context.Context, tx Tx, id, buyer string, now time.Time) (*licensing.MaintenancePurchase, error) {
	p, err := loadPurchase(ctx, tx, id, buyer)
	if err != nil {
		return nil, err
	}
	p.Replayed = true
	plans, err := tx.PurchasePlans(ctx, id)
	if err != nil {
		return nil, err
	}
	return &licensing.MaintenancePurchase{Purchase: *p, Count: len(plans), Plans: DerivePlans(plans, now)}, nil
}

// ListMaintenance lists the acting account's plans, oldest first.
func (a *App) ListMaintenance(ctx context.Context, f licensing.MaintenanceFilter) ([]licensing.MaintenancePlan, error) {
	pf := PlanFilter{Available: f.Available}
	if f.License != "" {
		k, err := licensing.ParseKey(f.License)
		if err != nil {
			return nil, err
		}
		pf.License = k
	}
	return read(ctx, a, func(tx Tx, now time.Time) ([]licensing.MaintenancePlan, error) {
		acct, err := actingAccount(ctx, tx)
		if err != nil {
			return nil, err
		}
		plans, err := tx.Plans(ctx, acct.id, pf)
		return DerivePlans(plans, now), err
	})
}

// AssignMaintenance assigns an available plan to a license of its product
// that no plan covers now; the plan runs one year from now.
func (a *App) AssignMaintenance(ctx context.Context, id, key string) (*licensing.MaintenancePlan, error) {
	id, err := normalizePlanID(id)
	if err != nil {
		return nil, err
	}
	if _, err := licensing.ParseKey(key); err != nil {
		return nil, err
	}
	return write(ctx, a, func(tx Tx, now time.Time) (*licensing.MaintenancePlan, error) {
		acct, p, err := changePlan(ctx, tx, id)
		if err != nil {
			return nil, err
		}
		l, err := licenseToCover(ctx, tx, acct.id, key)
		if err != nil {
			return nil, err
		}
		if err := licensing.CheckAssign(id, p.Product, deref(p.LicenseKey), &l.License, now); err != nil {
			return nil, err
		}
		ends := licensing.MaintenanceTerm(now)
		// Only while still available: a plan another replica assigned
		// meanwhile is not taken over, the rerun reports it.
		ok, err := tx.AssignPlan(ctx, id, l.ID, now, ends)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, ErrRetry
		}
		if err := tx.CoverLicenses(ctx, []PlanCover{{LicenseID: l.ID, PlanID: id}}); err != nil {
			return nil, err
		}
		if err := audit(ctx, tx, acct.id, now, acct.email, "maintenance.assign", id, map[string]any{
			"license": l.License.Key, "starts_at": now.Format(time.RFC3339), "ends_at": ends.Format(time.RFC3339)}); err != nil {
			return nil, err
		}
		plan, err := planNow(ctx, tx, acct.id, id, now)
		if err != nil {
			return nil, err
		}
		return plan, emit(ctx, tx, acct.id, now, licensing.EventMaintenanceAssigned, id, plan)
	})
}

// changePlan begins every change of one plan: the acting account, and its
// plan id, locked for the change.
func changePlan(ctx context.Context, tx Tx, id string) (account, *PlanRecord, error) {
	acct, err := actingAccount(ctx, tx)
	if err != nil {
		return account{}, nil, err
	}
	p, err := ownPlan(ctx, tx, acct.id, id, ForUpdate)
	return acct, p, err
}

// ownPlan finds one of the account's plans, or ENOTFOUND.
func ownPlan(ctx context.Context, tx Tx, acct int64, id string, lock Lock) (*PlanRecord, error) {
	p, err := tx.Plan(ctx, acct, id, lock)
	if err == nil && p == nil {
		return nil, planNotFound(id)
	}
	return p, err
}

// planNow reads a plan back after a change, its status as of now.
func planNow(ctx context.Context, tx Tx, acct int64, id string, now time.Time) (*licensing.MaintenancePlan, error) {
	p, err := ownPlan(ctx, tx, acct, id, NoLock)
	if err != nil {
		return nil, err
	}
	p.Derive(now)
	return &p.MaintenancePlan, nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// UpdateMaintenance switches a plan's auto-renew.
func (a *App) UpdateMaintenance(ctx context.Context, id string, u licensing.MaintenanceUpdate) (*licensing.MaintenancePlan, error) {
	id, err := normalizePlanID(id)
	if err != nil {
		return nil, err
	}
	if u.AutoRenew == nil {
		return nil, licensing.Errorf(licensing.EINVALID, "nothing to change").WithHint("pass --auto-renew=true or --auto-renew=false")
	}
	return write(ctx, a, func(tx Tx, now time.Time) (*licensing.MaintenancePlan, error) {
		acct, p, err := changePlan(ctx, tx, id)
		if err != nil {
			return nil, err
		}
		if *u.AutoRenew && p.EndsAt != nil && !p.EndsAt.After(now) {
			return nil, licensing.Errorf(licensing.ECONFLICT, "maintenance plan %s ended on %s: it cannot renew any more", id,
				p.EndsAt.Format(time.RFC3339)).
				WithHint("buy a new plan with `licensectl maintenance buy %s`", deref(p.LicenseKey))
		}
		if *u.AutoRenew != p.AutoRenew {
			if err := tx.SetPlanAutoRenew(ctx, id, *u.AutoRenew); err != nil {
				return nil, err
			}
			if err := audit(ctx, tx, acct.id, now, acct.email, "maintenance.update", id, map[string]any{"auto_renew": *u.AutoRenew}); err != nil {
				return nil, err
			}
		}
		return planNow(ctx, tx, acct.id, id, now)
	})
}
