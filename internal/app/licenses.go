package app

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/licensectl/licensectl/internal/licensing"
)

// LicenseCond is a condition on licenses. The conditions that compare with
// the time (validity, maintenance) take now, in Unix seconds, as argument.
type LicenseCond int

// The conditions of a license query.
const (
	LicenseOfAccount          LicenseCond = iota // owned by the account (an id)
	LicenseOfCompany                             // matched to the company (an id)
	LicenseInPool                                // matched to no company
	LicenseOfKind                                // of the kind
	LicenseValid                                 // never expires, or expires after now
	LicenseExpired                               // expired at or before now
	LicenseUsed                                  // has an activation (a seat used)
	LicenseUnused                                // has no activation
	LicenseMaintained                            // maintenance till after now
	LicenseMaintenanceExpired                    // maintenance till at or before now
	LicenseUnmaintained                          // never had maintenance
	LicenseAutoRenews                            // auto-renew on
	LicenseOfProduct                             // of the product (a SKU)
	// LicenseMatches: a LIKE pattern (escaped with \, of folded text) matches
	// the key, the product's SKU or name, the company's folded name, the
	// purchase id or the folded name of a machine activated on it; ASCII case
	// is ignored.
	LicenseMatches
	// LicenseOfAccountOrRevoked: owned by the account (an id), or revoked
	// from it by a refund (licenses list --include-revoked).
	LicenseOfAccountOrRevoked
	LicenseConds // the number of conditions
)

// LicenseQuery selects and orders licenses: those matching every condition,
// in Sort order (each field as licensing.LicenseSortFields names it:
// enumerations by their value as printed, "activated" < "not_activated",
// "expired" < "valid", "unused" < "used"; NULL - no company, never expires,
// no maintenance - first ascending, last descending), then by id in the
// direction of the last field; a page of Limit (0: all) after Offset.
type LicenseQuery struct {
	Where  []Where[LicenseCond]
	Now    int64 // Unix seconds, for the validity sort field
	Sort   []licensing.SortField
	Limit  int
	Offset int
}

// LicenseState is what changing a license reads of it.
type LicenseState struct {
	ID                            int64
	Kind, Term                    string
	AllowRM, AutoRenew, Suspended bool
	CompanyID                     int64  // 0: the global pool
	Company                       string // its name as stored
}

// ScanLicenseState reads a row of columns id, kind, term, allow_rm,
// auto_renew, suspended, company id (0 for none), company name ("" for none).
func ScanLicenseState(sc Scanner) (*LicenseState, error) {
	var l LicenseState
	return &l, sc.Scan(&l.ID, &l.Kind, &l.Term, &l.AllowRM, &l.AutoRenew, &l.Suspended, &l.CompanyID, &l.Company)
}

// LicenseChange is what UpdateLicense writes; nil fields are left alone.
type LicenseChange struct {
	AllowRM, AutoRenew, Suspended *bool
	// CompanyID, when set, moves the license to a company (0: the pool).
	CompanyID *int64
}

// Set renders what c changes as a SET list of licenses columns, mark
// writing the n-th argument in a store's syntax, and its values (a company
// id, or nil for the pool); "" when c changes nothing.
func (c LicenseChange) Set(mark func(int) string) (string, []any) {
	var cols []string
	var vals []any
	set := func(col string, v any) {
		vals = append(vals, v)
		cols = append(cols, col+" = "+mark(len(vals)))
	}
	for _, f := range []struct {
		col string
		v   *bool
	}{{"allow_rm", c.AllowRM}, {"auto_renew", c.AutoRenew}, {"suspended", c.Suspended}} {
		if f.v != nil {
			set(f.col, *f.v)
		}
	}
	if c.CompanyID != nil {
		var id any // NULL: the global pool
		if *c.CompanyID != 0 {
			id = *c.CompanyID
		}
		set("company_id", id)
	}
	return strings.Join(cols, ", "), vals
}

