package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/paymon/paymon/internal/logbook"
)

func init() {
	schemas = append(schemas, logsSchema)
	upgrades = append(upgrades, addLogSource)
}

// The entries table keeps only the indexes searches need: level and
// service pages walk (level|service, id) newest first, payment and trace
// ids have partial indexes, and time ranges are bounded by id (ids sort by
// receipt time, see logbook.IDFloor). Counters live in their own tables,
// keyed so that a stats read is one range scan.
const logsSchema = `
CREATE TABLE IF NOT EXISTS log_entries (
	id TEXT PRIMARY KEY,
	time INTEGER NOT NULL,
	level TEXT NOT NULL,
	service TEXT NOT NULL,
	payment_id TEXT NOT NULL DEFAULT '',
	trace_id TEXT NOT NULL DEFAULT '',
	message TEXT NOT NULL,
	attributes BLOB,
	source TEXT NOT NULL DEFAULT ''
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS log_entries_level ON log_entries(level, id);
CREATE INDEX IF NOT EXISTS log_entries_service ON log_entries(service, id);
CREATE INDEX IF NOT EXISTS log_entries_payment ON log_entries(payment_id, id) WHERE payment_id != '';
CREATE INDEX IF NOT EXISTS log_entries_trace ON log_entries(trace_id, id) WHERE trace_id != '';
CREATE TABLE IF NOT EXISTS log_counts (
	res INTEGER NOT NULL,
	bucket INTEGER NOT NULL,
	service TEXT NOT NULL,
	level TEXT NOT NULL,
	n INTEGER NOT NULL,
	PRIMARY KEY (res, bucket, service, level)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS log_messages (
	bucket INTEGER NOT NULL,
	service TEXT NOT NULL,
	fingerprint TEXT NOT NULL,
	message TEXT NOT NULL,
	n INTEGER NOT NULL,
	PRIMARY KEY (bucket, service, fingerprint)
) WITHOUT ROWID;
`

// addLogSource adds the source column (which credential wrote an entry)
// to a log_entries table made before it existed; older entries read as
// an empty source.
func addLogSource(db *sql.DB) error {
	var n int
	if err := db.QueryRow(`SELECT COUNT(*) FROM pragma_table_info('log_entries') WHERE name = 'source'`).Scan(&n); err != nil {
		return fmt.Errorf("cannot read the log_entries table's columns: %w", err)
	}
	if n > 0 {
		return nil
	}
	if _, err := db.Exec(`ALTER TABLE log_entries ADD COLUMN source TEXT NOT NULL DEFAULT ''`); err != nil {
		return fmt.Errorf("cannot add the source column to log_entries: %w", err)
	}
	return nil
}

// rowsPerInsert rows go into one multi-row INSERT: far fewer statement
// executions than one per row, well under SQLite's parameter limit.
const rowsPerInsert = 256

const logCols = 9

func insertSQL(rows int) string {
	var b strings.Builder
	b.WriteString(`INSERT INTO log_entries(id, time, level, service, payment_id, trace_id, message, attributes, source) VALUES `)
	for i := range rows {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString("(?,?,?,?,?,?,?,?,?)")
	}
	return b.String()
}

var (
	fullInsert      = insertSQL(rowsPerInsert)
	qInsertLogEntry = insertSQL(1)
)

// The roll-up upserts of an ingest, prepared once (see DB.prepared).
const (
	qAddLogCounts = `INSERT INTO log_counts(res, bucket, service, level, n) VALUES (?,?,?,?,?)
		ON CONFLICT(res, bucket, service, level) DO UPDATE SET n = n + excluded.n`
	qAddLogMessages = `INSERT INTO log_messages(bucket, service, fingerprint, message, n) VALUES (?,?,?,?,?)
		ON CONFLICT(bucket, service, fingerprint) DO UPDATE SET n = n + excluded.n`
)

