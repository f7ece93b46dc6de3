package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/paymon/paymon/internal/auth"
	"github.com/paymon/paymon/internal/dependency"
	"github.com/paymon/paymon/internal/payment"
	"github.com/paymon/paymon/internal/webhook"
)

func isDomainErr(err error) bool {
	return errors.Is(err, payment.ErrNotFound) || errors.Is(err, payment.ErrDuplicate) ||
		errors.Is(err, payment.ErrVersionConflict) || errors.Is(err, auth.ErrNotFound) ||
		errors.Is(err, auth.ErrDuplicate) || errors.Is(err, auth.ErrTokenReused) || errors.Is(err, webhook.ErrNotFound) // a client's replay, not a store failure
}

// The statements of the create path, prepared once (see DB.prepared).
const (
	qInsertPayment = `INSERT INTO payments(id, status, provider, currency, provider_payment_id, created_at, version, doc) VALUES (?,?,?,?,?,?,?,?)`
	qUpdatePayment = `UPDATE payments SET status = ?, provider_payment_id = ?, version = ?, doc = ? WHERE id = ? AND version = ?`
	qCompleteIdem  = `UPDATE idempotency SET status = ?, body = ? WHERE key = ?`
	qClaimIdem     = `INSERT INTO idempotency(key, request_hash, payment_id, status, locked_until, created_at, expires_at) VALUES (?,?,?,0,?,?,?) ON CONFLICT(key) DO NOTHING`
	qAddStats      = `INSERT INTO payment_stats(bucket, kind, currency, count, amount) VALUES (?,?,?,?,?)
			ON CONFLICT(bucket, kind, currency) DO UPDATE SET count = count + excluded.count, amount = amount + excluded.amount`
)

var hotStatements = []string{qInsertPayment, qUpdatePayment, qCompleteIdem, qClaimIdem, qAddStats,
	qSavepoint, qRollbackTo, qRelease, fullInsert, qInsertLogEntry, qAddLogCounts, qAddLogMessages}

func (db *DB) readErr(err error) error {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	if err := db.classify(err); errors.Is(err, dependency.ErrCorrupt) {
		return err
	}
	return dependency.Unavailable("sqlite", err)
}

// CreatePayment implements payment.Store: the claim and the payment go in
// one savepoint of one group commit.
func (db *DB) CreatePayment(ctx context.Context, p *payment.Payment, claim *payment.IdempotencyRecord) (*payment.IdempotencyRecord, error) {
	p.Version = 1
	doc, err := payment.MarshalStored(p)
	if err != nil {
		return nil, fmt.Errorf("cannot encode payment: %w", err)
	}
	ev := newEvent(p)
	var existing *payment.IdempotencyRecord
	err = db.exec(ctx, "create_payment", func(tx *sql.Tx) error {
		existing = nil
		if claim != nil {
			held, err := db.claimIn(tx, *claim)
			if err != nil || held != nil {
				existing = held
				return err
			}
		}
		_, err := db.txExec(tx, qInsertPayment,
			p.ID, string(p.Status), p.Provider, p.Currency, p.ProviderPaymentID, p.CreatedAt.UnixNano(), p.Version, doc)
		if isUnique(err) {
			return payment.ErrDuplicate
		}
		if err != nil {
			return err
		}
		return db.insertEventIn(tx, ev)
	})
	return existing, err
}

// GetPayment implements payment.Store.
func (db *DB) GetPayment(ctx context.Context, id string) (*payment.Payment, error) {
	return db.getPayment(ctx, "get_payment", `SELECT doc FROM payments WHERE id = ?`, id)
}

// GetPaymentByProviderID implements payment.Store.
func (db *DB) GetPaymentByProviderID(ctx context.Context, provider, ppid string) (*payment.Payment, error) {
	if ppid == "" {
		return nil, payment.ErrNotFound
	}
	return db.getPayment(ctx, "get_payment_by_provider_id", `SELECT doc FROM payments WHERE provider = ? AND provider_payment_id = ?`, provider, ppid)
}

func (db *DB) getPayment(ctx context.Context, name, q string, args ...any) (*payment.Payment, error) {
	start := time.Now()
	var doc []byte
	err := db.read.QueryRowContext(ctx, q, args...).Scan(&doc)
	if errors.Is(err, sql.ErrNoRows) {
		observe(name, start, nil)
		return nil, payment.ErrNotFound
	}
	err = db.readErr(err)
	observe(name, start, err)
	if err != nil {
		return nil, err
	}
	return payment.UnmarshalStored(doc)
}

