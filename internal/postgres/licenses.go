package postgres

import (
	"strconv"
	"strings"

	"github.com/licensectl/licensectl/internal/app"
	"github.com/licensectl/licensectl/internal/licensing"
	"github.com/licensectl/licensectl/internal/sqlq"
)

const licenseColumns = `l.key, l.product, p.name, l.kind, l.term, c.name, l.purchase_id, l.purchase_email,
	l.allow_rm, l.auto_renew, l.expires_at, l.maintenance_till, l.seats, l.seats_used, l.created_at, l.revoked_at`

const licenseFrom = sqlq.LicenseFrom

// scanLicense reads the licenseColumns of a row; extra receives any columns
// selected after them.
func scanLicense(row app.Scanner, extra ...any) (*licensing.License, error) {
	var (
		l                 licensing.License
		expires, maintain *int64
		revoked           *int64
		created           int64
	)
	dest := append([]any{&l.Key, &l.Product, &l.ProductName, &l.Kind, &l.Term, &l.Company, &l.PurchaseID, &l.PurchaseEmail,
		&l.AllowRM, &l.AutoRenew, &expires, &maintain, &l.Seats, &l.SeatsUsed, &created, &revoked}, extra...)
	if err := row.Scan(dest...); err != nil {
		return nil, err
	}
	l.ExpiresAt, l.MaintenanceTill, l.CreatedAt = optionalUnix(expires), optionalUnix(maintain), unixTime(created)
	l.RevokedAt = optionalUnix(revoked)
	return &l, nil
}

// mark writes the n-th argument of a statement.
func mark(n int) string { return "$" + strconv.Itoa(n) }

// licenseConds are the SQL of app.LicenseQuery's conditions over
// licenseFrom.
var licenseConds = sqlq.LicenseConds(func(col string) string { return col }, "ILIKE")

// listSQL renders the list query.
func listSQL(q *app.LicenseQuery) (string, []any, error) {
	where, args := app.RenderWhere(licenseConds[:], q.Where, nil, mark)
	var b strings.Builder
	b.WriteString("SELECT " + licenseColumns + licenseFrom + " WHERE " + where + " ORDER BY ")
	// PostgreSQL sorts NULLs last by default, the query wants them first
	// ascending; the id tie-break follows the last field's direction.
	idDir := ""
	for _, sf := range q.Sort {
		expr, a, err := sqlq.SortColumn(sf.Field, q.Now, args, mark)
		if err != nil {
			return "", nil, err
		}
		args = a
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
