package postgres

import (
	"context"
	"errors"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/licensectl/licensectl/internal/licensekey"
	"github.com/licensectl/licensectl/internal/licensing"
)

const licenseColumns = `l.key, l.product, p.name, l.kind, l.term, c.name, l.purchase_id, l.purchase_email,
	l.allow_rm, l.auto_renew, l.expires_at, l.maintenance_till, l.seats, l.seats_used, l.created_at`

const licenseFrom = ` FROM licenses l JOIN products p ON p.sku = l.product LEFT JOIN companies c ON c.id = l.company_id`

// scanLicense reads the licenseColumns of a row; extra receives any columns
// selected after them.
func scanLicense(row pgx.Row, extra ...any) (*licensing.License, error) {
	var (
		l                 licensing.License
		expires, maintain *int64
		created           int64
	)
	dest := append([]any{&l.Key, &l.Product, &l.ProductName, &l.Kind, &l.Term, &l.Company, &l.PurchaseID, &l.PurchaseEmail,
		&l.AllowRM, &l.AutoRenew, &expires, &maintain, &l.Seats, &l.SeatsUsed, &created}, extra...)
	if err := row.Scan(dest...); err != nil {
		return nil, err
	}
	l.ExpiresAt, l.MaintenanceTill, l.CreatedAt = optionalUnix(expires), optionalUnix(maintain), unixTime(created)
	return &l, nil
}

// args numbers query parameters as they are added.
type args []any

func (a *args) add(v any) string {
	*a = append(*a, v)
	return "$" + strconv.Itoa(len(*a))
}

// licenseWhere translates a filter into a WHERE clause over licenseFrom. The
// user's values only ever travel as arguments.
func licenseWhere(ctx context.Context, q queryer, a *args, acct int64, f *licensing.LicenseFilter, now int64) (string, error) {
	conds := []string{"l.account_id = " + a.add(acct)}
	switch {
	case f.Company != "":
		name, err := licensing.NormalizeCompanyName(f.Company)
		if err != nil {
			return "", err
		}
		id, err := companyID(ctx, q, acct, name)
		if err != nil {
			return "", err
		}
		conds = append(conds, "l.company_id = "+a.add(id))
	case f.Pool:
		conds = append(conds, "l.company_id IS NULL")
	}
	if f.Kind != "" {
		conds = append(conds, "l.kind = "+a.add(f.Kind))
	}
	switch f.Validity {
	case licensing.ValidityValid:
		n := a.add(now)
		conds = append(conds, "(l.expires_at IS NULL OR l.expires_at > "+n+")")
	case licensing.ValidityExpired:
		conds = append(conds, "l.expires_at <= "+a.add(now))
	}
	// Status and usage are both "has an active activation".
	if f.Usage == licensing.UsageUsed || f.Status == licensing.StatusActivated {
		conds = append(conds, "l.seats_used > 0")
	}
	if f.Usage == licensing.UsageUnused || f.Status == licensing.StatusNotActivated {
		conds = append(conds, "l.seats_used = 0")
	}
	switch f.Maintenance {
	case licensing.MaintenanceActive:
		conds = append(conds, "l.maintenance_till > "+a.add(now))
	case licensing.MaintenanceExpired:
		conds = append(conds, "l.maintenance_till <= "+a.add(now))
	case licensing.MaintenanceNone:
		conds = append(conds, "l.maintenance_till IS NULL")
	}
	if f.AutoRenew {
		conds = append(conds, "l.auto_renew")
	}
	if f.Product != "" {
		// A typo in --product should say so, not list nothing.
		p, err := findProduct(ctx, q, f.Product)
		if err != nil {
			return "", err
		}
		conds = append(conds, "l.product = "+a.add(p.SKU))
	}
	if f.Search != "" {
		// Folded text (licensing.FoldName) against the folded names; ILIKE on
		// "C"-collated text ignores ASCII case in the other columns, as
		// SQLite's LIKE does.
		n := a.add("%" + escapeLike(licensing.FoldName(f.Search)) + "%")
		var or []string
		for _, col := range []string{"l.key", "l.product", "p.name", "c.name_folded", "l.purchase_id"} {
			or = append(or, col+" ILIKE "+n+` ESCAPE '\'`)
		}
		or = append(or, "(l.seats_used > 0 AND EXISTS (SELECT 1 FROM activations a WHERE a.license_id = l.id AND a.machine_folded ILIKE "+n+` ESCAPE '\'))`)
		conds = append(conds, "("+strings.Join(or, " OR ")+")")
	}
	return " WHERE " + strings.Join(conds, " AND "), nil
}

