package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// TestBatchWithAFailingWrite puts a failing write in the middle of one
// group commit: its own changes must vanish, the others' must commit, and
// each caller must get its own result.
func TestBatchWithAFailingWrite(t *testing.T) {
	db, err := Open(filepath.Join(t.TempDir(), "paymon.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	ctx := context.Background()
	put := func(tx *sql.Tx, name string) error {
		_, err := tx.Exec(`INSERT INTO settings(name, value) VALUES (?, x'00')`, name)
		return err
	}

	// Hold the writer so that the next writes queue up into one batch.
	entered, release := make(chan struct{}), make(chan struct{})
	held := make(chan error, 1)
	go func() {
		held <- db.exec(ctx, "hold", func(tx *sql.Tx) error {
			close(entered)
			<-release
			return put(tx, "hold")
		})
	}()
	<-entered
	boom := errors.New("boom")
	const n = 9
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = db.exec(ctx, "test", func(tx *sql.Tx) error {
				if err := put(tx, fmt.Sprintf("w%d", i)); err != nil {
					return err
				}
				if i == n/2 {
					return boom // after writing: the write must be undone
				}
				return nil
			})
		}()
	}
	for len(db.ops) < n {
		time.Sleep(time.Millisecond)
	}
	close(release)
	wg.Wait()
	if err := <-held; err != nil {
		t.Fatalf("held write: %v", err)
	}
	for i, err := range errs {
		var one int
		rerr := db.read.QueryRow(`SELECT 1 FROM settings WHERE name = ?`, fmt.Sprintf("w%d", i)).Scan(&one)
		if i == n/2 {
			if !errors.Is(err, boom) || !errors.Is(rerr, sql.ErrNoRows) {
				t.Errorf("failing write: err %v, row lookup %v; want boom and no row", err, rerr)
			}
			continue
		}
		if err != nil || rerr != nil {
			t.Errorf("write %d: err %v, row lookup %v; want committed", i, err, rerr)
		}
	}
}
