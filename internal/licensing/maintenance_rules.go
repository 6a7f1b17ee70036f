package licensing

import "time"

// TrialHasNoMaintenance is the one answer to a plan for a trial, whether
// bought for it or assigned to it: a request that can never succeed, so
// invalid (exit 2), not a conflict.
func TrialHasNoMaintenance(key, sku string) error {
	return Errorf(EINVALID, "license %s is a trial: trials have no maintenance", key).
		WithHint("buy the product with `licensectl licenses buy --product %s`, then its maintenance", sku)
}

// CheckAssign answers why maintenance plan id, of product and assigned to
// the license assignedTo ("" while available), cannot go to license l, if
// it cannot: a plan is assigned once, to a commercial license of its own
// product that no running plan covers.
func CheckAssign(id, product, assignedTo string, l *License, now time.Time) error {
	key, sku := l.Key, l.Product
	switch {
	case assignedTo != "" && assignedTo == key:
		return Errorf(ECONFLICT, "maintenance plan %s is already assigned to license %s", id, key)
	case assignedTo != "":
		return Errorf(ECONFLICT, "maintenance plan %s is already assigned to license %s", id, assignedTo).
			WithHint("a plan is assigned once; see `licensectl maintenance list --available` for unassigned plans")
	case product != sku:
		return Errorf(ECONFLICT, "maintenance plan %s is for %s, but license %s is %s", id, product, key, sku).
			WithHint("a plan covers licenses of its own product only")
	case l.Kind == KindTrial:
		return TrialHasNoMaintenance(key, sku)
	case l.MaintenanceTill != nil && l.MaintenanceTill.After(now):
		return Errorf(ECONFLICT, "license %s is already covered by maintenance till %s", key,
			l.MaintenanceTill.Format(time.RFC3339)).
			WithHint("to add a year after the current plan, use `licensectl maintenance buy %s`", key)
	}
	return nil
}
