package licensing

import (
	"strings"
	"testing"
	"time"
)

func TestCheckAssign(t *testing.T) {
	now := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	past, future := now.AddDate(0, -1, 0), now.AddDate(0, 1, 0)
	lic := func(kind, sku string, till *time.Time) *License {
		return &License{Key: "K1", Product: sku, Kind: kind, MaintenanceTill: till}
	}
	for _, c := range []struct {
		name, product, assignedTo string
		l                         *License
		code, msg                 string // code "" = allowed
	}{
		{"available plan, uncovered license", "ult", "", lic(KindCommercial, "ult", nil), "", ""},
		{"maintenance ended", "ult", "", lic(KindCommercial, "ult", &past), "", ""},
		{"already on this license", "ult", "K1", lic(KindCommercial, "ult", nil), ECONFLICT, "already assigned to license K1"},
		{"on another license", "ult", "K9", lic(KindCommercial, "ult", nil), ECONFLICT, "already assigned to license K9"},
		{"other product", "srv", "", lic(KindCommercial, "ult", nil), ECONFLICT, "is for srv, but license K1 is ult"},
		{"trial", "ult", "", lic(KindTrial, "ult", nil), EINVALID, "trials have no maintenance"},
		{"covered", "ult", "", lic(KindCommercial, "ult", &future), ECONFLICT, "already covered by maintenance till"},
	} {
		err := CheckAssign("M-1", c.product, c.assignedTo, c.l, now)
		switch {
		case c.code == "" && err != nil:
			t.Errorf("%s: refused: %v", c.name, err)
		case c.code != "" && (ErrorCode(err) != c.code || !strings.Contains(ErrorMessage(err), c.msg)):
			t.Errorf("%s: %v (%s), want %s %q", c.name, err, ErrorCode(err), c.code, c.msg)
		}
	}
}