// escapeLike makes s match literally inside a LIKE pattern with ESCAPE '\'.
func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// sortColumn maps a sort field to its SQL expression, as the SQLite store
// sorts: enumerations by their printed value, company names ignoring ASCII
// case, and NULL (no company, never expires, no maintenance) first.
func sortColumn(field string, a *args, now int64) (string, bool) {
	switch field {
	case "key":
		return "l.key", true
	case "product":
		return "l.product", true
	case "kind":
		return "l.kind", true
	case "status":
		return "(l.seats_used = 0)", true
	case "validity":
		return "(l.expires_at IS NULL OR l.expires_at > " + a.add(now) + ")", true
	case "usage":
		return "(l.seats_used > 0)", true
	case "maintenance_till":
		return "l.maintenance_till", true
	case "allow_rm":
		return "l.allow_rm", true
	case "auto_renew":
		return "l.auto_renew", true
	case "company":
		return "c.name_folded", true
	case "expires_at":
		return "l.expires_at", true
	case "created_at":
		return "l.created_at", true
	case "purchase_id":
		return "l.purchase_id", true
	}
	return "", false
}

// licenseQuery builds the list query for a validated filter.
func licenseQuery(ctx context.Context, q queryer, acct int64, f *licensing.LicenseFilter, now int64) (string, []any, error) {
	var a args
	where, err := licenseWhere(ctx, q, &a, acct, f, now)
	if err != nil {
		return "", nil, err
	}
	var b strings.Builder
	b.WriteString("SELECT " + licenseColumns + licenseFrom + where + " ORDER BY ")
	// PostgreSQL sorts NULLs last by default, SQLite first; and the id
	// tie-break follows the last field's direction, as in SQLite.
	idDir := ""
	for _, sf := range f.Sort {
		expr, ok := sortColumn(sf.Field, &a, now)
		if !ok {
			return "", nil, licensing.Errorf(licensing.EINVALID, "cannot sort by %q", sf.Field).
				WithHint("sortable fields: %s", strings.Join(licensing.LicenseSortFields(), ", "))
		}
		idDir = ""
		if sf.Desc {
			idDir = " DESC"
			b.WriteString(expr + " DESC NULLS LAST, ")
		} else {
			b.WriteString(expr + " ASC NULLS FIRST, ")
		}
	}
	b.WriteString("l.id" + idDir)
	if f.Limit > 0 {
		b.WriteString(" LIMIT " + a.add(f.Limit))
	}
	if f.Offset > 0 {
		b.WriteString(" OFFSET " + a.add(f.Offset))
	}
	return b.String(), a, nil
}

// ListLicenses streams the acting account's licenses that match f to fn, one
// at a time: memory stays flat however many there are.
func (s *Store) ListLicenses(ctx context.Context, f licensing.LicenseFilter, fn func(*licensing.License) error) error {
	if err := f.Validate(); err != nil {
		return err
	}
	acct, _, err := actingAccount(ctx, s.pool)
	if err != nil {
		return err
	}
	now := s.now()
	query, qargs, err := licenseQuery(ctx, s.pool, acct, &f, now.Unix())
	if err != nil {
		return err
	}
	rows, err := s.pool.Query(ctx, query, qargs...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		l, err := scanLicense(rows)
		if err != nil {
			return err
		}
		l.Derive(now)
		if err := fn(l); err != nil {
			return err
		}
	}
	return rows.Err()
}

