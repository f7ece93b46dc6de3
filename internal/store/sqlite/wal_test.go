package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/paymon/paymon/internal/payment"
	_ "modernc.org/sqlite"
)

// TestWALStartsOverUnderSustainedWrites keeps the writer busy without a
// pause: checkpoints beside it never copy the last frames, so without the
// writer's own reset the WAL would only grow.
func TestWALStartsOverUnderSustainedWrites(t *testing.T) {
	path := filepath.Join(t.TempDir(), "paymon.db")
	db, err := open(path, walTuning{checkpointEvery: 5 * time.Millisecond, resetFrames: 64})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	ctx := context.Background()
	blob := make([]byte, 16<<10)
	const total = 12 << 20
	var written atomic.Int64
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; written.Load() < total; i++ {
				err := db.exec(ctx, "test", func(tx *sql.Tx) error {
					_, err := tx.Exec(`INSERT INTO settings(name, value) VALUES (?, ?)`, fmt.Sprintf("g%d-%d", g, i), blob)
					return err
				})
				if err != nil {
					t.Error(err)
					return
				}
				written.Add(int64(len(blob)))
			}
		}()
	}
	wg.Wait()
	st, err := os.Stat(path + "-wal")
	if err != nil {
		t.Fatal(err)
	}
	// The WAL file keeps its largest size; it must be a small part of
	// what went through it.
	if st.Size() > total/4 {
		t.Fatalf("WAL grew to %d bytes for %d bytes written; want a writer that restarts it", st.Size(), written.Load())
	}
	t.Logf("WAL at most %d KiB for %d MiB written", st.Size()>>10, written.Load()>>20)
}

// TestUpgradesIdempotencyTable opens a database made when idempotency was
// a WITHOUT ROWID table: the rows survive and the table is a rowid table.
func TestUpgradesIdempotencyTable(t *testing.T) {
	path := filepath.Join(t.TempDir(), "paymon.db")
	old, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	for _, stmt := range []string{
		`CREATE TABLE idempotency (
			key TEXT PRIMARY KEY, request_hash TEXT NOT NULL, payment_id TEXT NOT NULL,
			status INTEGER NOT NULL DEFAULT 0, body BLOB, locked_until INTEGER NOT NULL,
			created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL) WITHOUT ROWID`,
		`CREATE INDEX idempotency_expires ON idempotency(expires_at)`,
		`INSERT INTO idempotency VALUES ('payments.create:usr_1:k1', 'h1', 'pay_1', 201, '{"id":"pay_1"}', 0, 1, 4102444800000)`,
	} {
		if _, err := old.Exec(stmt); err != nil {
			t.Fatal(err)
		}
	}
	old.Close()

	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	// A second claim of the key returns the stored record.
	rec, err := db.ClaimIdempotency(context.Background(), payment.IdempotencyRecord{Key: "payments.create:usr_1:k1", RequestHash: "h2", PaymentID: "pay_2"})
	if err != nil || rec == nil || rec.PaymentID != "pay_1" || rec.Status != 201 || string(rec.Body) != `{"id":"pay_1"}` {
		t.Fatalf("after upgrade: %+v, %v", rec, err)
	}
	var def string
	if err := db.read.QueryRow(`SELECT sql FROM sqlite_schema WHERE name = 'idempotency'`).Scan(&def); err != nil || strings.Contains(def, "WITHOUT ROWID") {
		t.Fatalf("idempotency table is still %q (%v)", def, err)
	}
	var n int
	if err := db.read.QueryRow(`SELECT count(*) FROM sqlite_schema WHERE name IN ('idempotency_expires', 'idempotency_old')`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("want the expiry index and no leftover table: %d (%v)", n, err)
	}
}
