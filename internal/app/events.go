package app

import (
	"context"
	"encoding/json"
	"time"

	"github.com/licensectl/licensectl/internal/licensing"
)

// EventRow is one event to write, in the transaction of its change.
type EventRow struct {
	AccountID int64
	Type      string
	Object    string
	Time      time.Time
	Data      []byte // the object's JSON
}

// EventTx writes and reads the events outbox.
type EventTx interface {
	InsertEvents(ctx context.Context, rows []EventRow) error
	// ListEvents lists events newest first: acct's, or every account's for
	// acct 0.
	ListEvents(ctx context.Context, acct int64, f licensing.EventFilter) ([]licensing.Event, error)
}

// EventColumns are the columns ScanEvent reads, over events e joined to
// accounts a.
const EventColumns = `e.id, e.type, a.email, e.object, e.created_at, e.data`

// ScanEvent reads a row of EventColumns.
func ScanEvent(sc Scanner) (*licensing.Event, error) {
	var e licensing.Event
	var at int64
	var data string
	if err := sc.Scan(&e.ID, &e.Type, &e.Account, &e.Object, &at, &data); err != nil {
		return nil, err
	}
	e.CreatedAt, e.Data = Unix(at), json.RawMessage(data)
	return &e, nil
}

// emit writes an event about obj (marshalled as the API shows it).
func emit(ctx context.Context, tx Tx, acct int64, at time.Time, typ, object string, obj any) error {
	js, err := json.Marshal(obj)
	if err != nil {
		return err
	}
	return tx.InsertEvents(ctx, []EventRow{{AccountID: acct, Type: typ, Object: object, Time: at, Data: js}})
}

// ListEvents implements licensing.EventService: the acting account's
// events, or, for an operator with the lookup scope acting for no account
// (or the store host without one), every account's.
func (a *App) ListEvents(ctx context.Context, f licensing.EventFilter) ([]licensing.Event, error) {
	if err := f.Normalize(); err != nil {
		return nil, err
	}
	return read(ctx, a, func(tx Tx, _ time.Time) ([]licensing.Event, error) {
		if licensing.AccountFrom(ctx) == "" {
			// No account: the store host, or an operator (an account's
			// token always acts for its account).
			if err := licensing.Authorize(ctx, licensing.ScopeLookup); err != nil {
				return nil, err
			}
			return tx.ListEvents(ctx, 0, f)
		}
		acct, err := actingAccount(ctx, tx)
		if err != nil {
			return nil, err
		}
		return tx.ListEvents(ctx, acct.id, f)
	})
}
