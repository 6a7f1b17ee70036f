package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/licensectl/licensectl/internal/app"
	"github.com/licensectl/licensectl/internal/licensing"
	"github.com/licensectl/licensectl/internal/sqlq"
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

// mark writes the n-th argument of a statement.
func mark(n int) string { return "$" + strconv.Itoa(n) }

// args numbers query parameters as they are added.
type args []any

func (a *args) add(v any) string {
	*a = append(*a, v)
	return mark(len(*a))
}

// licenseConds are the SQL of app.LicenseQuery's conditions over
// licenseFrom.
var licenseConds = sqlq.LicenseConds(func(col string) string { return col }, "ILIKE")

// sortColumns are the SQL of the sort fields; %[1]s is now.
var sortColumns = sqlq.SortColumns()

// listSQL renders the list query.
func listSQL(q *app.LicenseQuery) (string, []any, error) {
	where, args := app.RenderWhere(licenseConds[:], q.Where, nil, mark)
	var b strings.Builder
	b.WriteString("SELECT " + licenseColumns + licenseFrom + " WHERE " + where + " ORDER BY ")
	// PostgreSQL sorts NULLs last by default, the query wants them first
	// ascending; the id tie-break follows the last field's direction.
	idDir := ""
	for _, sf := range q.Sort {
		expr, ok := sortColumns[sf.Field]
		if !ok {
			return "", nil, fmt.Errorf("no sort field %q", sf.Field)
		}
		if strings.Contains(expr, "%[1]s") {
			args = append(args, q.Now)
			expr = fmt.Sprintf(expr, mark(len(args)))
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
	if q.Limit > 0 {
		args = append(args, q.Limit)
		b.WriteString(" LIMIT " + mark(len(args)))
	}
	if q.Offset > 0 {
		args = append(args, q.Offset)
		b.WriteString(" OFFSET " + mark(len(args)))
	}
	return b.String(), args, nil
}

// ListLicenses implements app.LicenseTx.
func (t *tx) ListLicenses(ctx context.Context, q *app.LicenseQuery, fn func(*licensing.License) error) error {
	query, args, err := listSQL(q)
	if err != nil {
		return err
	}
	rows, err := t.query(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		l, err := scanLicense(rows)
		if err != nil {
			return err
		}
		if err := fn(l); err != nil {
			return err
		}
	}
	return rows.Err()
}

// GroupLicenses implements app.LicenseTx.
func (t *tx) GroupLicenses(ctx context.Context, q *app.LicenseQuery) ([]licensing.LicenseGroup, error) {
	where, args := app.RenderWhere(licenseConds[:], q.Where, []any{q.Now}, mark)
	rows, err := t.query(ctx, `SELECT l.product, p.name, count(*),
			count(*) FILTER (WHERE l.expires_at IS NULL OR l.expires_at > $1),
			count(*) FILTER (WHERE l.seats_used > 0),
			count(*) FILTER (WHERE l.kind = 'trial')`+licenseFrom+` WHERE `+where+`
		GROUP BY l.product, p.name, p.term
		ORDER BY CASE p.term WHEN 'perpetual' THEN 0 WHEN 'subscription' THEN 1 ELSE 2 END, l.product`, args...)
	return all(rows, err, func(sc app.Scanner) (*licensing.LicenseGroup, error) {
		var g licensing.LicenseGroup
		return &g, sc.Scan(&g.Product, &g.ProductName, &g.Total, &g.Valid, &g.Used, &g.Trial)
	})
}

// LicenseDetail implements app.LicenseTx.
func (t *tx) LicenseDetail(ctx context.Context, acct int64, key string) (*licensing.LicenseDetail, error) {
	var (
		platforms string
		purchased int64
		d         licensing.LicenseDetail
	)
	l, err := scanLicense(t.queryRow(ctx, `SELECT `+licenseColumns+`, pu.created_at, p.latest_version, p.platforms`+
		licenseFrom+` JOIN purchases pu ON pu.id = l.purchase_id WHERE l.account_id = $1 AND l.key = $2`, acct, key),
		&purchased, &d.LatestVersion, &platforms)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	d.License = *l
	d.PurchasedAt = unixTime(purchased)
	d.Platforms = app.SplitList(platforms)
	return &d, nil
}

// LicenseState implements app.LicenseTx; ForUpdate takes the license's row
// lock.
func (t *tx) LicenseState(ctx context.Context, acct int64, key string, lock app.Lock) (*app.LicenseState, error) {
	query := `SELECT l.id, l.kind, l.term, l.allow_rm, l.auto_renew, l.suspended, coalesce(l.company_id, 0), coalesce(c.name, '')
		FROM licenses l LEFT JOIN companies c ON c.id = l.company_id WHERE l.account_id = $1 AND l.key = $2`
	if lock == app.ForUpdate {
		query += " FOR UPDATE OF l"
	}
	return one(t.queryRow(ctx, query, acct, key), app.ScanLicenseState)
}

// LicenseByID implements app.LicenseTx.
func (t *tx) LicenseByID(ctx context.Context, id int64) (*licensing.License, error) {
	return scanLicense(t.queryRow(ctx, "SELECT "+licenseColumns+licenseFrom+" WHERE l.id = $1", id))
}
