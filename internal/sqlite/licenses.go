package sqlite

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/licensectl/licensectl/internal/app"
	"github.com/licensectl/licensectl/internal/licensing"
	"github.com/licensectl/licensectl/internal/sqlq"
)

// licenseRow selects a license's stored fields as ONE text value, joined by
// the unit separator (0x1f). The driver takes the connection's mutex for each
// of the two or three calls it makes per column value (SQLITE_OPEN_FULLMUTEX),
// which made locking half the cost of listing licenses. One column instead of
// fifteen lists a million licenses in 1.3 s instead of 2.1 s, with 4
// allocations per license instead of 17: the fields are sliced out of one
// string. No stored text can contain the separator: SKUs, names, company
// names and emails are all validated free of control characters.
const licenseRow = `concat_ws(char(31), l.key, l.product, p.name, l.kind, l.term, ifnull(c.name, ''),
	l.purchase_id, l.purchase_email, l.allow_rm, l.auto_renew, ifnull(l.expires_at, ''),
	ifnull(l.maintenance_till, ''), l.seats, l.seats_used, l.created_at, ifnull(l.revoked_at, ''))`

const licenseFrom = sqlq.LicenseFrom

// rowFields reads the fields of a licenseRow in order; the first problem
// sticks in err.
type rowFields struct {
	rest string
	more bool // rest holds another field
	err  error
}

func (f *rowFields) fail(err error) {
	if f.err == nil {
		f.err = fmt.Errorf("malformed license row: %w", err)
	}
}

func (f *rowFields) text() string {
	if !f.more {
		f.fail(errors.New("too few fields"))
		return ""
	}
	v, rest, more := strings.Cut(f.rest, "\x1f")
	f.rest, f.more = rest, more
	return v
}

func (f *rowFields) int() int64 {
	return f.parseInt(f.text())
}

func (f *rowFields) parseInt(v string) int64 {
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		f.fail(err)
	}
	return n
}

// optionalTime reads a time that may be absent (NULL reads as "") into t.
func (f *rowFields) optionalTime(t *time.Time) *time.Time {
	v := f.text()
	if v == "" {
		return nil
	}
	*t = app.Unix(f.parseInt(v))
	return t
}

// parsedLicense holds a license and what its pointer fields point to, so
// that a parsed row costs one allocation instead of up to four: lists make
// a million of them.
type parsedLicense struct {
	l                           licensing.License
	company                     string
	expires, maintTill, revoked time.Time
}

// licenseScanner reads licenseRow rows into one reused buffer.
func licenseScanner() func(app.Scanner, ...any) (*licensing.License, error) {
	var row string
	dest := []any{&row}
	return func(sc app.Scanner, extra ...any) (*licensing.License, error) {
		d := dest
		if len(extra) > 0 {
			d = append([]any{&row}, extra...)
		}
		if err := sc.Scan(d...); err != nil {
			return nil, err
		}
		return parseLicense(row)
	}
}

func parseLicense(row string) (*licensing.License, error) {
	f := rowFields{rest: row, more: true}
	p := &parsedLicense{}
	l := &p.l
	l.Key, l.Product, l.ProductName, l.Kind, l.Term = f.text(), f.text(), f.text(), f.text(), f.text()
	if p.company = f.text(); p.company != "" {
		l.Company = &p.company
	}
	l.PurchaseID, l.PurchaseEmail = f.text(), f.text()
	l.AllowRM, l.AutoRenew = f.int() != 0, f.int() != 0
	l.ExpiresAt, l.MaintenanceTill = f.optionalTime(&p.expires), f.optionalTime(&p.maintTill)
	l.Seats, l.SeatsUsed = int(f.int()), int(f.int())
	l.CreatedAt = app.Unix(f.int())
	l.RevokedAt = f.optionalTime(&p.revoked)
	if f.more {
		f.fail(errors.New("too many fields"))
	}
	return l, f.err
}

// mark writes the n-th argument of a statement.
func mark(n int) string { return "?" + strconv.Itoa(n) }

// licenseConds are the SQL of app.LicenseQuery's conditions over
// licenseFrom.
var licenseConds = sqlq.LicenseConds(func(col string) string { return col + " = 1" }, "LIKE")

// licenseWhere renders q's conditions; narrowed: one of them can be looked
// up in an index of its own (every one but the account's, validity's and the
// search's).
func licenseWhere(q *app.LicenseQuery, args []any) (where string, _ []any, narrowed bool) {
	for _, w := range q.Where {
		narrowed = narrowed || (w.Cond != app.LicenseOfAccount && w.Cond != app.LicenseOfAccountOrRevoked &&
			w.Cond != app.LicenseValid && w.Cond != app.LicenseMatches)
	}
	where, args = app.RenderWhere(licenseConds[:], q.Where, args, mark)
	return " WHERE " + where, args, narrowed
}

// listSQL renders the list query.
//
// Without SQLite statistics the planner prefers an index that yields the
// sort order over one that finds few rows, so "--company Small --sort key"
// walked a million keys to find ten licenses (2 s instead of 0.2 ms). The
// rule here is fixed instead: when a condition has an index of its own, that
// index finds the rows and they are sorted (a unary + hides the sort column's
// index and keeps its collation); otherwise the sort column's index gives the
// order, so that a page (--limit) of a huge list costs only the page.
func listSQL(q *app.LicenseQuery) (string, []any, error) {
	where, args, narrowed := licenseWhere(q, nil)
	var b strings.Builder
	b.WriteString("SELECT " + licenseRow + licenseFrom + where + " ORDER BY ")
	// The id tie-break follows the last field's direction, so that an index
	// on (account_id, field) - whose entries end with the rowid - can serve
	// the whole ORDER BY.
	idDir := ""
	for _, sf := range q.Sort {
		expr, a, err := sqlq.SortColumn(sf.Field, q.Now, args, mark)
		if err != nil {
			return "", nil, err
		}
		args = a
		if narrowed {
			b.WriteString("+")
		}
		b.WriteString(expr)
		idDir = ""
		if sf.Desc {
			idDir = " DESC"
		}
		b.WriteString(idDir + ", ")
	}
	b.WriteString("l.id" + idDir)
	switch {
	case q.Limit > 0:
		b.WriteString(" LIMIT " + mark(len(args)+1) + " OFFSET " + mark(len(args)+2))
		args = append(args, q.Limit, q.Offset)
	case q.Offset > 0:
		b.WriteString(" LIMIT -1 OFFSET " + mark(len(args)+1))
		args = append(args, q.Offset)
	}
	return b.String(), args, nil
}