// InsertEntries implements logbook.Store: entries and counters in one
// transaction.
func (db *DB) InsertEntries(ctx context.Context, entries []logbook.Entry, r logbook.Rollup) error {
	// Encode outside the writer goroutine, which serialises every write.
	args := make([]any, 0, len(entries)*logCols)
	for i := range entries {
		e := &entries[i]
		var attrs any
		if len(e.Attributes) > 0 {
			b, err := json.Marshal(e.Attributes)
			if err != nil {
				return fmt.Errorf("cannot encode attributes of %s: %w", e.ID, err)
			}
			attrs = b
		}
		args = append(args, e.ID, e.Time.UnixMilli(), string(e.Level), e.Service, e.PaymentID, e.TraceID, e.Message, attrs, e.Source)
	}
	return db.exec(ctx, "insert_log_entries", func(tx *sql.Tx) error {
		rest := args
		for len(rest) >= rowsPerInsert*logCols {
			if _, err := db.txExec(tx, fullInsert, rest[:rowsPerInsert*logCols]...); err != nil {
				return err
			}
			rest = rest[rowsPerInsert*logCols:]
		}
		for ; len(rest) > 0; rest = rest[logCols:] {
			if _, err := db.txExec(tx, qInsertLogEntry, rest[:logCols]...); err != nil {
				return err
			}
		}
		for _, c := range r.Counts {
			if _, err := db.txExec(tx, qAddLogCounts, int64(c.Res/time.Second), c.Bucket.UnixMilli(), c.Service, string(c.Level), c.N); err != nil {
				return err
			}
		}
		for _, m := range r.Messages {
			if _, err := db.txExec(tx, qAddLogMessages, m.Bucket.UnixMilli(), m.Service, m.Fingerprint, m.Message, m.N); err != nil {
				return err
			}
		}
		return nil
	})
}

// SearchEntries implements logbook.Store.
func (db *DB) SearchEntries(ctx context.Context, f logbook.Filter) ([]logbook.Entry, bool, error) {
	start := time.Now()
	var where []string
	var args []any
	add := func(cond string, a ...any) {
		where = append(where, cond)
		args = append(args, a...)
	}
	switch len(f.Levels) {
	case 0:
	case 1:
		add("level = ?", string(f.Levels[0]))
	default:
		ph := make([]string, len(f.Levels))
		for i, l := range f.Levels {
			ph[i] = "?"
			args = append(args, string(l))
		}
		where = append(where, "level IN ("+strings.Join(ph, ",")+")")
	}
	if f.Service != "" {
		add("service = ?", f.Service)
	}
	if !f.From.IsZero() {
		add("time >= ?", f.From.UnixMilli())
	}
	if !f.To.IsZero() {
		add("time < ?", f.To.UnixMilli())
	}
	if f.Query != "" {
		add(`message LIKE ? ESCAPE '\'`, "%"+likeEscape(f.Query)+"%")
	}
	if f.PaymentID != "" {
		add("payment_id = ?", f.PaymentID)
	}
	if f.TraceID != "" {
		add("trace_id = ?", f.TraceID)
	}
	if f.StartingAfter != "" {
		add("id < ?", f.StartingAfter)
	}
	if f.MinID != "" {
		add("id >= ?", f.MinID)
	}
	q := `SELECT id, time, level, service, payment_id, trace_id, message, attributes, source FROM log_entries`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 50
	}
	q += " ORDER BY id DESC LIMIT ?"
	args = append(args, limit+1)
	rows, err := db.read.QueryContext(ctx, q, args...)
	if err != nil {
		err = db.readErr(err)
		observe("search_log_entries", start, err)
		return nil, false, err
	}
	defer rows.Close()
	var out []logbook.Entry
	for rows.Next() {
		var e logbook.Entry
		var t int64
		var level string
		var attrs []byte
		if err := rows.Scan(&e.ID, &t, &level, &e.Service, &e.PaymentID, &e.TraceID, &e.Message, &attrs, &e.Source); err != nil {
			return nil, false, db.readErr(err)
		}
		e.Time, e.Level = time.UnixMilli(t).UTC(), logbook.Level(level)
		if len(attrs) > 0 {
			dec := json.NewDecoder(strings.NewReader(string(attrs)))
			dec.UseNumber()
			if err := dec.Decode(&e.Attributes); err != nil {
				return nil, false, fmt.Errorf("cannot decode attributes of %s: %w", e.ID, err)
			}
		}
		out = append(out, e)
	}
	err = db.readErr(rows.Err())
	observe("search_log_entries", start, err)
	if err != nil {
		return nil, false, err
	}
	more := len(out) > limit
	if more {
		out = out[:limit]
	}
	return out, more, nil
}

func likeEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// CountsByLevel implements logbook.Store.
func (db *DB) CountsByLevel(ctx context.Context, q logbook.CountQuery) ([]logbook.BucketCount, error) {
	step := q.Step.Milliseconds()
	from := q.From.UnixMilli()
	sqlq := `SELECT (bucket - ?) / ? AS slot, level, SUM(n) FROM log_counts WHERE res = ? AND bucket >= ? AND bucket < ?`
	args := []any{from, step, int64(q.Res / time.Second), from, q.To.UnixMilli()}
	if q.Service != "" {
		sqlq += " AND service = ?"
		args = append(args, q.Service)
	}
	sqlq += " GROUP BY slot, level ORDER BY slot, level"
	var out []logbook.BucketCount
	err := db.query(ctx, "log_counts_by_level", sqlq, args, func(rows *sql.Rows) error {
		var slot, n int64
		var level string
		if err := rows.Scan(&slot, &level, &n); err != nil {
			return err
		}
		out = append(out, logbook.BucketCount{Bucket: time.UnixMilli(from + slot*step).UTC(), Level: logbook.Level(level), N: n})
		return nil
	})
	return out, err
}

// CountsByService implements logbook.Store.
func (db *DB) CountsByService(ctx context.Context, q logbook.CountQuery) (map[string]int64, error) {
	sqlq := `SELECT service, SUM(n) FROM log_counts WHERE res = ? AND bucket >= ? AND bucket < ?`
	args := []any{int64(q.Res / time.Second), q.From.UnixMilli(), q.To.UnixMilli()}
	if q.Service != "" {
		sqlq += " AND service = ?"
		args = append(args, q.Service)
	}
	sqlq += " GROUP BY service"
	out := map[string]int64{}
	err := db.query(ctx, "log_counts_by_service", sqlq, args, func(rows *sql.Rows) error {
		var s string
		var n int64
		if err := rows.Scan(&s, &n); err != nil {
			return err
		}
		out[s] = n
		return nil
	})
	return out, err
}

// TopMessages implements logbook.Store.
func (db *DB) TopMessages(ctx context.Context, q logbook.CountQuery, limit int) ([]logbook.MessageCount, error) {
	sqlq := `SELECT MIN(message), SUM(n) AS total FROM log_messages WHERE bucket >= ? AND bucket < ?`
	args := []any{q.From.UnixMilli(), q.To.UnixMilli()}
	if q.Service != "" {
		sqlq += " AND service = ?"
		args = append(args, q.Service)
	}
	sqlq += " GROUP BY fingerprint ORDER BY total DESC, MIN(message) LIMIT ?"
	args = append(args, limit)
	var out []logbook.MessageCount
	err := db.query(ctx, "log_top_messages", sqlq, args, func(rows *sql.Rows) error {
		var m logbook.MessageCount
		if err := rows.Scan(&m.Message, &m.Count); err != nil {
			return err
		}
		out = append(out, m)
		return nil
	})
	return out, err
}

func (db *DB) query(ctx context.Context, name, q string, args []any, scan func(*sql.Rows) error) error {
	start := time.Now()
	rows, err := db.read.QueryContext(ctx, q, args...)
	if err != nil {
		err = db.readErr(err)
		observe(name, start, err)
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := scan(rows); err != nil {
			return db.readErr(err)
		}
	}
	err = db.readErr(rows.Err())
	observe(name, start, err)
	return err
}

// deleteChunk bounds one retention delete so that a large sweep never
// holds the single writer (and so ingest) for long.
const deleteChunk = 10_000

// DeleteEntries implements logbook.Store.
func (db *DB) DeleteEntries(ctx context.Context, level logbook.Level, before time.Time) (int64, error) {
	bound := logbook.IDFloor(before)
	var total int64
	for {
		var n int64
		err := db.exec(ctx, "delete_log_entries", func(tx *sql.Tx) error {
			res, err := tx.Exec(`DELETE FROM log_entries WHERE id IN (SELECT id FROM log_entries WHERE level = ? AND id < ? LIMIT ?)`, string(level), bound, deleteChunk)
			if err != nil {
				return err
			}
			n, _ = res.RowsAffected()
			return nil
		})
		total += n
		if err != nil || n < deleteChunk {
			return total, err
		}
		if err := ctx.Err(); err != nil {
			return total, err
		}
	}
}

// DeleteRollups implements logbook.Store.
func (db *DB) DeleteRollups(ctx context.Context, before time.Time) (int64, error) {
	var n int64
	err := db.exec(ctx, "delete_log_rollups", func(tx *sql.Tx) error {
		a, err := tx.Exec(`DELETE FROM log_counts WHERE bucket < ?`, before.UnixMilli())
		if err != nil {
			return err
		}
		b, err := tx.Exec(`DELETE FROM log_messages WHERE bucket < ?`, before.UnixMilli())
		if err != nil {
			return err
		}
		na, _ := a.RowsAffected()
		nb, _ := b.RowsAffected()
		n = na + nb
		return nil
	})
	return n, err
}
