// Package sqlite is the embedded default store: one SQLite file in WAL mode
// with synchronous=FULL, so a nil error from a write means the write is on
// disk. All writes go through one goroutine that commits concurrent writers
// together (group commit): one fsync serves a whole batch.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/paymon/paymon/internal/dependency"
	"github.com/paymon/paymon/internal/metrics"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// DB is an open Paymon database. It implements payment.Store, auth.Store
// and logbook.Store.
type DB struct {
	read  *sql.DB
	write *sql.DB
	// ckpt copies the WAL into the database file, off the writer's path
	// (see checkpointer).
	ckpt      *sql.DB
	wal       walTuning
	walFrames atomic.Int64 // WAL length seen by the last checkpoint
	// prepared holds the hot statements, prepared once on the single write
	// connection: parsing SQL was a tenth of the create path's CPU.
	prepared map[string]*sql.Stmt
	ops      chan *op
	done     chan struct{}
	wg       sync.WaitGroup

	integrity integrity // see integrity.go

	closeOnce sync.Once
	mu        sync.RWMutex
	closed    bool
}

type op struct {
	name string
	fn   func(*sql.Tx) error
	err  chan error
}

const maxBatch = 512

// Open opens or creates the database file at path and migrates it.
func Open(path string) (*DB, error) {
	return open(path, walTuning{checkpointEvery: checkpointEvery, resetFrames: walResetFrames})
}

// walTuning sets when the WAL is copied back and started over; tests
// shrink it to see a reset happen.
type walTuning struct {
	checkpointEvery time.Duration
	resetFrames     int64
}

func open(path string, wal walTuning) (*DB, error) {
	if err := createPrivate(path); err != nil {
		return nil, err
	}
	dsn := "file:" + path + "?_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_pragma=busy_timeout(10000)&_pragma=foreign_keys(ON)&_pragma=temp_store(MEMORY)&_pragma=wal_autocheckpoint(0)&_txlock=immediate"
	w, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("cannot open %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	if err := checkFile(w, path); err != nil {
		w.Close()
		return nil, err
	}
	if err := migrate(w); err != nil {
		w.Close()
		return nil, err
	}
	r, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)&_pragma=query_only(1)")
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("cannot open %s for reading: %w", path, err)
	}
	r.SetMaxOpenConns(8)
	r.SetMaxIdleConns(8)
	c, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)&_pragma=synchronous(FULL)")
	if err != nil {
		w.Close()
		r.Close()
		return nil, fmt.Errorf("cannot open %s for checkpoints: %w", path, err)
	}
	c.SetMaxOpenConns(1)
	db := &DB{read: r, write: w, ckpt: c, wal: wal, ops: make(chan *op, 4096), done: make(chan struct{}), prepared: map[string]*sql.Stmt{}}
	for _, q := range hotStatements {
		st, err := w.Prepare(q)
		if err != nil {
			w.Close()
			r.Close()
			c.Close()
			return nil, fmt.Errorf("cannot prepare %q: %w", q, err)
		}
		db.prepared[q] = st
	}
	db.wg.Add(2)
	go db.writer()
	go db.checkpointer()
	return db, nil
}

// Close waits for queued writes, then closes the file.
func (db *DB) Close() error {
	var err error
	db.closeOnce.Do(func() {
		db.mu.Lock()
		db.closed = true
		db.mu.Unlock()
		close(db.done)
		db.wg.Wait()
		for _, st := range db.prepared {
			st.Close()
		}
		err = errors.Join(db.ckpt.Close(), db.read.Close(), db.write.Close())
	})
	return err
}

// Ping checks that the file still answers.
func (db *DB) Ping(ctx context.Context) error {
	if err := db.Corrupt(); err != nil {
		return err
	}
	var one int
	if err := db.read.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
		if err := db.classify(err); errors.Is(err, dependency.ErrCorrupt) {
			return err
		}
		return dependency.Unavailable("sqlite", err)
	}
	return nil
}

var errClosed = dependency.Unavailable("sqlite", errors.New("database closed"))

