package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/paymon/paymon/internal/payment"
	"github.com/paymon/paymon/internal/webhook"
)

// Events are written by the payment writes themselves (insertEventIn), in
// the same group-commit transaction: the event exists exactly when the
// change does. The id is derived from the change, so the insert ignores a
// repeat.
const qInsertEvent = `INSERT INTO payment_events(id, type, payment_id, created_at, dispatched, data) VALUES (?,?,?,?,0,?) ON CONFLICT(id) DO NOTHING`

const webhookSchema = `
CREATE TABLE IF NOT EXISTS payment_events (
	id TEXT PRIMARY KEY,
	type TEXT NOT NULL,
	payment_id TEXT NOT NULL,
	created_at INTEGER NOT NULL,
	dispatched INTEGER NOT NULL,
	data BLOB NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS payment_events_created ON payment_events(created_at, id);
CREATE INDEX IF NOT EXISTS payment_events_undispatched ON payment_events(created_at) WHERE dispatched = 0;
CREATE TABLE IF NOT EXISTS webhook_endpoints (
	id TEXT PRIMARY KEY,
	doc BLOB NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS webhook_attempts (
	id TEXT PRIMARY KEY,
	event_id TEXT NOT NULL,
	endpoint_id TEXT NOT NULL,
	state TEXT NOT NULL,
	attempts INTEGER NOT NULL,
	next_at INTEGER NOT NULL,
	first_at INTEGER NOT NULL,
	lease_until INTEGER NOT NULL,
	lease_gen INTEGER NOT NULL,
	last_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS webhook_attempts_due ON webhook_attempts(next_at) WHERE state = 'pending';
CREATE INDEX IF NOT EXISTS webhook_attempts_endpoint ON webhook_attempts(endpoint_id);
CREATE TABLE IF NOT EXISTS webhook_deliveries (
	id TEXT PRIMARY KEY,
	endpoint_id TEXT NOT NULL,
	event_id TEXT NOT NULL,
	at INTEGER NOT NULL,
	doc BLOB NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS webhook_deliveries_endpoint ON webhook_deliveries(endpoint_id, id);
CREATE INDEX IF NOT EXISTS webhook_deliveries_at ON webhook_deliveries(at);
`

// The statements each delivery runs, prepared once like the create path's.
const (
	qInsertDelivery = `INSERT INTO webhook_deliveries(id, endpoint_id, event_id, at, doc) VALUES (?,?,?,?,?)`
	qFinishAttempt  = `UPDATE webhook_attempts SET attempts = attempts + 1, state = ?, next_at = ?, lease_until = 0, last_at = ?
			WHERE id = ? AND lease_gen = ?`
	qQueueAttempt = `INSERT INTO webhook_attempts(id, event_id, endpoint_id, state, attempts, next_at, first_at, lease_until, lease_gen, last_at)
				VALUES (?,?,?,?,0,?,?,0,0,0) ON CONFLICT(id) DO NOTHING`
	qMarkDispatched = `UPDATE payment_events SET dispatched = 1 WHERE id = ?`
)

func init() {
	schemas = append(schemas, webhookSchema)
	hotStatements = append(hotStatements, qInsertEvent, qInsertDelivery, qFinishAttempt, qQueueAttempt, qMarkDispatched)
}

func (db *DB) insertEventIn(tx *sql.Tx, ev *webhook.Event) error {
	if ev == nil {
		return nil
	}
	_, err := db.txExec(tx, qInsertEvent, ev.ID, ev.Type, ev.PaymentID, ev.CreatedAt.UnixNano(), []byte(ev.Data))
	return err
}

// newEvent is the event p's latest change produces, or nil.
func newEvent(p *payment.Payment) *webhook.Event {
	if ev, ok := webhook.EventFor(p); ok {
		return &ev
	}
	return nil
}

const eventCols = `id, type, payment_id, created_at, dispatched, data`

func scanEvent(sc interface{ Scan(...any) error }) (webhook.Event, error) {
	var e webhook.Event
	var at int64
	var disp int
	var data []byte
	if err := sc.Scan(&e.ID, &e.Type, &e.PaymentID, &at, &disp, &data); err != nil {
		return e, err
	}
	e.CreatedAt, e.Dispatched, e.Data = time.Unix(0, at).UTC(), disp == 1, json.RawMessage(data)
	return e, nil
}

