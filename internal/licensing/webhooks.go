package licensing

import (
	"context"
	"net/url"
	"slices"
	"strings"
	"time"
)

// ScopeWebhooks lets an account's token manage the account's webhooks.
const ScopeWebhooks Scope = "webhooks" // create, list, delete and test webhooks; read and redeliver their deliveries

// EventTypes are every event type the outbox records, in docs order.
func EventTypes() []string {
	return []string{EventLicenseCreated, EventLicenseUpdated, EventLicenseRevoked, EventPurchaseCreated, EventPurchaseRefunded,
		EventMaintenanceAssigned, EventMaintenanceExpiring, EventMaintenanceExpired, EventSubscriptionRenewed,
		EventSubscriptionRenewalFailed, EventTrialEnding, EventActivationCreated, EventActivationReleased,
		EventActivationLeaseExpired, EventAttachRequested, EventAttachCompleted}
}

// Webhook delivery states.
const (
	DeliveryPending   = "pending"
	DeliveryDelivered = "delivered"
	DeliveryFailed    = "failed"
)

// Webhook is an endpoint the account's events are delivered to.
type Webhook struct {
	ID          int64     `json:"id"`
	Account     string    `json:"account"`
	URL         string    `json:"url"`
	Events      []string  `json:"events"`
	Description string    `json:"description,omitempty"`
	CreatedAt   time.Time `json:"created_at"`
	// Disabled is set when the endpoint failed for the retry period (or an
	// operator turned it off); `webhooks enable` turns it back on.
	Disabled       bool       `json:"disabled"`
	DisabledAt     *time.Time `json:"disabled_at,omitempty"`
	DisabledReason string     `json:"disabled_reason,omitempty"`
	// Secret is the signing secret (whsec_...): in the answer to create
	// only, never again.
	Secret string `json:"secret,omitempty"`
}

// Matches says whether the endpoint wants events of type typ.
func (w *Webhook) Matches(typ string) bool { return MatchEventTypes(w.Events, typ) }

// MatchEventTypes says whether a webhook's event list (types, prefixes
// ending in a dot, or "*") selects typ.
func MatchEventTypes(list []string, typ string) bool {
	for _, e := range list {
		if e == "*" || e == typ || strings.HasSuffix(e, ".") && strings.HasPrefix(typ, e) {
			return true
		}
	}
	return false
}

// WebhookCreate is what `webhooks create` asks for.
type WebhookCreate struct {
	URL         string   `json:"url"`
	Events      []string `json:"events"`
	Description string   `json:"description,omitempty"`
}

// maxWebhookURL bounds an endpoint's URL.
const maxWebhookURL = 2048

// Normalize checks w: an http(s) URL without credentials, and event types
// (or prefixes, or "*") that exist.
func (w *WebhookCreate) Normalize() error {
	w.URL = strings.TrimSpace(w.URL)
	u, err := url.Parse(w.URL)
	switch {
	case w.URL == "":
		return Errorf(EINVALID, "a webhook needs a URL")
	case len(w.URL) > maxWebhookURL:
		return Errorf(EINVALID, "the webhook URL is longer than %d characters", maxWebhookURL)
	case err != nil || u.Host == "" || u.Hostname() == "":
		return Errorf(EINVALID, "invalid webhook URL %q", clip(w.URL)).WithHint("use an absolute URL such as https://example.com/hooks/licensectl")
	case u.Scheme != "https" && u.Scheme != "http":
		return Errorf(EINVALID, "a webhook URL must be http or https, not %q", clip(u.Scheme))
	case u.User != nil:
		return Errorf(EINVALID, "a webhook URL must not carry credentials").WithHint("receivers verify the webhook-signature header instead")
	case u.Fragment != "":
		return Errorf(EINVALID, "a webhook URL must not have a fragment (#...)")
	}
	w.Description = strings.TrimSpace(w.Description)
	if len(w.Description) > 200 {
		return Errorf(EINVALID, "the description is longer than 200 characters")
	}
	var events []string
	for _, e := range w.Events {
		for part := range strings.SplitSeq(e, ",") {
			part = strings.ToLower(strings.TrimSpace(part))
			if part == "" {
				continue
			}
			if !knownEventSelector(part) {
				return Errorf(EINVALID, "unknown event type %q", clip(part)).
					WithHint("use types such as license.revoked, a prefix such as license., or '*' for all (see `licensectl events types`)")
			}
			if !slices.Contains(events, part) {
				events = append(events, part)
			}
		}
	}
	switch {
	case len(events) == 0:
		return Errorf(EINVALID, "a webhook needs --events").WithHint("name types (license.revoked,purchase.created), prefixes (license.) or '*'")
	case slices.Contains(events, "*"):
		events = []string{"*"}
	}
	w.Events = events
	return nil
}