// exec queues fn to run inside the next group-commit transaction and waits
// until that transaction is committed. fn may run twice (see
// commitTogether): it must set whatever it reports from scratch on each
// run and change nothing outside tx.
func (db *DB) exec(ctx context.Context, name string, fn func(*sql.Tx) error) error {
	start := time.Now()
	if err := db.Corrupt(); err != nil {
		return err
	}
	o := &op{name: name, fn: fn, err: make(chan error, 1)}
	db.mu.RLock()
	if db.closed {
		db.mu.RUnlock()
		return errClosed
	}
	select {
	case db.ops <- o:
	case <-ctx.Done():
		db.mu.RUnlock()
		return ctx.Err()
	}
	db.mu.RUnlock()
	// Once queued the write will happen; wait for it even if ctx ends so the
	// caller never reports failure for a write that is committed.
	err := db.classify(<-o.err)
	observe(name, start, err)
	return err
}

func observe(name string, start time.Time, err error) {
	metrics.StoreOperationDuration.WithLabelValues("sqlite", name).Observe(time.Since(start).Seconds())
	if err != nil && !isDomainErr(err) {
		metrics.StoreErrors.WithLabelValues("sqlite", name).Inc()
	}
}

func (db *DB) writer() {
	defer db.wg.Done()
	batch := make([]*op, 0, maxBatch)
	for {
		select {
		case o := <-db.ops:
			batch = append(batch[:0], o)
		case <-db.done:
			// Drain what was queued before Close.
			for {
				select {
				case o := <-db.ops:
					db.commit([]*op{o})
				default:
					return
				}
			}
		}
	fill:
		for len(batch) < maxBatch {
			select {
			case o := <-db.ops:
				batch = append(batch, o)
			default:
				break fill
			}
		}
		db.commit(batch)
		db.resetWAL()
	}
}

func (db *DB) commit(batch []*op) {
	metrics.StoreBatchSize.Observe(float64(len(batch)))
	if !db.commitTogether(batch) {
		db.commitIsolated(batch)
	}
}

// commitTogether runs the batch in one transaction without savepoints,
// the common case: savepoints copied every page each write touched into
// a statement journal and cost three statements per write. When a write
// of a larger batch fails it rolls back and reports false, with nothing
// written; the batch then runs again with savepoints so the others still
// commit (an op's fn may therefore run twice, its first run rolled back).
// A batch of one needs no second run: its error is its answer.
func (db *DB) commitTogether(batch []*op) bool {
	tx, err := db.write.Begin()
	if err != nil {
		fail(batch, dependency.Unavailable("sqlite", err))
		return true
	}
	for _, o := range batch {
		if err := o.fn(tx); err != nil {
			_ = tx.Rollback()
			if len(batch) == 1 {
				o.err <- err
				return true
			}
			return false
		}
	}
	db.finish(tx, batch, nil)
	return true
}

// commitIsolated runs each write of the batch in its own savepoint, so a
// failing write is rolled back alone and reports its own error.
func (db *DB) commitIsolated(batch []*op) {
	tx, err := db.write.Begin()
	if err != nil {
		fail(batch, dependency.Unavailable("sqlite", err))
		return
	}
	errs := make([]error, len(batch))
	for i, o := range batch {
		if _, err := db.txExec(tx, qSavepoint); err != nil {
			errs[i] = err
			continue
		}
		errs[i] = o.fn(tx)
		if errs[i] != nil {
			if _, err := db.txExec(tx, qRollbackTo); err != nil {
				errs[i] = errors.Join(errs[i], err)
			}
		}
		if _, err := db.txExec(tx, qRelease); err != nil && errs[i] == nil {
			errs[i] = err
		}
	}
	db.finish(tx, batch, errs)
}

// finish commits tx and gives each op its result: errs[i], or nil when
// errs is nil; every op fails if the commit does.
func (db *DB) finish(tx *sql.Tx, batch []*op, errs []error) {
	if err := tx.Commit(); err != nil {
		_ = tx.Rollback()
		fail(batch, dependency.Unavailable("sqlite", fmt.Errorf("commit: %w", err)))
		return
	}
	for i, o := range batch {
		var err error
		if errs != nil {
			err = errs[i]
		}
		o.err <- err
	}
}

const (
	qSavepoint  = "SAVEPOINT op"
	qRollbackTo = "ROLLBACK TO op"
	qRelease    = "RELEASE op"
)