// GetEvent implements webhook.Store.
func (db *DB) GetEvent(ctx context.Context, id string) (webhook.Event, error) {
	start := time.Now()
	e, err := scanEvent(db.read.QueryRowContext(ctx, `SELECT `+eventCols+` FROM payment_events WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		observe("get_event", start, nil)
		return e, webhook.ErrNotFound
	}
	err = db.readErr(err)
	observe("get_event", start, err)
	return e, err
}

func (db *DB) queryEvents(ctx context.Context, name, q string, args ...any) ([]webhook.Event, error) {
	start := time.Now()
	rows, err := db.read.QueryContext(ctx, q, args...)
	if err != nil {
		err = db.readErr(err)
		observe(name, start, err)
		return nil, err
	}
	defer rows.Close()
	out := []webhook.Event{}
	for rows.Next() {
		e, err := scanEvent(rows)
		if err != nil {
			return nil, db.readErr(err)
		}
		out = append(out, e)
	}
	err = db.readErr(rows.Err())
	observe(name, start, err)
	return out, err
}

// ListEvents implements webhook.Store.
func (db *DB) ListEvents(ctx context.Context, f webhook.EventFilter) ([]webhook.Event, bool, error) {
	var where []string
	var args []any
	if f.Type != "" {
		where, args = append(where, "type = ?"), append(args, f.Type)
	}
	if f.PaymentID != "" {
		// Event ids start with the payment's id: a key range, no index.
		lo := strings.TrimSuffix(webhook.EventID(f.PaymentID, 0), "0")
		where, args = append(where, "id >= ? AND id < ?"), append(args, lo, lo+"~")
	}
	if !f.CreatedFrom.IsZero() {
		where, args = append(where, "created_at >= ?"), append(args, f.CreatedFrom.UnixNano())
	}
	if !f.CreatedTo.IsZero() {
		where, args = append(where, "created_at < ?"), append(args, f.CreatedTo.UnixNano())
	}
	if f.After != nil {
		at := f.After.CreatedAt.UnixNano()
		where, args = append(where, "(created_at < ? OR (created_at = ? AND id < ?))"), append(args, at, at, f.After.ID)
	}
	q := `SELECT ` + eventCols + ` FROM payment_events`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY created_at DESC, id DESC LIMIT ?"
	args = append(args, f.Limit+1)
	out, err := db.queryEvents(ctx, "list_events", q, args...)
	if err != nil {
		return nil, false, err
	}
	more := len(out) > f.Limit
	if more {
		out = out[:f.Limit]
	}
	return out, more, nil
}

// UndispatchedEvents implements webhook.Store.
func (db *DB) UndispatchedEvents(ctx context.Context, limit int) ([]webhook.Event, error) {
	return db.queryEvents(ctx, "undispatched_events",
		`SELECT `+eventCols+` FROM payment_events WHERE dispatched = 0 ORDER BY created_at LIMIT ?`, limit)
}

// Dispatch implements webhook.Store: the attempts and the marks in one
// transaction.
func (db *DB) Dispatch(ctx context.Context, eventIDs []string, attempts []webhook.Attempt) error {
	return db.exec(ctx, "dispatch_events", func(tx *sql.Tx) error {
		for _, a := range attempts {
			if _, err := db.txExec(tx, qQueueAttempt, a.ID, a.EventID, a.EndpointID, a.State, a.NextAt.UnixNano(), a.FirstAt.UnixNano()); err != nil {
				return err
			}
		}
		for _, id := range eventIDs {
			if _, err := db.txExec(tx, qMarkDispatched, id); err != nil {
				return err
			}
		}
		return nil
	})
}

// CreateEndpoint implements webhook.Store.
func (db *DB) CreateEndpoint(ctx context.Context, e webhook.Endpoint) error {
	doc, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("cannot encode endpoint: %w", err)
	}
	return db.exec(ctx, "create_endpoint", func(tx *sql.Tx) error {
		_, err := tx.Exec(`INSERT INTO webhook_endpoints(id, doc) VALUES (?,?)`, e.ID, doc)
		return err
	})
}

// GetEndpoint implements webhook.Store.
func (db *DB) GetEndpoint(ctx context.Context, id string) (webhook.Endpoint, error) {
	var doc []byte
	var e webhook.Endpoint
	err := db.read.QueryRowContext(ctx, `SELECT doc FROM webhook_endpoints WHERE id = ?`, id).Scan(&doc)
	if errors.Is(err, sql.ErrNoRows) {
		return e, webhook.ErrNotFound
	}
	if err != nil {
		return e, db.readErr(err)
	}
	if err := json.Unmarshal(doc, &e); err != nil {
		return e, fmt.Errorf("cannot decode stored endpoint: %w", err)
	}
	return e, nil
}

// ListEndpoints implements webhook.Store.
func (db *DB) ListEndpoints(ctx context.Context) ([]webhook.Endpoint, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT doc FROM webhook_endpoints ORDER BY id DESC`)
	if err != nil {
		return nil, db.readErr(err)
	}
	defer rows.Close()
	out := []webhook.Endpoint{}
	for rows.Next() {
		var doc []byte
		var e webhook.Endpoint
		if err := rows.Scan(&doc); err != nil {
			return nil, db.readErr(err)
		}
		if err := json.Unmarshal(doc, &e); err != nil {
			return nil, fmt.Errorf("cannot decode stored endpoint: %w", err)
		}
		out = append(out, e)
	}
	return out, db.readErr(rows.Err())
}

// UpdateEndpoint implements webhook.Store.
func (db *DB) UpdateEndpoint(ctx context.Context, e webhook.Endpoint) error {
	doc, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("cannot encode endpoint: %w", err)
	}
	return db.exec(ctx, "update_endpoint", func(tx *sql.Tx) error {
		res, err := tx.Exec(`UPDATE webhook_endpoints SET doc = ? WHERE id = ?`, doc, e.ID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return webhook.ErrNotFound
		}
		return nil
	})
}