// LicenseTx is what the license use cases need of a transaction.
type LicenseTx interface {
	// ListLicenses calls fn with each license q selects, in order, reading
	// them one at a time: memory stays flat however many there are. A
	// license's derived fields are left to the caller.
	ListLicenses(ctx context.Context, q *LicenseQuery, fn func(*licensing.License) error) error
	// GroupLicenses counts the licenses q.Where selects per product, in
	// catalog order (lifetime, subscription, add-on, then SKU): Total, Valid
	// (at q.Now), Used and Trial.
	GroupLicenses(ctx context.Context, q *LicenseQuery) ([]licensing.LicenseGroup, error)
	// LicenseDetail reads one license of the account with its purchase time
	// and product's latest version and platforms, or nil.
	LicenseDetail(ctx context.Context, acct int64, key string) (*licensing.LicenseDetail, error)
	// LicenseState reads one license of the account, or nil; ForUpdate takes
	// its row lock.
	LicenseState(ctx context.Context, acct int64, key string, lock Lock) (*LicenseState, error)
	// UpdateLicense writes c.Set.
	UpdateLicense(ctx context.Context, id int64, c LicenseChange) error
	// LicenseByID reads a license.
	LicenseByID(ctx context.Context, id int64) (*licensing.License, error)
}

var _ licensing.LicenseService = (*App)(nil)

// licenseQuery turns a validated filter into the query of the account's
// licenses it means. A company or product that does not exist says so
// rather than list nothing.
func licenseQuery(ctx context.Context, tx Tx, acct int64, f *licensing.LicenseFilter, now int64) (*LicenseQuery, error) {
	// queryLooksUp must name every look-up below.
	q := &LicenseQuery{Now: now, Limit: f.Limit, Offset: f.Offset}
	add := func(c LicenseCond, args ...any) { q.Where = append(q.Where, Where[LicenseCond]{c, args}) }
	if f.IncludeRevoked {
		add(LicenseOfAccountOrRevoked, acct)
	} else {
		add(LicenseOfAccount, acct)
	}
	switch {
	case f.Company != "":
		name, err := licensing.NormalizeCompanyName(f.Company)
		if err != nil {
			return nil, err
		}
		id, _, err := company(ctx, tx, acct, name)
		if err != nil {
			return nil, err
		}
		add(LicenseOfCompany, id)
	case f.Pool:
		add(LicenseInPool)
	}
	if f.Kind != "" {
		add(LicenseOfKind, f.Kind)
	}
	switch f.Validity {
	case licensing.ValidityValid:
		add(LicenseValid, now)
	case licensing.ValidityExpired:
		add(LicenseExpired, now)
	}
	// Status and usage are both "has an active activation".
	if f.Usage == licensing.UsageUsed || f.Status == licensing.StatusActivated {
		add(LicenseUsed)
	}
	if f.Usage == licensing.UsageUnused || f.Status == licensing.StatusNotActivated {
		add(LicenseUnused)
	}
	switch f.Maintenance {
	case licensing.MaintenanceActive:
		add(LicenseMaintained, now)
	case licensing.MaintenanceExpired:
		add(LicenseMaintenanceExpired, now)
	case licensing.MaintenanceNone:
		add(LicenseUnmaintained)
	}
	if f.AutoRenew {
		add(LicenseAutoRenews)
	}
	if f.Product != "" {
		p, err := product(ctx, tx, f.Product)
		if err != nil {
			return nil, err
		}
		add(LicenseOfProduct, p.SKU)
	}
	if f.Search != "" {
		// Folded text (licensing.FoldName) against the folded names.
		add(LicenseMatches, "%"+escapeLike(licensing.FoldName(f.Search))+"%")
	}
	sortable := licensing.LicenseSortFields()
	for _, sf := range f.Sort {
		if !slices.Contains(sortable, sf.Field) {
			return nil, licensing.Errorf(licensing.EINVALID, "cannot sort by %q", sf.Field).
				WithHint("sortable fields: %s", strings.Join(sortable, ", "))
		}
	}
	q.Sort = f.Sort
	return q, nil
}

// queryLooksUp reports whether licenseQuery reads the store for f (a
// company or a product to find).
func queryLooksUp(f *licensing.LicenseFilter) bool { return f.Company != "" || f.Product != "" }