// UpdatePayment implements payment.Store.
func (db *DB) UpdatePayment(ctx context.Context, p *payment.Payment, expect int64, extra payment.Extra) error {
	next := *p
	next.Version = expect + 1
	doc, err := payment.MarshalStored(&next)
	if err != nil {
		return fmt.Errorf("cannot encode payment: %w", err)
	}
	ev := newEvent(&next)
	err = db.exec(ctx, "update_payment", func(tx *sql.Tx) error {
		res, err := db.txExec(tx, qUpdatePayment,
			string(p.Status), p.ProviderPaymentID, next.Version, doc, p.ID, expect)
		if isUnique(err) {
			return payment.ErrDuplicate
		}
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			var one int
			if err := tx.QueryRow(`SELECT 1 FROM payments WHERE id = ?`, p.ID).Scan(&one); errors.Is(err, sql.ErrNoRows) {
				return payment.ErrNotFound
			}
			return payment.ErrVersionConflict
		}
		if err := db.insertEventIn(tx, ev); err != nil {
			return err
		}
		if err := db.addStatsIn(tx, extra.Stats); err != nil {
			return err
		}
		if c := extra.Complete; c != nil {
			if _, err := db.txExec(tx, qCompleteIdem, c.Status, c.Body, c.Key); err != nil {
				return err
			}
		}
		return nil
	})
	if err == nil {
		p.Version = next.Version
	}
	return err
}

// ListPayments implements payment.Store.
func (db *DB) ListPayments(ctx context.Context, f payment.ListFilter) ([]*payment.Payment, bool, error) {
	var where []string
	var args []any
	if f.Status != "" {
		where, args = append(where, "status = ?"), append(args, string(f.Status))
	}
	if f.Provider != "" {
		where, args = append(where, "provider = ?"), append(args, f.Provider)
	}
	if f.Currency != "" {
		where, args = append(where, "currency = ?"), append(args, f.Currency)
	}
	if !f.CreatedFrom.IsZero() {
		where, args = append(where, "created_at >= ?"), append(args, f.CreatedFrom.UnixNano())
	}
	if !f.CreatedTo.IsZero() {
		where, args = append(where, "created_at < ?"), append(args, f.CreatedTo.UnixNano())
	}
	if f.StartingAfter != "" {
		where, args = append(where, "id < ?"), append(args, f.StartingAfter)
	}
	q := "SELECT doc FROM payments"
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY id DESC LIMIT ?"
	args = append(args, f.Limit+1)
	out, err := db.queryPayments(ctx, "list_payments", q, args...)
	if err != nil {
		return nil, false, err
	}
	hasMore := len(out) > f.Limit
	if hasMore {
		out = out[:f.Limit]
	}
	return out, hasMore, nil
}

// ListPending implements payment.Store.
func (db *DB) ListPending(ctx context.Context, olderThan time.Time, limit int) ([]*payment.Payment, error) {
	return db.queryPayments(ctx, "list_pending",
		`SELECT doc FROM payments WHERE status = 'pending' AND created_at < ? ORDER BY created_at LIMIT ?`,
		olderThan.UnixNano(), limit)
}

func (db *DB) queryPayments(ctx context.Context, name, q string, args ...any) ([]*payment.Payment, error) {
	start := time.Now()
	rows, err := db.read.QueryContext(ctx, q, args...)
	if err != nil {
		err = db.readErr(err)
		observe(name, start, err)
		return nil, err
	}
	defer rows.Close()
	out := []*payment.Payment{}
	for rows.Next() {
		var doc []byte
		if err := rows.Scan(&doc); err != nil {
			return nil, db.readErr(err)
		}
		p, err := payment.UnmarshalStored(doc)
		if err != nil {
			return nil, fmt.Errorf("cannot decode stored payment: %w", err)
		}
		out = append(out, p)
	}
	err = db.readErr(rows.Err())
	observe(name, start, err)
	return out, err
}

// ClaimIdempotency implements payment.Store.
func (db *DB) ClaimIdempotency(ctx context.Context, rec payment.IdempotencyRecord) (*payment.IdempotencyRecord, error) {
	var existing *payment.IdempotencyRecord
	err := db.exec(ctx, "claim_idempotency", func(tx *sql.Tx) error {
		var err error
		existing, err = db.claimIn(tx, rec)
		return err
	})
	return existing, err
}

// claimIn inserts rec unless its key is held, and returns the holder.
func (db *DB) claimIn(tx *sql.Tx, rec payment.IdempotencyRecord) (*payment.IdempotencyRecord, error) {
	res, err := db.txExec(tx, qClaimIdem,
		rec.Key, rec.RequestHash, rec.PaymentID, ms(rec.LockedUntil), ms(rec.CreatedAt), ms(rec.ExpiresAt))
	if err != nil {
		return nil, err
	}
	if n, _ := res.RowsAffected(); n == 1 {
		return nil, nil
	}
	return scanIdem(tx.QueryRow(idemSelect, rec.Key))
}

