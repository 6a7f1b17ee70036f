package sqlq

import (
	"context"
	"encoding/json"
	"strings"
	"time"

	"github.com/licensectl/licensectl/internal/app"
	"github.com/licensectl/licensectl/internal/licensing"
)

const webhookColumns = `w.id, w.account_id, a.email, w.url, w.events, w.description, w.secret, w.created_at, w.cursor,
	w.disabled_at, w.disabled_reason`

func scanWebhook(sc app.Scanner) (*app.WebhookRow, error) {
	var w app.WebhookRow
	var created int64
	var disabled *int64
	if err := sc.Scan(&w.ID, &w.AccountID, &w.Account, &w.URL, &w.Events, &w.Description, &w.Secret, &created, &w.Cursor,
		&disabled, &w.DisabledReason); err != nil {
		return nil, err
	}
	w.CreatedAt, w.DisabledAt = app.Unix(created), app.UnixOrNil(disabled)
	return &w, nil
}

// InsertWebhook implements app.WebhookTx.
func (t Tx) InsertWebhook(ctx context.Context, r app.WebhookRow) (int64, error) {
	var id int64
	err := t.queryRow(ctx, `INSERT INTO webhooks (account_id, url, events, description, secret, created_at, cursor)
		VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`,
		r.AccountID, r.URL, r.Events, r.Description, r.Secret, r.CreatedAt.Unix(), r.Cursor).Scan(&id)
	return id, err
}

// Webhooks implements app.WebhookTx.
func (t Tx) Webhooks(ctx context.Context, acct, id int64) ([]app.WebhookRow, error) {
	q := "SELECT " + webhookColumns + " FROM webhooks w JOIN accounts a ON a.id = w.account_id WHERE 1 = 1"
	var args []any
	if acct != 0 {
		args = append(args, acct)
		q += " AND w.account_id = " + mark(len(args))
	}
	if id != 0 {
		args = append(args, id)
		q += " AND w.id = " + mark(len(args))
	}
	rows, err := t.query(ctx, q+" ORDER BY w.id", args...)
	return all(rows, err, scanWebhook)
}

// DeleteWebhook implements app.WebhookTx: its attempts and deliveries go
// first (the stores need not cascade).
func (t Tx) DeleteWebhook(ctx context.Context, acct, id int64) (bool, error) {
	if _, err := t.exec(ctx, `DELETE FROM webhook_attempts WHERE delivery_id IN
		(SELECT d.id FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id WHERE w.id = $1 AND w.account_id = $2)`, id, acct); err != nil {
		return false, err
	}
	if _, err := t.exec(ctx, `DELETE FROM webhook_deliveries WHERE webhook_id IN
		(SELECT id FROM webhooks WHERE id = $1 AND account_id = $2)`, id, acct); err != nil {
		return false, err
	}
	return affected(t.exec(ctx, "DELETE FROM webhooks WHERE id = $1 AND account_id = $2", id, acct))
}

// SetWebhookDisabled implements app.WebhookTx.
func (t Tx) SetWebhookDisabled(ctx context.Context, id int64, at *time.Time, reason string) error {
	_, err := t.exec(ctx, "UPDATE webhooks SET disabled_at = $1, disabled_reason = $2 WHERE id = $3", unixOrNull(at), reason, id)
	return err
}

// LastEventID implements app.WebhookTx.
func (t Tx) LastEventID(ctx context.Context) (int64, error) {
	var id int64
	err := t.queryRow(ctx, "SELECT COALESCE(MAX(id), 0) FROM events").Scan(&id)
	return id, err
}

// FanOutWebhooks implements app.WebhookTx: on PostgreSQL a replica skips
// the webhooks another one is fanning out.
func (t Tx) FanOutWebhooks(ctx context.Context, last int64, limit int) ([]app.WebhookRow, error) {
	rows, err := t.query(ctx, "SELECT "+webhookColumns+` FROM webhooks w JOIN accounts a ON a.id = w.account_id
		WHERE w.disabled_at IS NULL AND w.cursor < $1 ORDER BY w.id LIMIT $2`+t.lock(app.ForUpdate, " FOR UPDATE OF w SKIP LOCKED"), last, limit)
	return all(rows, err, scanWebhook)
}

// EventsAfter implements app.WebhookTx.
func (t Tx) EventsAfter(ctx context.Context, acct, after int64, limit int) ([]app.EventRef, error) {
	rows, err := t.query(ctx, "SELECT id, type, object FROM events WHERE account_id = $1 AND id > $2 ORDER BY id LIMIT $3", acct, after, limit)
	return all(rows, err, func(sc app.Scanner) (*app.EventRef, error) {
		var e app.EventRef
		return &e, sc.Scan(&e.ID, &e.Type, &e.Object)
	})
}