// NewLicenseQuery is the query a list of the account's licenses with filter
// f runs at now (f is validated first), for a store's tests of its SQL.
func NewLicenseQuery(ctx context.Context, tx Tx, acct int64, f licensing.LicenseFilter, now time.Time) (*LicenseQuery, error) {
	if err := f.Validate(); err != nil {
		return nil, err
	}
	return licenseQuery(ctx, tx, acct, &f, now.Unix())
}

// escapeLike makes s match literally inside a LIKE pattern with ESCAPE '\'.
func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// ListLicenses streams the acting account's licenses that match f to fn, one
// at a time: memory stays flat however many there are.
func (a *App) ListLicenses(ctx context.Context, f licensing.LicenseFilter, fn func(*licensing.License) error) error {
	if err := f.Validate(); err != nil {
		return err
	}
	// The page an API client asks for most (an authenticated account, no
	// company or product to look up) is the list query alone.
	run := a.store.Read
	if _, ok := principalAccount(ctx); ok && !queryLooksUp(&f) {
		run = a.store.ReadOne
	}
	_, err := readWith(ctx, a, run, func(tx Tx, now time.Time) (struct{}, error) {
		acct, err := actingAccount(ctx, tx)
		if err != nil {
			return struct{}{}, err
		}
		q, err := licenseQuery(ctx, tx, acct.id, &f, now.Unix())
		if err != nil {
			return struct{}{}, err
		}
		return struct{}{}, tx.ListLicenses(ctx, q, func(l *licensing.License) error {
			l.Derive(now)
			return fn(l)
		})
	})
	return err
}

// GroupLicenses counts the matching licenses per product, in catalog order.
func (a *App) GroupLicenses(ctx context.Context, f licensing.LicenseFilter) ([]licensing.LicenseGroup, error) {
	if err := f.Validate(); err != nil {
		return nil, err
	}
	return read(ctx, a, func(tx Tx, now time.Time) ([]licensing.LicenseGroup, error) {
		acct, err := actingAccount(ctx, tx)
		if err != nil {
			return nil, err
		}
		q, err := licenseQuery(ctx, tx, acct.id, &f, now.Unix())
		if err != nil {
			return nil, err
		}
		gs, err := tx.GroupLicenses(ctx, q)
		for i := range gs {
			gs[i].Expired, gs[i].Unused = gs[i].Total-gs[i].Valid, gs[i].Total-gs[i].Used
		}
		return gs, err
	})
}

// GetLicense returns one of the acting account's licenses with its context.
// Another account's key answers exactly as an unknown key does.
func (a *App) GetLicense(ctx context.Context, key string) (*licensing.LicenseDetail, error) {
	key, err := licensing.ParseKey(key)
	if err != nil {
		return nil, err
	}
	return read(ctx, a, func(tx Tx, now time.Time) (*licensing.LicenseDetail, error) {
		acct, err := actingAccount(ctx, tx)
		if err != nil {
			return nil, err
		}
		d, err := tx.LicenseDetail(ctx, acct.id, key)
		if err != nil {
			return nil, err
		}
		if d == nil {
			// Not in the account any more (exit 3); a refund says why.
			if err := revokedError(ctx, tx, acct.id, key, licensing.ENOTFOUND); err != nil {
				return nil, err
			}
			return nil, licenseNotFound(key)
		}
		d.Derive(now)
		d.Activations = d.SeatsUsed
		d.RMSupported = licensing.SupportsRM(d.LatestVersion)
		// The license's plan history, in the same snapshot: its plans as the
		// maintenance list shows them (the plans of a license the account
		// owns are the account's).
		plans, err := tx.Plans(ctx, acct.id, PlanFilter{License: key})
		d.MaintenancePlans = DerivePlans(plans, now)
		return d, err
	})
}

