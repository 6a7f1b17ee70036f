package licensing

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// Reminder windows: how long before its end a scheduled event falls due.
const (
	MaintenanceExpiringFirst = 30 * 24 * time.Hour
	MaintenanceExpiringLast  = 7 * 24 * time.Hour
	TrialEndingBefore        = 3 * 24 * time.Hour
)

// NotificationSettings are an account's reminder email switches. An account
// that never set them gets every reminder. Turning one off stops its mail;
// the event is still written.
type NotificationSettings struct {
	Account             string     `json:"account"`
	MaintenanceExpiring bool       `json:"maintenance_expiring"`
	TrialEnding         bool       `json:"trial_ending"`
	RenewalFailed       bool       `json:"renewal_failed"`
	UpdatedAt           *time.Time `json:"updated_at"` // nil: never set
}

// DefaultNotifications are the settings of an account that never set any.
func DefaultNotifications(account string) NotificationSettings {
	return NotificationSettings{Account: account, MaintenanceExpiring: true, TrialEnding: true, RenewalFailed: true}
}

// NotificationUpdate changes some switches; nil fields are left alone.
type NotificationUpdate struct {
	MaintenanceExpiring *bool `json:"maintenance_expiring,omitempty"`
	TrialEnding         *bool `json:"trial_ending,omitempty"`
	RenewalFailed       *bool `json:"renewal_failed,omitempty"`
}

// Empty tells whether u changes nothing.
func (u NotificationUpdate) Empty() bool {
	return u.MaintenanceExpiring == nil && u.TrialEnding == nil && u.RenewalFailed == nil
}

// Validate refuses an update that changes nothing.
func (u NotificationUpdate) Validate() error {
	if u.Empty() {
		return Errorf(EINVALID, "nothing to change").
			WithHint("pass --maintenance-expiring, --trial-ending or --renewal-failed (true or false)")
	}
	return nil
}

// Apply returns s with u's changes.
func (u NotificationUpdate) Apply(s NotificationSettings) NotificationSettings {
	if u.MaintenanceExpiring != nil {
		s.MaintenanceExpiring = *u.MaintenanceExpiring
	}
	if u.TrialEnding != nil {
		s.TrialEnding = *u.TrialEnding
	}
	if u.RenewalFailed != nil {
		s.RenewalFailed = *u.RenewalFailed
	}
	return s
}

// Wants tells whether the settings mail reminders of an event type.
func (s NotificationSettings) Wants(eventType string) bool {
	switch eventType {
	case EventMaintenanceExpiring:
		return s.MaintenanceExpiring
	case EventTrialEnding:
		return s.TrialEnding
	case EventSubscriptionRenewalFailed:
		return s.RenewalFailed
	}
	return false
}

// NotificationService reads and sets the acting account's reminder emails.
type NotificationService interface {
	Notifications(ctx context.Context) (*NotificationSettings, error)
	SetNotifications(ctx context.Context, u NotificationUpdate) (*NotificationSettings, error)
}

// MaintenanceExpiringMail reminds an account of its maintenance plans that
// end soon, each with what to run.
func MaintenanceExpiringMail(to string, plans []MaintenancePlan, now time.Time) Mail {
	var b strings.Builder
	subject := "Maintenance of " + plural(len(plans), "license") + " ends soon"
	if len(plans) == 1 && plans[0].LicenseKey != nil && plans[0].EndsAt != nil {
		subject = "Maintenance of " + *plans[0].LicenseKey + " ends on " + plans[0].EndsAt.Format(time.DateOnly)
	}
	b.WriteString("The maintenance (upgrades and support) of these licenses ends soon:\n\n")
	for _, p := range plans {
		key := ""
		if p.LicenseKey != nil {
			key = *p.LicenseKey
		}
		end := ""
		if p.EndsAt != nil {
			end = p.EndsAt.Format(time.DateOnly)
			if days := int(p.EndsAt.Sub(now).Hours() / 24); days >= 0 {
				end += fmt.Sprintf(" (in %s)", plural(days, "day"))
			}
		}
		// Short lines: quoted-printable wraps at 76, and a command split
		// over two lines cannot be copied.
		fmt.Fprintf(&b, "  %s  plan %s\n    %s, maintenance ends %s\n", key, p.ID, p.Product, end)
		if p.AutoRenew {
			fmt.Fprintf(&b, "    renews automatically; to let it end, run:\n      licensectl maintenance set %s --auto-renew=false\n", p.ID)
		} else {
			fmt.Fprintf(&b, "    auto-renew is off; to keep it, run:\n      licensectl maintenance buy %s\n", key)
		}
	}
	b.WriteString("\nTurn these reminders off with:\n  licensectl notifications set --maintenance-expiring=false\n")
	return Mail{To: to, Subject: subject, Body: b.String()}
}

// TrialEndingMail reminds an account of its trials that end soon.
func TrialEndingMail(to string, trials []License, now time.Time) Mail {
	var b strings.Builder
	subject := "Your trial of " + plural(len(trials), "license") + " ends soon"
	if len(trials) == 1 && trials[0].ExpiresAt != nil {
		subject = "Your trial of " + trials[0].Product + " ends on " + trials[0].ExpiresAt.Format(time.DateOnly)
	}
	b.WriteString("These trial licenses end soon:\n\n")
	for _, l := range trials {
		end := ""
		if l.ExpiresAt != nil {
			end = l.ExpiresAt.Format(time.RFC3339)
			if days := int(l.ExpiresAt.Sub(now).Hours() / 24); days >= 0 {
				end += fmt.Sprintf(" (in %s)", plural(days, "day"))
			}
		}
		fmt.Fprintf(&b, "  %s  %s\n    ends %s; to keep using it, buy it:\n      licensectl licenses buy --product %s\n", l.Key, l.Product, end, l.Product)
	}
	b.WriteString("\nTurn these reminders off with:\n  licensectl notifications set --trial-ending=false\n")
	return Mail{To: to, Subject: subject, Body: b.String()}
}