// DeleteEndpoint implements webhook.Store.
func (db *DB) DeleteEndpoint(ctx context.Context, id string) error {
	return db.exec(ctx, "delete_endpoint", func(tx *sql.Tx) error {
		res, err := tx.Exec(`DELETE FROM webhook_endpoints WHERE id = ?`, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return webhook.ErrNotFound
		}
		_, err = tx.Exec(`DELETE FROM webhook_attempts WHERE endpoint_id = ?`, id)
		return err
	})
}

const attemptCols = `id, event_id, endpoint_id, state, attempts, next_at, first_at, lease_until, lease_gen, last_at`

func scanAttempt(sc interface{ Scan(...any) error }) (webhook.Attempt, error) {
	var a webhook.Attempt
	var next, first, lease, last int64
	if err := sc.Scan(&a.ID, &a.EventID, &a.EndpointID, &a.State, &a.Attempts, &next, &first, &lease, &a.LeaseGen, &last); err != nil {
		return a, err
	}
	a.NextAt, a.FirstAt, a.LeaseUntil, a.LastAttempt = nsTime(next), nsTime(first), nsTime(lease), nsTime(last)
	return a, nil
}

func nsTime(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.Unix(0, v).UTC()
}

// LeaseAttempts implements webhook.Store: one conditional update on the
// single writer, so no two callers get one attempt.
func (db *DB) LeaseAttempts(ctx context.Context, now, until time.Time, limit int) ([]webhook.Attempt, error) {
	var out []webhook.Attempt
	err := db.exec(ctx, "lease_attempts", func(tx *sql.Tx) error {
		out = out[:0]
		rows, err := tx.Query(`UPDATE webhook_attempts SET lease_until = ?, lease_gen = lease_gen + 1
			WHERE id IN (SELECT id FROM webhook_attempts WHERE state = 'pending' AND next_at <= ? AND lease_until <= ? ORDER BY next_at LIMIT ?)
			RETURNING `+attemptCols, until.UnixNano(), now.UnixNano(), now.UnixNano(), limit)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			a, err := scanAttempt(rows)
			if err != nil {
				return err
			}
			out = append(out, a)
		}
		return rows.Err()
	})
	return out, err
}