// knownEventSelector says whether s is "*", an event type or the prefix of
// one ("license.").
func knownEventSelector(s string) bool {
	if s == "*" {
		return true
	}
	for _, t := range EventTypes() {
		if t == s || strings.HasSuffix(s, ".") && strings.HasPrefix(t, s) {
			return true
		}
	}
	return false
}

// WebhookDelivery is one event's delivery to one endpoint.
type WebhookDelivery struct {
	ID      int64  `json:"id"`
	Webhook int64  `json:"webhook"`
	Event   int64  `json:"event"`
	Type    string `json:"type"`
	Object  string `json:"object"`
	Status  string `json:"status"` // pending, delivered or failed
	// Attempts so far; LastCode is the HTTP status of the last (0: no
	// answer, see LastError), LatencyMS its time.
	Attempts      int        `json:"attempts"`
	LastCode      int        `json:"last_code,omitempty"`
	LastError     string     `json:"last_error,omitempty"`
	LatencyMS     int64      `json:"latency_ms,omitempty"`
	NextAttemptAt *time.Time `json:"next_attempt_at,omitempty"`
	CreatedAt     time.Time  `json:"created_at"`
	FinishedAt    *time.Time `json:"finished_at,omitempty"`
}

// DeliveryFilter selects deliveries.
type DeliveryFilter struct {
	ID      int64 // one delivery (0: any)
	Webhook int64 // 0: every endpoint of the account
	Failed  bool  // only failed ones, and pending ones that failed at least once
	Limit   int   // 0: 100
}

// Normalize checks f.
func (f *DeliveryFilter) Normalize() error {
	switch {
	case f.Webhook < 0:
		return Errorf(EINVALID, "invalid webhook id %d", f.Webhook)
	case f.Limit < 0:
		return Errorf(EINVALID, "--limit must not be negative")
	case f.Limit == 0:
		f.Limit = 100
	}
	return nil
}

// WebhookTest is how a test delivery went.
type WebhookTest struct {
	Webhook   int64  `json:"webhook"`
	URL       string `json:"url"`
	MessageID string `json:"message_id"`
	OK        bool   `json:"ok"`
	Code      int    `json:"code,omitempty"`
	LatencyMS int64  `json:"latency_ms"`
	Error     string `json:"error,omitempty"`
}

// DispatchRun is what one run of the dispatcher did.
type DispatchRun struct {
	Queued    int `json:"queued"`    // deliveries made from new events
	Delivered int `json:"delivered"` // answered 2xx
	Failed    int `json:"failed"`    // attempts that failed (retried later, or given up)
	GaveUp    int `json:"gave_up"`   // deliveries given up after the retry period
	Pending   int `json:"pending"`   // deliveries still waiting (a retry not yet due)
}

// WebhookService manages the acting account's webhooks.
type WebhookService interface {
	CreateWebhook(ctx context.Context, req WebhookCreate) (*Webhook, error)
	ListWebhooks(ctx context.Context) ([]Webhook, error)
	DeleteWebhook(ctx context.Context, id int64) error
	// EnableWebhook turns a disabled endpoint back on: deliveries waiting
	// for it resume; failed ones stay failed until redelivered.
	EnableWebhook(ctx context.Context, id int64) (*Webhook, error)
	ListDeliveries(ctx context.Context, f DeliveryFilter) ([]WebhookDelivery, error)
	// Redeliver queues a delivery again, due now.
	Redeliver(ctx context.Context, id int64) (*WebhookDelivery, error)
	// TestWebhook sends a signed webhook.test message to the endpoint now
	// and says how it answered (no event is recorded).
	TestWebhook(ctx context.Context, id int64) (*WebhookTest, error)
}
