// Package sqlq holds the SQL text that SQLite and PostgreSQL both speak, so
// that the two stores write it once: the conditions of the license and
// audit queries (with %[n]s where the store puts its n-th placeholder) and
// the product upsert. What differs between the dialects - a boolean column,
// LIKE against ILIKE, placeholders - each store passes in.
package sqlq

import (
	"fmt"
	"strings"

	"github.com/licensectl/licensectl/internal/app"
)

// AuditConds are the SQL of app.AuditQuery's conditions.
func AuditConds() []string {
	c := [app.AuditConds]string{
		app.AuditOfAccount:   "account_id = %[1]s",
		app.AuditAction:      "action = %[1]s",
		app.AuditActionRange: "action >= %[1]s AND action < %[2]s",
		app.AuditObject:      "object = %[1]s",
		app.AuditSince:       "time >= %[1]s",
	}
	return c[:]
}

// AuditSelect is the audit query up to its WHERE conditions.
const AuditSelect = "SELECT id, time, actor, on_behalf_of, action, object, details FROM audit WHERE "

// LicenseConds are the SQL of app.LicenseQuery's conditions over a FROM of
// licenses l, products p and companies c. isTrue is the dialect's test of a
// boolean column ("l.auto_renew" or "l.auto_renew = 1"); like is its
// case-insensitive LIKE (ILIKE on PostgreSQL's "C"-collated text, LIKE on
// SQLite, both ignoring ASCII case).
func LicenseConds(isTrue func(col string) string, like string) [app.LicenseConds]string {
	m := func(col string) string { return col + " " + like + " %[1]s ESCAPE '\\'" }
	return [app.LicenseConds]string{
		app.LicenseOfAccount:          "l.account_id = %[1]s",
		app.LicenseOfAccountOrRevoked: "(l.account_id = %[1]s OR l.revoked_account_id = %[1]s)",
		app.LicenseOfCompany:          "l.company_id = %[1]s",
		app.LicenseInPool:             "l.company_id IS NULL",
		app.LicenseOfKind:             "l.kind = %[1]s",
		app.LicenseValid:              "(l.expires_at IS NULL OR l.expires_at > %[1]s)",
		app.LicenseExpired:            "l.expires_at <= %[1]s",
		app.LicenseUsed:               "l.seats_used > 0",
		app.LicenseUnused:             "l.seats_used = 0",
		app.LicenseMaintained:         "l.maintenance_till > %[1]s",
		app.LicenseMaintenanceExpired: "l.maintenance_till <= %[1]s",
		app.LicenseUnmaintained:       "l.maintenance_till IS NULL",
		app.LicenseAutoRenews:         isTrue("l.auto_renew"),
		app.LicenseOfProduct:          "l.product = %[1]s",
		app.LicenseMatches: "(" + strings.Join([]string{m("l.key"), m("l.product"), m("p.name"), m("c.name_folded"), m("l.purchase_id"),
			"(l.seats_used > 0 AND EXISTS (SELECT 1 FROM activations a WHERE a.license_id = l.id AND " + m("a.machine_folded") + "))"}, " OR ") + ")",
	}
}

// ProductUpsert is the tail of a products INSERT that updates a SKU already
// there.
const ProductUpsert = `
		ON CONFLICT (sku) DO UPDATE SET name = excluded.name, term = excluded.term,
			edition = excluded.edition, price_cents = excluded.price_cents,
			monthly_price_cents = excluded.monthly_price_cents, annual_price_cents = excluded.annual_price_cents,
			maintenance_price_cents = excluded.maintenance_price_cents, platforms = excluded.platforms,
			seats = excluded.seats, latest_version = excluded.latest_version, currency = excluded.currency,
			per_license = excluded.per_license`

// SortColumn renders a sort field of the license list over the same FROM;
// "validity" compares with now, which it appends to args.
func SortColumn(field string, now any, args []any, mark func(int) string) (string, []any, error) {
	cols := map[string]string{
		"key":              "l.key",
		"product":          "l.product",
		"kind":             "l.kind",
		"status":           "(l.seats_used = 0)",
		"validity":         "(l.expires_at IS NULL OR l.expires_at > %[1]s)",
		"usage":            "(l.seats_used > 0)",
		"maintenance_till": "l.maintenance_till",
		"allow_rm":         "l.allow_rm",
		"auto_renew":       "l.auto_renew",
		"company":          "c.name_folded",
		"expires_at":       "l.expires_at",
		"created_at":       "l.created_at",
		"purchase_id":      "l.purchase_id",
	}
	expr, ok := cols[field]
	if !ok {
		return "", nil, fmt.Errorf("no sort field %q", field)
	}
	if strings.Contains(expr, "%[1]s") {
		args = append(args, now)
		expr = fmt.Sprintf(expr, mark(len(args)))
	}
	return expr, args, nil
}
