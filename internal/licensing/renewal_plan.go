package licensing

import (
	"fmt"
	"sort"
	"strconv"
	"time"
)

// MaxRenewalPeriods bounds how many periods one run renews an item for, so
// a mistyped --as-of cannot charge a century of renewals.
const MaxRenewalPeriods = 1200

// DueItem is what the renewals engine knows of something that fell due: a
// maintenance plan, a subscription or a trial.
type DueItem struct {
	Kind      string // RenewalMaintenance | RenewalSubscription | RenewalTrial
	Object    string // plan id or license key
	Key       string // the license
	SKU       string
	Account   string
	End       time.Time
	AutoRenew bool
	Term      string // subscriptions: monthly or annual
	Succeeded bool   // a maintenance plan that a later plan of its license follows
}

// RenewalStep is one period the engine renews, or one end it records, for
// the store's item T.
type RenewalStep[T any] struct {
	Item   T
	Name   string // the product's name, for purchase lines
	Reason string // why an item ends
	Renewal
}

// PlanRenewals decides what happens to everything due at or before until:
// each period of an item with auto-renew on is renewed at the current catalog
// price; anything else ends once. Steps come in due order. Every store runs
// the same rules through this function and only reads and writes its rows.
func PlanRenewals[T any](items []T, due func(T) DueItem, find func(sku string) (*Product, error), until time.Time) ([]RenewalStep[T], error) {
	products := map[string]*Product{}
	var steps []RenewalStep[T]
	for _, item := range items {
		it := due(item)
		p, ok := products[it.SKU]
		if !ok {
			var err error
			if p, err = find(it.SKU); err != nil {
				return nil, err
			}
			products[it.SKU] = p
		}
		base := Renewal{Kind: it.Kind, Object: it.Object, LicenseKey: it.Key, Product: it.SKU, Account: it.Account,
			Currency: p.Currency}
		reason := ""
		switch {
		case it.Kind == RenewalTrial:
			reason = "trials never renew"
		case !it.AutoRenew:
			reason = "auto-renew is off"
		case it.Succeeded:
			reason = "a newer plan takes over"
		}
		if reason != "" {
			st := RenewalStep[T]{Item: item, Name: p.Name, Reason: reason, Renewal: base}
			st.DueAt, st.Action = it.End, RenewalExpire
			steps = append(steps, st)
			continue
		}
		price, next, err := renewalTerms(it, p)
		if err != nil {
			return nil, err
		}
		end := it.End
		for n := 0; !end.After(until); n++ {
			if n == MaxRenewalPeriods {
				return nil, Errorf(EINVALID, "%s %s would renew more than %d times up to %s", it.Kind, it.Object,
					MaxRenewalPeriods, until.Format(time.RFC3339)).WithHint("check --as-of")
			}
			newEnd := next(end)
			st := RenewalStep[T]{Item: item, Name: p.Name, Renewal: base}
			st.DueAt, st.Action, st.NewEnd, st.PriceCents = end, RenewalRenew, &newEnd, price
			steps = append(steps, st)
			end = newEnd
		}
	}
	sort.SliceStable(steps, func(i, j int) bool { return steps[i].DueAt.Before(steps[j].DueAt) })
	return steps, nil
}

// renewalTerms answers the price of one more period of an item and how a
// period moves its end.
func renewalTerms(it DueItem, p *Product) (int64, func(time.Time) time.Time, error) {
	switch {
	case it.Kind == RenewalMaintenance:
		return p.MaintenancePriceCents, MaintenanceTerm, nil
	case it.Term == LicenseTermMonthly:
		return p.MonthlyPriceCents, func(t time.Time) time.Time { return t.AddDate(0, 1, 0) }, nil
	case it.Term == LicenseTermAnnual:
		return p.AnnualPriceCents, func(t time.Time) time.Time { return t.AddDate(1, 0, 0) }, nil
	}
	return 0, nil, fmt.Errorf("license %s: term %q cannot renew", it.Key, it.Term)
}