// InsertDeliveries implements app.WebhookTx, 200 rows a statement.
func (t Tx) InsertDeliveries(ctx context.Context, rows []app.DeliveryRow) error {
	return insertRows(ctx, t, "INSERT INTO webhook_deliveries (webhook_id, event_id, object, status, next_at_ms, created_at) VALUES ",
		" ON CONFLICT (webhook_id, event_id) DO NOTHING", rows, func(r app.DeliveryRow) []any {
			return []any{r.WebhookID, r.EventID, r.Object, licensing.DeliveryPending, r.NextAtMS, r.CreatedAt.Unix()}
		})
}

// SetWebhookCursor implements app.WebhookTx.
func (t Tx) SetWebhookCursor(ctx context.Context, id, cursor int64) error {
	_, err := t.exec(ctx, "UPDATE webhooks SET cursor = $1 WHERE id = $2 AND cursor < $1", cursor, id)
	return err
}

// ClaimDeliveries implements app.WebhookTx. A delivery is claimable when
// it is due, not held by another dispatcher's lease, of an enabled
// webhook, and no earlier delivery of the same webhook and object is still
// pending (held, or waiting for its retry): one object's events go out in
// order. On PostgreSQL the rows are locked SKIP LOCKED, so replicas
// claiming at once take different deliveries.
func (t Tx) ClaimDeliveries(ctx context.Context, nowMS, untilMS int64, limit int) ([]app.ClaimedDelivery, error) {
	rows, err := t.query(ctx, `SELECT d.id, d.webhook_id, w.url, w.secret, d.attempts, d.created_at, `+app.EventColumns+`
		FROM webhook_deliveries d
		JOIN webhooks w ON w.id = d.webhook_id
		JOIN events e ON e.id = d.event_id
		JOIN accounts a ON a.id = e.account_id
		WHERE d.status = 'pending' AND d.next_at_ms <= $1 AND d.claimed_until_ms <= $1 AND w.disabled_at IS NULL
		  AND NOT EXISTS (SELECT 1 FROM webhook_deliveries p
		      WHERE p.webhook_id = d.webhook_id AND p.object = d.object AND p.status = 'pending' AND p.id < d.id)
		ORDER BY d.next_at_ms, d.id LIMIT $2`+t.lock(app.ForUpdate, " FOR UPDATE OF d SKIP LOCKED"), nowMS, limit)
	claimed, err := all(rows, err, func(sc app.Scanner) (*app.ClaimedDelivery, error) {
		var c app.ClaimedDelivery
		var created, at int64
		var data string
		if err := sc.Scan(&c.ID, &c.WebhookID, &c.URL, &c.Secret, &c.Attempts, &created,
			&c.Event.ID, &c.Event.Type, &c.Event.Account, &c.Event.Object, &at, &data); err != nil {
			return nil, err
		}
		c.CreatedAt, c.Event.CreatedAt, c.Event.Data = app.Unix(created), app.Unix(at), json.RawMessage(data)
		return &c, nil
	})
	if err != nil || len(claimed) == 0 {
		return claimed, err
	}
	ids := make([]int64, len(claimed))
	for i, c := range claimed {
		ids[i] = c.ID
	}
	err = chunks(ids, func(part []int64) error {
		_, err := t.exec(ctx, "UPDATE webhook_deliveries SET claimed_until_ms = $1 WHERE id IN ("+idList(2, len(part))+")",
			idArgs([]any{untilMS}, part)...)
		return err
	})
	return claimed, err
}

// FinishAttempts implements app.WebhookTx.
func (t Tx) FinishAttempts(ctx context.Context, rows []app.AttemptRow) error {
	// A delivery whose lease lapsed mid-attempt may have been sent and
	// recorded by another dispatcher too: the first record of an attempt
	// number stands.
	if err := insertRows(ctx, t, "INSERT INTO webhook_attempts (delivery_id, n, at_ms, code, latency_ms, error) VALUES ",
		" ON CONFLICT (delivery_id, n) DO NOTHING", rows, func(r app.AttemptRow) []any {
			return []any{r.DeliveryID, r.N, r.AtMS, r.Code, r.LatencyMS, r.Error}
		}); err != nil {
		return err
	}
	// One UPDATE for each 100 deliveries, from a VALUES list (whose columns
	// both dialects name column1, column2, ...).
	for start := 0; start < len(rows); start += 100 {
		part := rows[start:min(start+100, len(rows))]
		var b strings.Builder
		args := make([]any, 0, 7*len(part))
		for i, r := range part {
			if i > 0 {
				b.WriteString(", ")
			}
			n := len(args)
			b.WriteString("(CAST(" + mark(n+1) + " AS BIGINT), CAST(" + mark(n+2) + " AS TEXT), CAST(" + mark(n+3) + " AS BIGINT), CAST(" +
				mark(n+4) + " AS BIGINT), CAST(" + mark(n+5) + " AS BIGINT), CAST(" + mark(n+6) + " AS TEXT), CAST(" + mark(n+7) + " AS BIGINT))")
			args = append(args, r.DeliveryID, r.Status, r.N, r.NextAtMS, r.Code, r.Error, unixOrNull(r.FinishedAt))
		}
		if _, err := t.exec(ctx, `UPDATE webhook_deliveries SET status = v.column2, attempts = v.column3, next_at_ms = v.column4,
			claimed_until_ms = 0, last_code = v.column5, last_error = v.column6, finished_at = v.column7
			FROM (VALUES `+b.String()+`) AS v WHERE webhook_deliveries.id = v.column1 AND webhook_deliveries.status = 'pending'`, args...); err != nil {
			return err
		}
	}
	return nil
}

