package sqlq

import (
	"context"

	"github.com/licensectl/licensectl/internal/app"
	"github.com/licensectl/licensectl/internal/licensing"
)

// UpdateLicense implements app.LicenseTx.
func (t Tx) UpdateLicense(ctx context.Context, id int64, c app.LicenseChange) error {
	set, vals := c.Set(mark)
	if set == "" {
		return nil
	}
	_, err := t.exec(ctx, "UPDATE licenses SET "+set+" WHERE id = "+mark(len(vals)+1), append(vals, id)...)
	return err
}

// LicenseState implements app.LicenseTx; ForUpdate takes the license's row
// lock.
func (t Tx) LicenseState(ctx context.Context, acct int64, key string, lock app.Lock) (*app.LicenseState, error) {
	query := `SELECT l.id, l.kind, l.term, l.allow_rm, l.auto_renew, l.suspended, coalesce(l.company_id, 0), coalesce(c.name, '')
		FROM licenses l LEFT JOIN companies c ON c.id = l.company_id WHERE l.account_id = $1 AND l.key = $2`
	query += t.lock(lock, " FOR UPDATE OF l")
	return one(t, t.queryRow(ctx, query, acct, key), app.ScanLicenseState)
}

// ListLicenses implements app.LicenseTx: the dialect renders the query (each
// store has its own index tricks) and scans its rows.
func (t Tx) ListLicenses(ctx context.Context, q *app.LicenseQuery, fn func(*licensing.License) error) error {
	query, args, err := t.d.ListSQL(q)
	if err != nil {
		return err
	}
	rows, err := t.query(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	scan := t.d.LicenseScanner()
	for rows.Next() {
		l, err := scan(rows)
		if err != nil {
			return err
		}
		if err := fn(l); err != nil {
			return err
		}
	}
	return rows.Err()
}

// LicenseDetail implements app.LicenseTx.
func (t Tx) LicenseDetail(ctx context.Context, acct int64, key string) (*licensing.LicenseDetail, error) {
	var (
		platforms string
		purchased int64
		d         licensing.LicenseDetail
	)
	l, err := t.d.LicenseScanner()(t.queryRow(ctx, `SELECT `+t.d.LicenseColumns+`, pu.created_at, p.latest_version, p.platforms`+
		LicenseFrom+` JOIN purchases pu ON pu.id = l.purchase_id WHERE l.account_id = $1 AND l.key = $2`, acct, key),
		&purchased, &d.LatestVersion, &platforms)
	if err != nil {
		if t.c.NoRows(err) {
			return nil, nil
		}
		return nil, err
	}
	d.License = *l
	d.PurchasedAt = app.Unix(purchased)
	d.Platforms = app.SplitList(platforms)
	return &d, nil
}

// LicenseByID implements app.LicenseTx.
func (t Tx) LicenseByID(ctx context.Context, id int64) (*licensing.License, error) {
	return t.d.LicenseScanner()(t.queryRow(ctx, "SELECT "+t.d.LicenseColumns+LicenseFrom+" WHERE l.id = $1", id))
}

// LicenseFrom joins a license's product and company.
const LicenseFrom = ` FROM licenses l JOIN products p ON p.sku = l.product LEFT JOIN companies c ON c.id = l.company_id`

// GroupLicenses implements app.LicenseTx.
func (t Tx) GroupLicenses(ctx context.Context, q *app.LicenseQuery) ([]licensing.LicenseGroup, error) {
	where, args := app.RenderWhere(t.d.LicenseConds, q.Where, []any{q.Now}, mark)
	rows, err := t.query(ctx, `SELECT l.product, p.name, count(*),
			count(*) FILTER (WHERE l.expires_at IS NULL OR l.expires_at > $1),
			count(*) FILTER (WHERE l.seats_used > 0),
			count(*) FILTER (WHERE l.kind = 'trial')`+LicenseFrom+` WHERE `+where+`
		GROUP BY l.product, p.name, p.term
		ORDER BY CASE p.term WHEN 'perpetual' THEN 0 WHEN 'subscription' THEN 1 ELSE 2 END, l.product`, args...)
	return all(rows, err, func(sc app.Scanner) (*licensing.LicenseGroup, error) {
		var g licensing.LicenseGroup
		return &g, sc.Scan(&g.Product, &g.ProductName, &g.Total, &g.Valid, &g.Used, &g.Trial)
	})
}