// GroupLicenses counts the matching licenses per product, in catalog order.
func (s *Store) GroupLicenses(ctx context.Context, f licensing.LicenseFilter) ([]licensing.LicenseGroup, error) {
	if err := f.Validate(); err != nil {
		return nil, err
	}
	acct, _, err := actingAccount(ctx, s.pool)
	if err != nil {
		return nil, err
	}
	now := s.now().Unix()
	var a args
	n := a.add(now)
	where, err := licenseWhere(ctx, s.pool, &a, acct, &f, now)
	if err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, `SELECT l.product, p.name, count(*),
			count(*) FILTER (WHERE l.expires_at IS NULL OR l.expires_at > `+n+`),
			count(*) FILTER (WHERE l.seats_used > 0),
			count(*) FILTER (WHERE l.kind = 'trial')`+licenseFrom+where+`
		GROUP BY l.product, p.name, p.term
		ORDER BY CASE p.term WHEN 'perpetual' THEN 0 WHEN 'subscription' THEN 1 ELSE 2 END, l.product`, a...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []licensing.LicenseGroup{}
	for rows.Next() {
		var g licensing.LicenseGroup
		if err := rows.Scan(&g.Product, &g.ProductName, &g.Total, &g.Valid, &g.Used, &g.Trial); err != nil {
			return nil, err
		}
		g.Expired, g.Unused = g.Total-g.Valid, g.Total-g.Used
		out = append(out, g)
	}
	return out, rows.Err()
}

// parseKey checks a key as typed before any look-up, so a typo is reported as
// such rather than as an unknown license.
func parseKey(key string) (string, error) {
	k, err := licensekey.Parse(key)
	if err != nil {
		return "", licensing.Errorf(licensing.EINVALID, "malformed license key %q", clipText(key)).
			WithHint("keys look like XXXXX-XXXXX-XXXXX-XXXXX-XXXXX")
	}
	return k, nil
}

func licenseNotFound(key string) error {
	return licensing.Errorf(licensing.ENOTFOUND, "license %s not found", key)
}

// GetLicense returns one of the acting account's licenses with its context.
// Another account's key answers exactly as an unknown key does.
func (s *Store) GetLicense(ctx context.Context, key string) (*licensing.LicenseDetail, error) {
	key, err := parseKey(key)
	if err != nil {
		return nil, err
	}
	acct, _, err := actingAccount(ctx, s.pool)
	if err != nil {
		return nil, err
	}
	var (
		platforms string
		purchased int64
		d         licensing.LicenseDetail
	)
	l, err := scanLicense(s.pool.QueryRow(ctx, `SELECT `+licenseColumns+`, pu.created_at, p.latest_version, p.platforms`+
		licenseFrom+` JOIN purchases pu ON pu.id = l.purchase_id WHERE l.account_id = $1 AND l.key = $2`, acct, key),
		&purchased, &d.LatestVersion, &platforms)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, licenseNotFound(key)
	} else if err != nil {
		return nil, err
	}
	d.License = *l
	d.Derive(s.now())
	d.PurchasedAt = unixTime(purchased)
	d.Activations = d.SeatsUsed
	d.Platforms = splitList(platforms)
	d.RMSupported = licensing.SupportsRM(d.LatestVersion)
	if d.MaintenancePlans, err = licensePlans(ctx, s.pool, acct, key, s.now()); err != nil {
		return nil, err
	}
	return &d, nil
}

