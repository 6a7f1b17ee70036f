package licensing

import (
	"fmt"
	"time"
)

// ValidationLookup is what the validation rules need of a store, inside the
// store's own transaction.
type ValidationLookup struct {
	// ActivationOf returns the license's activation on this fingerprint, or nil.
	ActivationOf func(fingerprint string) (*Activation, error)
	// Seen records that the machine of a was just seen.
	Seen func(a *Activation) error
	// Builds lists the builds of a product, on every platform.
	Builds func(product string) ([]Build, error)
	// PastDueUntil is the end of the grace period of a subscription whose
	// renewal charge failed; nil for none.
	PastDueUntil *time.Time
}

// Decide answers v (its Fingerprint and Version already set) for license l as
// of now: the reason code and a message. Every store applies the same rules
// through this one function.
func (v *Validation) Decide(l *License, suspended bool, now time.Time, look ValidationLookup) error {
	v.Product, v.Seats, v.SeatsUsed = l.Product, l.Seats, l.SeatsUsed
	v.ExpiresAt, v.MaintenanceTill = l.ExpiresAt, l.MaintenanceTill
	set := func(code, format string, args ...any) error {
		v.Code, v.Message = code, fmt.Sprintf(format, args...)
		return nil
	}
	graced := look.PastDueUntil != nil && now.Before(*look.PastDueUntil) && l.ExpiresAt != nil && !l.ExpiresAt.After(now)
	if graced {
		v.Warning = fmt.Sprintf("past due: the renewal payment failed; license %s expires on %s unless it is paid (licensectl billing setup)",
			l.Key, look.PastDueUntil.Format(time.RFC3339))
	}
	switch {
	case suspended:
		return set(ValidSuspended, "license %s is suspended", l.Key)
	case !graced && l.ExpiresAt != nil && !l.ExpiresAt.After(now):
		return set(ValidExpired, "license %s expired at %s", l.Key, l.ExpiresAt.Format(time.RFC3339))
	case l.SeatsUsed > l.Seats:
		return set(ValidTooManyMachines, "license %s has %s for %s", l.Key, plural(l.SeatsUsed, "machine"), plural(l.Seats, "seat"))
	}
	if v.Fingerprint != "" {
		a, err := look.ActivationOf(v.Fingerprint)
		switch {
		case err != nil:
			return err
		case a == nil && l.SeatsUsed == 0:
			return set(ValidNoMachine, "license %s is not activated on any machine", l.Key)
		case a == nil && l.SeatsUsed >= l.Seats:
			return set(ValidTooManyMachines, "license %s is not activated on this machine and %s", l.Key, seatsTaken(l.Seats))
		case a == nil:
			return set(ValidFingerprintMismatch, "license %s is not activated on this machine (fingerprint %s)", l.Key, v.Fingerprint)
		case a.LeaseExpired(now):
			// Its seat is free for the next machine; this one holds none.
			return set(ValidNoMachine, "the lease of license %s on this machine expired at %s", l.Key, a.LeaseExpiresAt.Format(time.RFC3339))
		}
		if err := look.Seen(a); err != nil {
			return err
		}
		if v.Version == "" {
			v.Version = a.Version
		}
	}
	if v.Version != "" {
		cutoff := UpgradeCutoff(l, now)
		if cutoff == nil {
			return set(ValidValid, "license %s is valid", l.Key)
		}
		builds, err := look.Builds(l.Product)
		if err != nil {
			return err
		}
		if max := MaxEntitledVersion(*cutoff, builds); max != "" && CompareVersions(v.Version, max) > 0 {
			return set(ValidMaintenanceExpired, "license %s is valid, but its upgrades ended %s: version %s is newer than %s, the last it may use",
				l.Key, cutoff.Format("2006-01-02"), v.Version, max)
		}
	}
	return set(ValidValid, "license %s is valid", l.Key)
}

// MaxEntitledVersion is the newest version among builds released by cutoff;
// "0.0" when builds exist but none was released by then (no version is
// covered), "" when there are no builds to tell.
func MaxEntitledVersion(cutoff time.Time, builds []Build) string {
	max := ""
	for _, b := range builds {
		if !b.ReleasedAt.After(cutoff) && (max == "" || CompareVersions(b.Version, max) > 0) {
			max = b.Version
		}
	}
	if max == "" && len(builds) > 0 {
		max = "0.0"
	}
	return max
}

// plural is "1 seat", "2 seats".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// seatsTaken says that every seat of a license is taken by other machines:
// "its 1 seat is taken by another machine", "all 3 seats are taken by others".
func seatsTaken(seats int) string {
	if seats == 1 {
		return "its 1 seat is taken by another machine"
	}
	return fmt.Sprintf("all %d seats are taken by others", seats)
}