// SummarizeRenewals is the run that renews and ends rs as of asOf: its
// counts and totals, overall and per account. A real run and its dry run
// are summed alike, so the preview's totals are the run's.
func SummarizeRenewals(asOf time.Time, rs []Renewal) *RenewalRun {
	run := &RenewalRun{AsOf: asOf, Accounts: []RenewalTotal{}, Purchases: []string{}, Renewals: rs}
	if run.Renewals == nil {
		run.Renewals = []Renewal{}
	}
	index := map[[2]string]int{}
	for _, r := range rs {
		k := [2]string{r.Account, r.Currency}
		i, ok := index[k]
		if !ok {
			i = len(run.Accounts)
			index[k] = i
			run.Accounts = append(run.Accounts, RenewalTotal{Account: r.Account, Currency: r.Currency})
		}
		t := &run.Accounts[i]
		if r.Action == RenewalRenew {
			run.Renewed++
			run.TotalCents += r.PriceCents
			t.Renewed++
			t.TotalCents += r.PriceCents
		} else {
			run.Expired++
			t.Expired++
		}
	}
	return run
}

// MostPeriods is the largest number of periods rs renews one plan or
// subscription for: more than one means a run charges for time past due
// at once (a backlog, or a date far ahead), which deserves a question.
func MostPeriods(rs []Renewal) int {
	n := map[string]int{}
	most := 0
	for _, r := range rs {
		if r.Action != RenewalRenew {
			continue
		}
		k := r.Kind + "/" + r.Object
		n[k]++
		most = max(most, n[k])
	}
	return most
}

// CheckRunAsOf refuses a renewals run as of a time later than now: it would
// charge periods that have not begun and record ends that have not
// happened. A preview (DueRenewals, a dry run) may look ahead.
func CheckRunAsOf(asOf, now time.Time) error {
	if asOf.After(now) {
		at := asOf.UTC().Format(time.RFC3339)
		return Errorf(EINVALID, "cannot run renewals as of %s, later than now (%s): that would charge and end what is not due yet",
			at, now.UTC().Truncate(time.Second).Format(time.RFC3339)).
			WithHint("preview it with `licensectl renewals run --dry-run --as-of %s`", at)
	}
	return nil
}

// RenewalCharge is one purchase of a renewals run: the renewed periods of
// one account in one currency, with a line per product, kind and price.
type RenewalCharge struct {
	Account    string
	Currency   string
	Items      []LineItem
	TotalCents int64
	Steps      []int    // the indexes of the steps it charges
	Objects    []string // "object@due" of each step, what its request hash covers
}

// GroupRenewalCharges groups the renewing steps into charges, in the order
// their accounts first renew; term answers a subscription's billing term.
// Steps that end something are not charged.
func GroupRenewalCharges[T any](steps []RenewalStep[T], term func(T) string) []RenewalCharge {
	var charges []RenewalCharge
	byAccount := map[[2]string]int{}      // account, currency -> charge
	byLine := map[int]map[[3]string]int{} // charge -> sku, billing, price -> line
	for i := range steps {
		st := &steps[i]
		if st.Action != RenewalRenew {
			continue
		}
		ak := [2]string{st.Account, st.Currency}
		ci, ok := byAccount[ak]
		if !ok {
			ci = len(charges)
			byAccount[ak] = ci
			byLine[ci] = map[[3]string]int{}
			charges = append(charges, RenewalCharge{Account: st.Account, Currency: st.Currency, Items: []LineItem{}})
		}
		c := &charges[ci]
		it := LineItem{SKU: st.Product, Description: st.Name + " renewal (" + term(st.Item) + ")",
			UnitPriceCents: st.PriceCents, Billing: term(st.Item)}
		if st.Kind == RenewalMaintenance {
			it = LineItem{SKU: MaintenanceSKU(st.Product), Description: "Maintenance renewal for " + st.Name + " (1 year)",
				UnitPriceCents: st.PriceCents}
		}
		lk := [3]string{it.SKU, it.Billing, strconv.FormatInt(it.UnitPriceCents, 10)}
		li, ok := byLine[ci][lk]
		if !ok {
			li = len(c.Items)
			byLine[ci][lk] = li
			c.Items = append(c.Items, it)
		}
		c.Items[li].Quantity++
		c.Items[li].AmountCents += it.UnitPriceCents
		c.TotalCents += it.UnitPriceCents
		c.Steps = append(c.Steps, i)
		c.Objects = append(c.Objects, st.Object+"@"+st.DueAt.Format(time.RFC3339))
	}
	return charges
}
