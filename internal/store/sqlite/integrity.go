package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/paymon/paymon/internal/dependency"
)

// integrity remembers the first sign of a damaged file. Once set, the DB
// takes no more writes (writing into a damaged b-tree or free list can
// spread the damage), Ping fails so /readyz takes the instance out, and
// the hook tells the operator once.
type integrity struct {
	err    atomic.Pointer[error]
	mu     sync.Mutex
	hook   func(error)
	called bool // hook has been told
}

// isCorrupt reports whether err is SQLite's "database disk image is
// malformed" (SQLITE_CORRUPT and its extended codes) or "file is not a
// database" (SQLITE_NOTADB).
func isCorrupt(err error) bool {
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() & 0xff {
		case sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB:
			return true
		}
	}
	return err != nil && (strings.Contains(err.Error(), "database disk image is malformed") || strings.Contains(err.Error(), "file is not a database"))
}

// classify turns a corruption error into a dependency.ErrCorrupt one and
// records it; other errors pass unchanged. The cause keeps only its text:
// a corrupt store must not also look unavailable (that invites retries).
func (db *DB) classify(err error) error {
	if err == nil || errors.Is(err, dependency.ErrCorrupt) || !isCorrupt(err) {
		return err
	}
	c := dependency.Corrupt("sqlite", errors.New(err.Error()))
	db.markCorrupt(c)
	return c
}

func (db *DB) markCorrupt(c error) {
	if !db.integrity.err.CompareAndSwap(nil, &c) {
		return
	}
	db.integrity.mu.Lock()
	hook := db.integrity.hook
	call := hook != nil && !db.integrity.called
	db.integrity.called = db.integrity.called || call
	db.integrity.mu.Unlock()
	if call {
		hook(c)
	}
}

// Corrupt returns the first corruption found (at open by quick_check or
// by any later statement), or nil.
func (db *DB) Corrupt() error {
	if p := db.integrity.err.Load(); p != nil {
		return *p
	}
	return nil
}

// OnCorrupt sets fn to be called once, with the first corruption found;
// at once when it is already known.
func (db *DB) OnCorrupt(fn func(error)) {
	db.integrity.mu.Lock()
	db.integrity.hook = fn
	call := db.integrity.err.Load() != nil
	db.integrity.called = call
	db.integrity.mu.Unlock()
	if call {
		fn(db.Corrupt())
	}
}

// quickCheck runs PRAGMA quick_check: every b-tree page and the free list,
// without the slower index-to-table cross-check of integrity_check; it
// reads the whole file once. It returns the problems found (at most 10).
func quickCheck(ctx context.Context, conn *sql.DB) ([]string, error) {
	rows, err := conn.QueryContext(ctx, "PRAGMA quick_check(10)")
	if err != nil {
		if isCorrupt(err) {
			return []string{err.Error()}, nil
		}
		return nil, fmt.Errorf("cannot run quick_check: %w", err)
	}
	defer rows.Close()
	var problems []string
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			return nil, fmt.Errorf("cannot read quick_check: %w", err)
		}
		if line != "ok" {
			problems = append(problems, line)
		}
	}
	if err := rows.Err(); err != nil {
		if isCorrupt(err) {
			return append(problems, err.Error()), nil
		}
		return nil, fmt.Errorf("cannot read quick_check: %w", err)
	}
	return problems, nil
}

// checkFile opens the file and runs quick_check before anything writes:
// a damaged file must be neither served as healthy nor migrated.
func checkFile(w *sql.DB, path string) error {
	if err := w.Ping(); err != nil {
		if isCorrupt(err) {
			return &CorruptFileError{Path: path, Problems: []string{err.Error()}}
		}
		return fmt.Errorf("cannot open %s: %w", path, err)
	}
	problems, err := quickCheck(context.Background(), w)
	if err == nil && len(problems) > 0 {
		err = &CorruptFileError{Path: path, Problems: problems}
	}
	return err
}

// CorruptFileError is Open's answer for a file that fails quick_check.
type CorruptFileError struct {
	Path     string
	Problems []string
}

func (e *CorruptFileError) Error() string {
	return fmt.Sprintf("the database %s is damaged (quick_check: %s): restore it from a backup (see docs/operations.md, \"A damaged database\")", e.Path, strings.Join(e.Problems, "; "))
}

// Is makes errors.Is(err, dependency.ErrCorrupt) hold.
func (e *CorruptFileError) Is(target error) bool { return target == dependency.ErrCorrupt }
