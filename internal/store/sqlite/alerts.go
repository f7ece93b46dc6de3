package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/paymon/paymon/internal/alert"
)

// The partial unique index is what lets several instances evaluate the
// same rules: at most one row per fingerprint can be firing, so the
// INSERT of a second firing row is ignored and its instance does not
// notify.
const alertsSchema = `
CREATE TABLE IF NOT EXISTS alerts (
	id TEXT PRIMARY KEY,
	fingerprint TEXT NOT NULL,
	rule TEXT NOT NULL,
	severity TEXT NOT NULL,
	state TEXT NOT NULL,
	summary TEXT NOT NULL,
	labels TEXT NOT NULL,
	started_at INTEGER NOT NULL,
	resolved_at INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE UNIQUE INDEX IF NOT EXISTS alerts_one_firing ON alerts(fingerprint) WHERE state = 'firing';
CREATE INDEX IF NOT EXISTS alerts_state_started ON alerts(state, started_at);
CREATE INDEX IF NOT EXISTS alerts_started ON alerts(started_at);
`

func init() { schemas = append(schemas, alertsSchema) }

// FireAlert implements alert.Store.
func (db *DB) FireAlert(ctx context.Context, a alert.Alert) (bool, error) {
	labels, err := json.Marshal(alertLabels(a.Labels))
	if err != nil {
		return false, fmt.Errorf("cannot encode labels: %w", err)
	}
	var won bool
	err = db.exec(ctx, "fire_alert", func(tx *sql.Tx) error {
		res, err := tx.Exec(`INSERT INTO alerts(id, fingerprint, rule, severity, state, summary, labels, started_at) VALUES (?,?,?,?,'firing',?,?,?)
			ON CONFLICT DO NOTHING`, a.ID, a.Fingerprint, a.Rule, string(a.Severity), a.Summary, string(labels), ms(a.StartedAt))
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		won = n == 1
		return err
	})
	return won, err
}

// ResolveAlert implements alert.Store.
func (db *DB) ResolveAlert(ctx context.Context, fingerprint string, at time.Time) (alert.Alert, error) {
	var a alert.Alert
	err := db.exec(ctx, "resolve_alert", func(tx *sql.Tx) error {
		row := tx.QueryRow(`UPDATE alerts SET state = 'resolved', resolved_at = ? WHERE fingerprint = ? AND state = 'firing'
			RETURNING `+alertCols, ms(at), fingerprint)
		var err error
		a, err = scanAlert(row)
		if errors.Is(err, sql.ErrNoRows) {
			return alert.ErrNotFiring
		}
		return err
	})
	return a, err
}

const alertCols = `id, fingerprint, rule, severity, state, summary, labels, started_at, resolved_at`

// ListAlerts implements alert.Store.
func (db *DB) ListAlerts(ctx context.Context, f alert.Filter) ([]alert.Alert, error) {
	start := time.Now()
	var where []string
	var args []any
	if f.State != "" {
		where, args = append(where, "state = ?"), append(args, string(f.State))
	}
	if f.Rule != "" {
		where, args = append(where, "rule = ?"), append(args, f.Rule)
	}
	q := "SELECT " + alertCols + " FROM alerts"
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	if f.Limit <= 0 {
		f.Limit = 100
	}
	q += " ORDER BY started_at DESC, id DESC LIMIT ?"
	args = append(args, f.Limit)
	rows, err := db.read.QueryContext(ctx, q, args...)
	if err != nil {
		err = db.readErr(err)
		observe("list_alerts", start, err)
		return nil, err
	}
	defer rows.Close()
	out := []alert.Alert{}
	for rows.Next() {
		a, err := scanAlert(rows)
		if err != nil {
			observe("list_alerts", start, err)
			return nil, db.readErr(err)
		}
		out = append(out, a)
	}
	err = db.readErr(rows.Err())
	observe("list_alerts", start, err)
	return out, err
}

type alertScanner interface{ Scan(dest ...any) error }

func scanAlert(s alertScanner) (alert.Alert, error) {
	var a alert.Alert
	var sev, state, labels string
	var started, resolved int64
	if err := s.Scan(&a.ID, &a.Fingerprint, &a.Rule, &sev, &state, &a.Summary, &labels, &started, &resolved); err != nil {
		return a, err
	}
	a.Severity, a.State, a.StartedAt = alert.Severity(sev), alert.State(state), fromMS(started)
	if resolved != 0 {
		t := fromMS(resolved)
		a.ResolvedAt = &t
	}
	if err := json.Unmarshal([]byte(labels), &a.Labels); err != nil {
		return a, fmt.Errorf("cannot decode labels of alert %s: %w", a.ID, err)
	}
	return a, nil
}

func alertLabels(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}
