package licensing

import (
	"strings"
	"unicode"
)

// Enum is a fixed set of values: what a flag, a query parameter, a CSV
// column or a catalog field takes. Every such value is read with Parse, so
// they all behave alike: case does not matter, nor do spaces or hyphens in
// place of underscores ("Trial", "NOT ACTIVATED", "not-activated"), and
// filters accept "all" (no filter), as the vendor's portal offers All.
type Enum struct {
	Name   string   // what the value is, for errors: "kind", "output format"
	Values []string // the canonical tokens, in the order errors list them
	All    bool     // "all" is accepted and means no filter: Parse answers ""
}

// Parse returns the canonical token s names, "" for an empty s (and for
// "all" where All is allowed), or an invalid-input error that lists the
// accepted values.
func (e Enum) Parse(s string) (string, error) {
	k := EnumKey(s)
	if k == "" || (e.All && k == "all") {
		return "", nil
	}
	for _, v := range e.Values {
		if EnumKey(v) == k {
			return v, nil
		}
	}
	return "", Errorf(EINVALID, "invalid %s %q: want %s", e.Name, clip(strings.TrimSpace(s)), e.Want())
}

// Want lists the accepted values for messages: "valid, expired or all".
func (e Enum) Want() string {
	vs := append([]string(nil), e.Values...)
	if e.All {
		vs = append(vs, "all")
	}
	return OrList(vs)
}

// OrList joins values as "a, b or c".
func OrList(vs []string) string {
	switch len(vs) {
	case 0:
		return ""
	case 1:
		return vs[0]
	}
	return strings.Join(vs[:len(vs)-1], ", ") + " or " + vs[len(vs)-1]
}

// EnumKey is the form values are compared in: trimmed, lower case, with
// spaces and hyphens read as underscores.
func EnumKey(s string) string {
	return strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' {
			return '_'
		}
		return unicode.ToLower(r)
	}, strings.TrimSpace(s))
}

// The enumerations of the domain. Filters (All) take "all" for no filter.

// KindFilter is commercial or trial.
func KindFilter() Enum { return Enum{"kind", []string{KindCommercial, KindTrial}, true} }

// ValidityFilter is valid or expired.
func ValidityFilter() Enum { return Enum{"validity", []string{ValidityValid, ValidityExpired}, true} }

// UsageFilter is used or unused.
func UsageFilter() Enum { return Enum{"usage", []string{UsageUsed, UsageUnused}, true} }

// StatusFilter is activated or not_activated.
func StatusFilter() Enum {
	return Enum{"status", []string{StatusActivated, StatusNotActivated}, true}
}

// MaintenanceStateFilter is active, expired or none.
func MaintenanceStateFilter() Enum {
	return Enum{"maintenance", []string{MaintenanceActive, MaintenanceExpired, MaintenanceNone}, true}
}

// BillingEnum is a subscription's payment mode.
func BillingEnum() Enum { return Enum{"billing", []string{BillingMonthly, BillingAnnual}, false} }

// OSEnum is a platform a product runs on.
func OSEnum() Enum { return Enum{"os", []string{OSWindows, OSMacOS, OSLinux}, false} }

// TermEnum is a catalog entry's term.
func TermEnum() Enum {
	return Enum{"term", []string{TermPerpetual, TermSubscription, TermAddon}, false}
}

// SortFieldEnum is an attribute licenses sort by.
func SortFieldEnum() Enum { return Enum{"sort field", LicenseSortFields(), false} }
