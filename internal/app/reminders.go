package app

import (
	"context"
	"encoding/json"
	"time"

	"github.com/licensectl/licensectl/internal/licensing"
)

var _ licensing.NotificationService = (*App)(nil)

// NoticeRow records one scheduled event the renewals engine wrote: its type,
// object and due date are the notices table's key, so no run writes it twice.
type NoticeRow struct {
	Type      string
	Object    string
	DueAt     time.Time
	AccountID int64
	CreatedAt time.Time
}

// ExpiringPlan is an assigned plan whose maintenance.expiring notice fell due.
type ExpiringPlan struct {
	Plan      licensing.MaintenancePlan
	AccountID int64
	Account   string
}

// EndingTrial is a trial license whose trial.ending notice fell due.
type EndingTrial struct {
	License   licensing.License
	AccountID int64
	Account   string
}

// NoticeTx is what the scheduled events and the reminder settings need of a
// transaction.
type NoticeTx interface {
	// ExpiringPlans lists the assigned plans of owned, unrevoked licenses
	// that end after asOf and at or before asOf+before, that no later plan
	// of their license follows, and that have no notices row
	// (maintenance.expiring, plan id, end - before): of acct's licenses (0:
	// every account's), by end then id.
	ExpiringPlans(ctx context.Context, acct int64, asOf time.Time, before time.Duration) ([]ExpiringPlan, error)
	// EndingTrials lists the owned, unrevoked trial licenses that expire
	// after asOf and at or before asOf+before with no notices row
	// (trial.ending, key, expiry - before), by expiry then id.
	EndingTrials(ctx context.Context, acct int64, asOf time.Time, before time.Duration) ([]EndingTrial, error)
	// InsertNotices records scheduled events written, in bulk; a row whose
	// key exists fails (a concurrent run wrote it: the store reruns).
	InsertNotices(ctx context.Context, rows []NoticeRow) error
	// NotificationSettings returns the account's reminder switches, or nil
	// when it never set them.
	NotificationSettings(ctx context.Context, acct int64) (*licensing.NotificationSettings, error)
	// SetNotificationSettings stores them (its UpdatedAt is set).
	SetNotificationSettings(ctx context.Context, acct int64, s licensing.NotificationSettings) error
}

// ScanExpiringPlan reads a row of PlanColumns, the account id and email.
func ScanExpiringPlan(sc Scanner) (*ExpiringPlan, error) {
	var r ExpiringPlan
	m, err := ScanPlan(scanRest{scanRest{sc, &r.Account}, &r.AccountID})
	if err != nil {
		return nil, err
	}
	r.Plan = *m
	return &r, nil
}

// ScanNotificationSettings reads a row of columns maintenance_expiring,
// trial_ending, renewal_failed, updated_at.
func ScanNotificationSettings(sc Scanner) (*licensing.NotificationSettings, error) {
	var s licensing.NotificationSettings
	var at int64
	if err := sc.Scan(&s.MaintenanceExpiring, &s.TrialEnding, &s.RenewalFailed, &at); err != nil {
		return nil, err
	}
	t := Unix(at)
	s.UpdatedAt = &t
	return &s, nil
}

// reminders are the mails a renewals run leaves to send once it committed.
type reminders struct {
	mails []licensing.Mail
	// settings are the accounts' switches as the run read them, by id.
	settings map[int64]licensing.NotificationSettings
}

// settingsOf returns (and remembers) an account's reminder switches.
func (r *reminders) settingsOf(ctx context.Context, tx Tx, acct int64, email string) (licensing.NotificationSettings, error) {
	if s, ok := r.settings[acct]; ok {
		return s, nil
	}
	stored, err := tx.NotificationSettings(ctx, acct)
	if err != nil {
		return licensing.NotificationSettings{}, err
	}
	s := licensing.DefaultNotifications(email)
	if stored != nil {
		s = *stored
		s.Account = email
	}
	if r.settings == nil {
		r.settings = map[int64]licensing.NotificationSettings{}
	}
	r.settings[acct] = s
	return s, nil
}

// wants tells whether the account gets reminder mails of an event type.
func (r *reminders) wants(ctx context.Context, tx Tx, acct int64, email, eventType string) (bool, error) {
	s, err := r.settingsOf(ctx, tx, acct, email)
	return s.Wants(eventType), err
}