// FinishAttempt implements webhook.Store. The update applies only while
// the caller still holds the lease generation it was given, so a resend
// made meanwhile is not overwritten.
func (db *DB) FinishAttempt(ctx context.Context, a webhook.Attempt, d webhook.Delivery, f webhook.Finish) error {
	doc, err := json.Marshal(d)
	if err != nil {
		return fmt.Errorf("cannot encode delivery: %w", err)
	}
	return db.exec(ctx, "finish_attempt", func(tx *sql.Tx) error {
		if f.Skip {
			_, err := tx.Exec(`UPDATE webhook_attempts SET next_at = ?, lease_until = 0 WHERE id = ? AND lease_gen = ?`, f.NextAt.UnixNano(), a.ID, a.LeaseGen)
			return err
		}
		if _, err := db.txExec(tx, qInsertDelivery, d.ID, d.EndpointID, d.EventID, d.At.UnixNano(), doc); err != nil {
			return err
		}
		_, err := db.txExec(tx, qFinishAttempt, f.State, f.NextAt.UnixNano(), d.At.UnixNano(), a.ID, a.LeaseGen)
		return err
	})
}

// Requeue implements webhook.Store.
func (db *DB) Requeue(ctx context.Context, a webhook.Attempt) error {
	return db.exec(ctx, "requeue_attempt", func(tx *sql.Tx) error {
		_, err := tx.Exec(`INSERT INTO webhook_attempts(id, event_id, endpoint_id, state, attempts, next_at, first_at, lease_until, lease_gen, last_at)
			VALUES (?,?,?,'pending',0,?,?,0,0,0)
			ON CONFLICT(id) DO UPDATE SET state = 'pending', next_at = excluded.next_at, first_at = excluded.first_at, lease_until = 0, lease_gen = lease_gen + 1`,
			a.ID, a.EventID, a.EndpointID, a.NextAt.UnixNano(), a.FirstAt.UnixNano())
		return err
	})
}

// ListDeliveries implements webhook.Store.
func (db *DB) ListDeliveries(ctx context.Context, endpointID, after string, limit int) ([]webhook.Delivery, bool, error) {
	q := `SELECT doc FROM webhook_deliveries WHERE endpoint_id = ?`
	args := []any{endpointID}
	if after != "" {
		q, args = q+` AND id < ?`, append(args, after)
	}
	rows, err := db.read.QueryContext(ctx, q+` ORDER BY id DESC LIMIT ?`, append(args, limit+1)...)
	if err != nil {
		return nil, false, db.readErr(err)
	}
	defer rows.Close()
	out := []webhook.Delivery{}
	for rows.Next() {
		var doc []byte
		var d webhook.Delivery
		if err := rows.Scan(&doc); err != nil {
			return nil, false, db.readErr(err)
		}
		if err := json.Unmarshal(doc, &d); err != nil {
			return nil, false, fmt.Errorf("cannot decode stored delivery: %w", err)
		}
		out = append(out, d)
	}
	if err := db.readErr(rows.Err()); err != nil {
		return nil, false, err
	}
	more := len(out) > limit
	if more {
		out = out[:limit]
	}
	return out, more, nil
}

// QueueStats implements webhook.Store.
func (db *DB) QueueStats(ctx context.Context) (int64, time.Time, error) {
	var n int64
	var oldest sql.NullInt64
	err := db.read.QueryRowContext(ctx, `SELECT count(*), min(CASE WHEN attempts > 0 THEN first_at END) FROM webhook_attempts WHERE state = 'pending'`).Scan(&n, &oldest)
	if err != nil {
		return 0, time.Time{}, db.readErr(err)
	}
	var t time.Time
	if oldest.Valid {
		t = nsTime(oldest.Int64)
	}
	return n, t, nil
}

// DeleteEventsBefore implements webhook.Store, a bounded batch per call
// so the single writer is never held long.
func (db *DB) DeleteEventsBefore(ctx context.Context, t time.Time) (int64, error) {
	var n int64
	err := db.exec(ctx, "sweep_events", func(tx *sql.Tx) error {
		n = 0
		cut := t.UnixNano()
		if _, err := tx.Exec(`DELETE FROM webhook_attempts WHERE event_id IN (SELECT id FROM payment_events WHERE created_at < ? ORDER BY created_at LIMIT 5000)`, cut); err != nil {
			return err
		}
		res, err := tx.Exec(`DELETE FROM payment_events WHERE id IN (SELECT id FROM payment_events WHERE created_at < ? ORDER BY created_at LIMIT 5000)`, cut)
		if err != nil {
			return err
		}
		n, _ = res.RowsAffected()
		_, err = tx.Exec(`DELETE FROM webhook_deliveries WHERE id IN (SELECT id FROM webhook_deliveries WHERE at < ? ORDER BY at LIMIT 5000)`, cut)
		return err
	})
	return n, err
}