// UpdateLicense changes a license's switches or company and records what
// changed in the audit log.
func (a *App) UpdateLicense(ctx context.Context, key string, u licensing.LicenseUpdate) (*licensing.License, error) {
	key, err := licensing.ParseKey(key)
	if err != nil {
		return nil, err
	}
	if u.AllowRM == nil && u.AutoRenew == nil && u.Company == nil && u.Suspended == nil {
		return nil, licensing.Errorf(licensing.EINVALID, "nothing to change").
			WithHint("pass --allow-rm, --auto-renew, --company or --pool")
	}
	if u.Suspended != nil {
		// Suspension is the vendor's: on the store host, or an operator's
		// token with the scope; never a customer's.
		if err := licensing.Authorize(ctx, licensing.ScopeLicensesSuspend); err != nil {
			return nil, err
		}
	}
	return write(ctx, a, func(tx Tx, now time.Time) (*licensing.License, error) {
		acct, err := licenseAccount(ctx, tx, key, u)
		if err != nil {
			return nil, err
		}
		// ForUpdate: concurrent updates of one license queue up rather than
		// fail at commit.
		cur, err := tx.LicenseState(ctx, acct.id, key, ForUpdate)
		if err != nil {
			return nil, err
		}
		if cur == nil {
			return nil, licenseNotFound(key)
		}
		var c LicenseChange
		changed := map[string]any{}
		if u.AllowRM != nil && *u.AllowRM != cur.AllowRM {
			c.AllowRM, changed["allow_rm"] = u.AllowRM, *u.AllowRM
		}
		if u.AutoRenew != nil {
			if err := licensing.CheckAutoRenew(key, cur.Kind, cur.Term); err != nil {
				return nil, err
			}
			if *u.AutoRenew != cur.AutoRenew {
				c.AutoRenew, changed["auto_renew"] = u.AutoRenew, *u.AutoRenew
			}
		}
		if u.Suspended != nil && *u.Suspended != cur.Suspended {
			c.Suspended, changed["suspended"] = u.Suspended, *u.Suspended
		}
		if u.Company != nil {
			var id int64
			var name any // null: the global pool
			if *u.Company != "" {
				n, err := licensing.NormalizeCompanyName(*u.Company)
				if err != nil {
					return nil, err
				}
				var stored string
				if id, stored, err = company(ctx, tx, acct.id, n); err != nil {
					return nil, err
				}
				name = stored
			}
			if id != cur.CompanyID {
				var previous any
				if cur.CompanyID != 0 {
					previous = cur.Company
				}
				c.CompanyID, changed["company"], changed["previous_company"] = &id, name, previous
			}
		}
		if len(changed) > 0 {
			if err := tx.UpdateLicense(ctx, cur.ID, c); err != nil {
				return nil, err
			}
			if err := audit(ctx, tx, acct.id, now, actor(ctx), "license.update", key, changed); err != nil {
				return nil, err
			}
		}
		l, err := tx.LicenseByID(ctx, cur.ID)
		if err != nil {
			return nil, err
		}
		l.Derive(now)
		if len(changed) > 0 {
			return l, emit(ctx, tx, acct.id, now, licensing.EventLicenseUpdated, key, l)
		}
		return l, nil
	})
}

// licenseAccount is the account whose license UpdateLicense changes: the
// acting account, or - for a suspension alone, by the store's operator or an
// operator's token acting for no account - the license's owner, so that a
// support engineer suspends a key without looking its account up first.
func licenseAccount(ctx context.Context, tx Tx, key string, u licensing.LicenseUpdate) (account, error) {
	if licensing.AccountFrom(ctx) != "" {
		return actingAccount(ctx, tx)
	}
	p, api := licensing.PrincipalFrom(ctx)
	operator := !api || p.Kind == licensing.KindOperator
	if !operator {
		return actingAccount(ctx, tx)
	}
	if u.AllowRM != nil || u.AutoRenew != nil || u.Company != nil {
		return account{}, licensing.Errorf(licensing.EINVALID, "only --suspended changes a license without an acting account").
			WithHint("act for its account with --account EMAIL (`licensectl licenses find %s` names it)", key)
	}
	_, id, email, err := tx.LicenseOwner(ctx, key)
	if err != nil {
		return account{}, err
	}
	if id == 0 {
		return account{}, licenseNotFound(key)
	}
	return account{id: id, email: email}, nil
}