// UpdateLicense changes a license's switches or company and records what
// changed in the audit log.
func (s *Store) UpdateLicense(ctx context.Context, key string, u licensing.LicenseUpdate) (*licensing.License, error) {
	key, err := parseKey(key)
	if err != nil {
		return nil, err
	}
	if u.AllowRM == nil && u.AutoRenew == nil && u.Company == nil && u.Suspended == nil {
		return nil, licensing.Errorf(licensing.EINVALID, "nothing to change").
			WithHint("pass --allow-rm, --auto-renew, --company or --pool")
	}
	var out *licensing.License
	err = s.write(ctx, func(tx pgx.Tx) error {
		acct, email, err := actingAccount(ctx, tx)
		if err != nil {
			return err
		}
		var (
			id                 int64
			kind, term         string
			allowRM, autoRenew bool
			curCompany         *int64
			curName            *string
		)
		// FOR UPDATE: concurrent updates of one license queue up rather than
		// fail at commit.
		err = tx.QueryRow(ctx, `SELECT l.id, l.kind, l.term, l.allow_rm, l.auto_renew, l.company_id, c.name
			FROM licenses l LEFT JOIN companies c ON c.id = l.company_id WHERE l.account_id = $1 AND l.key = $2
			FOR UPDATE OF l`, acct, key).
			Scan(&id, &kind, &term, &allowRM, &autoRenew, &curCompany, &curName)
		if errors.Is(err, pgx.ErrNoRows) {
			return licenseNotFound(key)
		} else if err != nil {
			return err
		}

		var a args
		var set []string
		changed := map[string]any{}
		if u.AllowRM != nil && *u.AllowRM != allowRM {
			set = append(set, "allow_rm = "+a.add(*u.AllowRM))
			changed["allow_rm"] = *u.AllowRM
		}
		if u.AutoRenew != nil {
			if err := checkAutoRenew(key, kind, term); err != nil {
				return err
			}
			if *u.AutoRenew != autoRenew {
				set = append(set, "auto_renew = "+a.add(*u.AutoRenew))
				changed["auto_renew"] = *u.AutoRenew
			}
		}
		if u.Suspended != nil {
			if cur, err := licenseSuspended(ctx, tx, id); err != nil {
				return err
			} else if *u.Suspended != cur {
				set = append(set, "suspended = "+a.add(*u.Suspended))
				changed["suspended"] = *u.Suspended
			}
		}
		if u.Company != nil {
			var newID *int64
			var newName *string
			if *u.Company != "" {
				name, err := licensing.NormalizeCompanyName(*u.Company)
				if err != nil {
					return err
				}
				cid, err := companyID(ctx, tx, acct, name)
				if err != nil {
					return err
				}
				newID = &cid
				if err := tx.QueryRow(ctx, "SELECT name FROM companies WHERE id = $1", cid).Scan(&newName); err != nil {
					return err
				}
			}
			if !sameID(newID, curCompany) {
				set = append(set, "company_id = "+a.add(newID))
				changed["company"] = nullableString(newName) // null: the global pool
				changed["previous_company"] = nullableString(curName)
			}
		}
		if len(set) > 0 {
			if _, err := tx.Exec(ctx, "UPDATE licenses SET "+strings.Join(set, ", ")+" WHERE id = "+a.add(id), a...); err != nil {
				return err
			}
			if err := audit(ctx, tx, acct, s.now(), email, "license.update", key, changed); err != nil {
				return err
			}
		}
		if out, err = scanLicense(tx.QueryRow(ctx, "SELECT "+licenseColumns+licenseFrom+" WHERE l.id = $1", id)); err != nil {
			return err
		}
		out.Derive(s.now())
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func sameID(a, b *int64) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

// checkAutoRenew allows the switch on subscriptions only, and says why not
// otherwise.
func checkAutoRenew(key, kind, term string) error {
	switch {
	case kind == licensing.KindTrial:
		return licensing.Errorf(licensing.EINVALID, "license %s is a trial: trials never renew", key).
			WithHint("buy the product to keep using it")
	case term == licensing.LicenseTermPerpetual:
		return licensing.Errorf(licensing.EINVALID, "license %s is a lifetime license: it has no renewal", key).
			WithHint("maintenance plans carry their own auto-renew: see `licensectl maintenance set`")
	}
	return nil
}

func nullableString(s *string) any {
	if s != nil {
		return *s
	}
	return nil
}
