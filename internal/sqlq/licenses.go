package sqlq

import (
	"context"

	"github.com/licensectl/licensectl/internal/app"
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