const (
	// checkpointEvery is how often the checkpointer copies committed WAL
	// frames into the database file.
	checkpointEvery = 100 * time.Millisecond
	// walResetFrames is the WAL length (16 MiB of 4 KiB pages) past which
	// the writer finishes the checkpoint itself between two batches, so
	// that the WAL starts again from its beginning.
	walResetFrames = 4096
)

// checkpointer does SQLite's automatic checkpoint (turned off on the
// write connection) from its own connection. Done inside a commit, every
// thousandth page cost that commit a copy of the WAL into the database
// and an extra fsync, and all its waiting writers with it: creates/s
// fell by a quarter. A passive checkpoint runs beside the writer; but
// the writer keeps appending, so it never copies the very last frames
// and SQLite cannot start the WAL over: the writer's resetWAL does that
// small remainder.
func (db *DB) checkpointer() {
	defer db.wg.Done()
	t := time.NewTicker(db.wal.checkpointEvery)
	defer t.Stop()
	for {
		select {
		case <-db.done:
			return
		case <-t.C:
		}
		if frames, _, ok := checkpoint(db.ckpt); ok {
			db.walFrames.Store(frames)
		}
	}
}

// resetWAL runs on the writer between batches once the WAL is long: with
// no write in progress the checkpoint copies the last frames, and the
// next transaction writes the WAL from its beginning again.
func (db *DB) resetWAL() {
	if db.walFrames.Load() < db.wal.resetFrames {
		return
	}
	if frames, copied, ok := checkpoint(db.write); ok && frames == copied {
		db.walFrames.Store(0)
	}
}

// checkpoint runs a passive checkpoint on conn and returns the WAL's
// length and how much of it is now in the database file; ok is false when
// it failed or another checkpoint was running.
func checkpoint(conn *sql.DB) (frames, copied int64, ok bool) {
	var busy int
	if err := conn.QueryRow("PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &frames, &copied); err != nil {
		slog.Warn("sqlite checkpoint failed", "err", err)
		return 0, 0, false
	}
	return frames, copied, busy == 0
}

// txExec runs q inside tx, through its prepared statement when it is one of
// hotStatements.
func (db *DB) txExec(tx *sql.Tx, q string, args ...any) (sql.Result, error) {
	if st, ok := db.prepared[q]; ok {
		return tx.Stmt(st).Exec(args...)
	}
	return tx.Exec(q, args...)
}

func fail(batch []*op, err error) {
	for _, o := range batch {
		o.err <- err
	}
}

// schemas lists every table definition; each domain's file adds its own
// in init, so adding a domain never edits another domain's schema.
var schemas = []string{schema}

func migrate(db *sql.DB) error {
	if err := upgradeIdempotency(db); err != nil {
		return err
	}
	for _, stmt := range strings.Split(strings.Join(schemas, ";\n"), ";\n") {
		if strings.TrimSpace(stmt) == "" {
			continue
		}
		if _, err := db.Exec(stmt); err != nil {
			return fmt.Errorf("cannot migrate: %w (in %q)", err, strings.TrimSpace(stmt))
		}
	}
	for _, up := range upgrades {
		if err := up(db); err != nil {
			return err
		}
	}
	return nil
}

// upgrades bring tables made by an older version up to date once every
// schema exists; each domain's file adds its own in init, and each must
// be a no-op on a current table.
var upgrades []func(*sql.DB) error

