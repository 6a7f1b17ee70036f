package licensing

import (
	"context"
	"encoding/json"
	"strings"
	"time"
)

// Event types (EventTypes lists them all).
const (
	EventLicenseCreated            = "license.created"
	EventLicenseUpdated            = "license.updated"
	EventLicenseRevoked            = "license.revoked"
	EventPurchaseCreated           = "purchase.created"
	EventPurchaseRefunded          = "purchase.refunded"
	EventMaintenanceAssigned       = "maintenance.assigned"
	EventSubscriptionRenewed       = "subscription.renewed"
	EventSubscriptionRenewalFailed = "subscription.renewal_failed"
	EventActivationCreated         = "activation.created"
	EventActivationReleased        = "activation.released"
	EventActivationLeaseExpired    = "activation.lease_expired"
	EventAttachRequested           = "attach.requested"
	EventAttachCompleted           = "attach.completed"
	EventMaintenanceExpiring       = "maintenance.expiring"
	EventMaintenanceExpired        = "maintenance.expired"
	EventTrialEnding               = "trial.ending"
)

// Event is one change, as `events list` shows it: its object's JSON as the
// API shows that object.
type Event struct {
	ID        int64           `json:"id"`
	Type      string          `json:"type"`
	Account   string          `json:"account"`
	Object    string          `json:"object"`
	CreatedAt time.Time       `json:"created_at"`
	Data      json.RawMessage `json:"data"`
}

// EventFilter selects events.
type EventFilter struct {
	Type  string     // a type, or a prefix ending in a dot ("license.")
	Since *time.Time // at or after
	Limit int        // 0: 100
}

// Normalize checks f.
func (f *EventFilter) Normalize() error {
	f.Type = strings.ToLower(strings.TrimSpace(f.Type))
	if len(f.Type) > 64 || strings.ContainsFunc(f.Type, func(r rune) bool { return !(r == '.' || r == '_' || r >= 'a' && r <= 'z') }) {
		return Errorf(EINVALID, "invalid event type %q", clip(f.Type)).WithHint("types look like license.revoked, or license. for every license event")
	}
	switch {
	case f.Limit < 0:
		return Errorf(EINVALID, "--limit must not be negative")
	case f.Limit == 0:
		f.Limit = 100
	}
	return nil
}

// EventService reads the events of the acting account (operators without
// an account: every account's).
type EventService interface {
	ListEvents(ctx context.Context, f EventFilter) ([]Event, error)
}