// ListDeliveries implements app.WebhookTx.
func (t Tx) ListDeliveries(ctx context.Context, acct int64, f licensing.DeliveryFilter) ([]licensing.WebhookDelivery, error) {
	args := []any{acct}
	where := "w.account_id = $1"
	if f.Webhook != 0 {
		args = append(args, f.Webhook)
		where += " AND d.webhook_id = " + mark(len(args))
	}
	if f.ID != 0 {
		args = append(args, f.ID)
		where += " AND d.id = " + mark(len(args))
	}
	if f.Failed {
		where += " AND (d.status = 'failed' OR d.status = 'pending' AND d.attempts > 0)"
	}
	args = append(args, f.Limit)
	rows, err := t.query(ctx, `SELECT d.id, d.webhook_id, d.event_id, e.type, d.object, d.status, d.attempts, d.last_code, d.last_error,
		(SELECT x.latency_ms FROM webhook_attempts x WHERE x.delivery_id = d.id AND x.n = d.attempts), d.next_at_ms, d.created_at, d.finished_at
		FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id JOIN events e ON e.id = d.event_id
		WHERE `+where+" ORDER BY d.id DESC LIMIT "+mark(len(args)), args...)
	return all(rows, err, func(sc app.Scanner) (*licensing.WebhookDelivery, error) {
		var d licensing.WebhookDelivery
		var latency, finished *int64
		var next, created int64
		if err := sc.Scan(&d.ID, &d.Webhook, &d.Event, &d.Type, &d.Object, &d.Status, &d.Attempts, &d.LastCode, &d.LastError,
			&latency, &next, &created, &finished); err != nil {
			return nil, err
		}
		if latency != nil {
			d.LatencyMS = *latency
		}
		if d.Status == licensing.DeliveryPending {
			at := time.UnixMilli(next).UTC()
			d.NextAttemptAt = &at
		}
		d.CreatedAt, d.FinishedAt = app.Unix(created), app.UnixOrNil(finished)
		return &d, nil
	})
}

// RequeueDelivery implements app.WebhookTx.
func (t Tx) RequeueDelivery(ctx context.Context, acct, id, nowMS int64) (bool, error) {
	return affected(t.exec(ctx, `UPDATE webhook_deliveries SET status = 'pending', next_at_ms = $1, claimed_until_ms = 0, finished_at = NULL
		WHERE id = $2 AND webhook_id IN (SELECT id FROM webhooks WHERE account_id = $3)`, nowMS, id, acct))
}

// CountPendingDeliveries implements app.WebhookTx.
func (t Tx) CountPendingDeliveries(ctx context.Context) (int, error) {
	var n int
	err := t.queryRow(ctx, "SELECT count(*) FROM webhook_deliveries WHERE status = 'pending'").Scan(&n)
	return n, err
}

// DispatchWork implements app.WebhookTx.
func (t Tx) DispatchWork(ctx context.Context, nowMS int64) (app.DispatchWork, error) {
	var w app.DispatchWork
	var fan, due int
	err := t.queryRow(ctx, `SELECT
		(SELECT count(*) FROM (SELECT 1 FROM webhooks WHERE disabled_at IS NULL
		    AND cursor < (SELECT COALESCE(MAX(id), 0) FROM events) LIMIT 1) f),
		(SELECT count(*) FROM (SELECT 1 FROM webhook_deliveries WHERE status = 'pending' AND next_at_ms <= $1
		    AND claimed_until_ms <= $1 LIMIT 1) d)`, nowMS).Scan(&fan, &due)
	w.FanOut, w.Due = fan > 0, due > 0
	return w, err
}

// AnalyzeDeliveries implements app.WebhookTx: after a burst of deliveries,
// on a dialect that needs it, the table's statistics are brought up to
// date in the same transaction.
func (t Tx) AnalyzeDeliveries(ctx context.Context) error {
	if !t.d.AnalyzeBursts {
		return nil
	}
	_, err := t.exec(ctx, "ANALYZE webhook_deliveries")
	return err
}