const schema = `
CREATE TABLE IF NOT EXISTS payments (
	id TEXT PRIMARY KEY,
	status TEXT NOT NULL,
	provider TEXT NOT NULL,
	currency TEXT NOT NULL,
	provider_payment_id TEXT NOT NULL DEFAULT '',
	created_at INTEGER NOT NULL,
	version INTEGER NOT NULL,
	doc BLOB NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS payments_status ON payments(status, id);
CREATE INDEX IF NOT EXISTS payments_provider ON payments(provider, id);
CREATE INDEX IF NOT EXISTS payments_currency ON payments(currency, id);
CREATE INDEX IF NOT EXISTS payments_created ON payments(created_at);
CREATE INDEX IF NOT EXISTS payments_pending ON payments(status, created_at) WHERE status = 'pending';
CREATE UNIQUE INDEX IF NOT EXISTS payments_provider_pid ON payments(provider, provider_payment_id) WHERE provider_payment_id != '';
` + idempotencyTable + `;
CREATE INDEX IF NOT EXISTS idempotency_expires ON idempotency(expires_at);
CREATE TABLE IF NOT EXISTS webhook_events (
	provider TEXT NOT NULL,
	event_id TEXT NOT NULL,
	received_at INTEGER NOT NULL,
	PRIMARY KEY (provider, event_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS payment_stats (
	bucket INTEGER NOT NULL,
	kind TEXT NOT NULL,
	currency TEXT NOT NULL,
	count INTEGER NOT NULL,
	amount INTEGER NOT NULL,
	PRIMARY KEY (bucket, kind, currency)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS users (
	id TEXT PRIMARY KEY,
	email TEXT NOT NULL UNIQUE,
	password_hash TEXT NOT NULL,
	role TEXT NOT NULL,
	created_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS refresh_tokens (
	hash TEXT PRIMARY KEY,
	family TEXT NOT NULL,
	user_id TEXT NOT NULL,
	used INTEGER NOT NULL DEFAULT 0,
	revoked INTEGER NOT NULL DEFAULT 0,
	expires_at INTEGER NOT NULL,
	created_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS refresh_tokens_family ON refresh_tokens(family);
CREATE INDEX IF NOT EXISTS refresh_tokens_expires ON refresh_tokens(expires_at);
CREATE TABLE IF NOT EXISTS api_keys (
	id TEXT PRIMARY KEY,
	name TEXT NOT NULL,
	prefix TEXT NOT NULL,
	hash TEXT NOT NULL UNIQUE,
	role TEXT NOT NULL,
	created_by TEXT NOT NULL,
	created_at INTEGER NOT NULL,
	revoked_at INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS settings (
	name TEXT PRIMARY KEY,
	value BLOB NOT NULL
) WITHOUT ROWID;
`

// upgradeIdempotency moves a database made before idempotency became a
// rowid table. Keyed by the client's key with the stored response inline,
// the old table put each create on its own random, nearly full leaf page:
// 58% of the pages written to the WAL. As a rowid table the responses are
// appended and only the small key index is touched at random.
func upgradeIdempotency(db *sql.DB) error {
	var def string
	err := db.QueryRow(`SELECT sql FROM sqlite_schema WHERE type = 'table' AND name = 'idempotency'`).Scan(&def)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && !strings.Contains(def, "WITHOUT ROWID")) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("cannot read the idempotency table's definition: %w", err)
	}
	tx, err := db.Begin()
	if err != nil {
		return fmt.Errorf("cannot upgrade the idempotency table: %w", err)
	}
	defer tx.Rollback()
	for _, stmt := range []string{
		`DROP INDEX IF EXISTS idempotency_expires`,
		`ALTER TABLE idempotency RENAME TO idempotency_old`,
		idempotencyTable,
		`INSERT INTO idempotency(key, request_hash, payment_id, status, body, locked_until, created_at, expires_at)
			SELECT key, request_hash, payment_id, status, body, locked_until, created_at, expires_at FROM idempotency_old`,
		`DROP TABLE idempotency_old`,
	} {
		if _, err := tx.Exec(stmt); err != nil {
			return fmt.Errorf("cannot upgrade the idempotency table: %w (in %q)", err, stmt)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("cannot upgrade the idempotency table: %w", err)
	}
	return nil
}

// idempotencyTable is a rowid table (see upgradeIdempotency).
const idempotencyTable = `CREATE TABLE IF NOT EXISTS idempotency (
	key TEXT NOT NULL UNIQUE,
	request_hash TEXT NOT NULL,
	payment_id TEXT NOT NULL,
	status INTEGER NOT NULL DEFAULT 0,
	body BLOB,
	locked_until INTEGER NOT NULL,
	created_at INTEGER NOT NULL,
	expires_at INTEGER NOT NULL
)`

func ms(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func fromMS(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMilli(v).UTC()
}

func isUnique(err error) bool {
	return err != nil && strings.Contains(err.Error(), "UNIQUE constraint failed")
}