// writeNotices writes the scheduled events due at asOf that no run wrote
// yet - maintenance.expiring 30 and 7 days before a plan ends, trial.ending
// 3 days before a trial expires - with their notices rows, and composes the
// reminder mails of the accounts that want them. A run that catches up after
// a gap writes each due event once (a plan whose two windows both passed
// gets both); one whose object ended meanwhile writes none (the end is the
// event then).
func (r *reminders) writeNotices(ctx context.Context, tx Tx, scope int64, asOf, now time.Time) error {
	var notices []NoticeRow
	var events []EventRow
	plansOf := map[int64][]licensing.MaintenancePlan{}
	trialsOf := map[int64][]licensing.License{}
	emails := map[int64]string{}
	var order []int64 // accounts in the order they first came up
	seen := func(acct int64, email string) {
		if _, ok := emails[acct]; !ok {
			emails[acct] = email
			order = append(order, acct)
		}
	}
	seenPlan := map[string]bool{}
	for _, before := range []time.Duration{licensing.MaintenanceExpiringFirst, licensing.MaintenanceExpiringLast} {
		due, err := tx.ExpiringPlans(ctx, scope, asOf, before)
		if err != nil {
			return err
		}
		for _, p := range due {
			p.Plan.Derive(now)
			js, err := json.Marshal(&p.Plan)
			if err != nil {
				return err
			}
			notices = append(notices, NoticeRow{Type: licensing.EventMaintenanceExpiring, Object: p.Plan.ID,
				DueAt: p.Plan.EndsAt.Add(-before), AccountID: p.AccountID, CreatedAt: now})
			events = append(events, EventRow{AccountID: p.AccountID, Type: licensing.EventMaintenanceExpiring,
				Object: p.Plan.ID, Time: now, Data: js})
			seen(p.AccountID, p.Account)
			if !seenPlan[p.Plan.ID] {
				seenPlan[p.Plan.ID] = true
				plansOf[p.AccountID] = append(plansOf[p.AccountID], p.Plan)
			}
		}
	}
	trials, err := tx.EndingTrials(ctx, scope, asOf, licensing.TrialEndingBefore)
	if err != nil {
		return err
	}
	for _, t := range trials {
		js, err := json.Marshal(&t.License)
		if err != nil {
			return err
		}
		notices = append(notices, NoticeRow{Type: licensing.EventTrialEnding, Object: t.License.Key,
			DueAt: t.License.ExpiresAt.Add(-licensing.TrialEndingBefore), AccountID: t.AccountID, CreatedAt: now})
		events = append(events, EventRow{AccountID: t.AccountID, Type: licensing.EventTrialEnding,
			Object: t.License.Key, Time: now, Data: js})
		seen(t.AccountID, t.Account)
		trialsOf[t.AccountID] = append(trialsOf[t.AccountID], t.License)
	}
	if len(notices) == 0 {
		return nil
	}
	if err := tx.InsertNotices(ctx, notices); err != nil {
		return err
	}
	if err := tx.InsertEvents(ctx, events); err != nil {
		return err
	}
	for _, acct := range order {
		email := emails[acct]
		if plans := plansOf[acct]; len(plans) > 0 {
			if ok, err := r.wants(ctx, tx, acct, email, licensing.EventMaintenanceExpiring); err != nil {
				return err
			} else if ok {
				r.mails = append(r.mails, licensing.MaintenanceExpiringMail(email, plans, now))
			}
		}
		if ts := trialsOf[acct]; len(ts) > 0 {
			if ok, err := r.wants(ctx, tx, acct, email, licensing.EventTrialEnding); err != nil {
				return err
			} else if ok {
				r.mails = append(r.mails, licensing.TrialEndingMail(email, ts, now))
			}
		}
	}
	return nil
}

// send mails the reminders (after the run committed). A mail that fails is
// not retried: the events stay, and say what fell due.
func (r *reminders) send(ctx context.Context, m licensing.Mailer) {
	if m == nil {
		return
	}
	for _, msg := range r.mails {
		_ = m.Send(ctx, msg)
	}
}

// Notifications implements licensing.NotificationService: the acting
// account's reminder switches (every one on until set).
func (a *App) Notifications(ctx context.Context) (*licensing.NotificationSettings, error) {
	return read(ctx, a, func(tx Tx, _ time.Time) (*licensing.NotificationSettings, error) {
		acct, err := actingAccount(ctx, tx)
		if err != nil {
			return nil, err
		}
		var r reminders
		s, err := r.settingsOf(ctx, tx, acct.id, acct.email)
		return &s, err
	})
}

// SetNotifications implements licensing.NotificationService: it changes the
// switches u names, with an audit event.
func (a *App) SetNotifications(ctx context.Context, u licensing.NotificationUpdate) (*licensing.NotificationSettings, error) {
	if err := u.Validate(); err != nil {
		return nil, err
	}
	return write(ctx, a, func(tx Tx, now time.Time) (*licensing.NotificationSettings, error) {
		acct, err := actingAccount(ctx, tx)
		if err != nil {
			return nil, err
		}
		var r reminders
		s, err := r.settingsOf(ctx, tx, acct.id, acct.email)
		if err != nil {
			return nil, err
		}
		s = u.Apply(s)
		s.UpdatedAt = &now
		if err := tx.SetNotificationSettings(ctx, acct.id, s); err != nil {
			return nil, err
		}
		return &s, audit(ctx, tx, acct.id, now, acct.email, "notifications.set", acct.email, u)
	})
}