const idemSelect = `SELECT key, request_hash, payment_id, status, body, locked_until, created_at, expires_at FROM idempotency WHERE key = ?`

func scanIdem(row *sql.Row) (*payment.IdempotencyRecord, error) {
	var r payment.IdempotencyRecord
	var lu, ca, ea int64
	if err := row.Scan(&r.Key, &r.RequestHash, &r.PaymentID, &r.Status, &r.Body, &lu, &ca, &ea); err != nil {
		return nil, err
	}
	r.LockedUntil, r.CreatedAt, r.ExpiresAt = fromMS(lu), fromMS(ca), fromMS(ea)
	return &r, nil
}

// TakeOverIdempotency implements payment.Store.
func (db *DB) TakeOverIdempotency(ctx context.Context, key string, prev, next time.Time) (bool, error) {
	var ok bool
	err := db.exec(ctx, "takeover_idempotency", func(tx *sql.Tx) error {
		res, err := tx.Exec(`UPDATE idempotency SET locked_until = ? WHERE key = ? AND status = 0 AND locked_until = ?`, ms(next), key, ms(prev))
		if err != nil {
			return err
		}
		n, _ := res.RowsAffected()
		ok = n == 1
		return nil
	})
	return ok, err
}

// CompleteIdempotency implements payment.Store.
func (db *DB) CompleteIdempotency(ctx context.Context, key string, status int, body []byte) error {
	return db.exec(ctx, "complete_idempotency", func(tx *sql.Tx) error {
		_, err := db.txExec(tx, qCompleteIdem, status, body, key)
		return err
	})
}

// DeleteIdempotency implements payment.Store.
func (db *DB) DeleteIdempotency(ctx context.Context, key string) error {
	return db.exec(ctx, "delete_idempotency", func(tx *sql.Tx) error {
		_, err := tx.Exec(`DELETE FROM idempotency WHERE key = ?`, key)
		return err
	})
}

// DeleteExpiredIdempotency implements payment.Store.
func (db *DB) DeleteExpiredIdempotency(ctx context.Context, now time.Time) (int64, error) {
	var n int64
	err := db.exec(ctx, "sweep_idempotency", func(tx *sql.Tx) error {
		res, err := tx.Exec(`DELETE FROM idempotency WHERE expires_at <= ?`, ms(now))
		if err != nil {
			return err
		}
		n, _ = res.RowsAffected()
		return nil
	})
	return n, err
}

// RecordWebhookEvent implements payment.Store.
func (db *DB) RecordWebhookEvent(ctx context.Context, provider, eventID string, at time.Time) (bool, error) {
	var first bool
	err := db.exec(ctx, "record_webhook_event", func(tx *sql.Tx) error {
		res, err := tx.Exec(`INSERT INTO webhook_events(provider, event_id, received_at) VALUES (?,?,?) ON CONFLICT DO NOTHING`, provider, eventID, ms(at))
		if err != nil {
			return err
		}
		n, _ := res.RowsAffected()
		first = n == 1
		return nil
	})
	return first, err
}

// AddPaymentStats implements payment.Store.
func (db *DB) AddPaymentStats(ctx context.Context, incs []payment.StatIncrement) error {
	return db.exec(ctx, "add_payment_stats", func(tx *sql.Tx) error { return db.addStatsIn(tx, incs) })
}

func (db *DB) addStatsIn(tx *sql.Tx, incs []payment.StatIncrement) error {
	for _, in := range incs {
		if _, err := db.txExec(tx, qAddStats, ms(in.Bucket), in.Kind, in.Currency, in.Count, in.Amount); err != nil {
			return err
		}
	}
	return nil
}

// PaymentStats implements payment.Store.
func (db *DB) PaymentStats(ctx context.Context, from, to time.Time) ([]payment.StatIncrement, error) {
	start := time.Now()
	rows, err := db.read.QueryContext(ctx, `SELECT bucket, kind, currency, count, amount FROM payment_stats WHERE bucket >= ? AND bucket < ? ORDER BY bucket, kind, currency`, ms(from), ms(to))
	if err != nil {
		err = db.readErr(err)
		observe("payment_stats", start, err)
		return nil, err
	}
	defer rows.Close()
	var out []payment.StatIncrement
	for rows.Next() {
		var s payment.StatIncrement
		var b int64
		if err := rows.Scan(&b, &s.Kind, &s.Currency, &s.Count, &s.Amount); err != nil {
			return nil, db.readErr(err)
		}
		s.Bucket = fromMS(b)
		out = append(out, s)
	}
	err = db.readErr(rows.Err())
	observe("payment_stats", start, err)
	return out, err
}
