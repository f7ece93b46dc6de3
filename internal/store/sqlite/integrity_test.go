package sqlite

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/paymon/paymon/internal/dependency"
	"github.com/paymon/paymon/internal/logbook"
	"github.com/paymon/paymon/internal/payment"
	"github.com/paymon/paymon/internal/testenv"
)

// filledDB creates a database with enough log entries to span many pages,
// closes it (which checkpoints the WAL into the file) and returns its path.
func filledDB(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "paymon.db")
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	entries := make([]logbook.Entry, 2000)
	now := time.Now().UTC()
	for i := range entries {
		entries[i] = logbook.Entry{ID: fmt.Sprintf("log_%06d", i), Time: now, Level: logbook.LevelInfo, Service: "checkout",
			Message: fmt.Sprintf("order %d placed with a message long enough to fill pages", i)}
	}
	if err := db.InsertEntries(context.Background(), entries, logbook.Rollup{}); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestOpenRefusesADamagedFile: quick_check at open finds damaged pages and
// Open fails with an error that names the file and is ErrCorrupt, instead
// of serving the file as healthy.
func TestOpenRefusesADamagedFile(t *testing.T) {
	path := filledDB(t)
	if n := testenv.DamageSQLiteTable(t, path, "log_entries"); n < 2 {
		t.Fatalf("damaged only %d pages", n)
	}
	db, err := Open(path)
	if err == nil {
		db.Close()
		t.Fatal("Open accepted a damaged file")
	}
	if !errors.Is(err, dependency.ErrCorrupt) || errors.Is(err, dependency.ErrUnavailable) || !strings.Contains(err.Error(), path) {
		t.Fatalf("Open: %v (want ErrCorrupt naming %s, not ErrUnavailable)", err, path)
	}
}

// TestCorruptionFoundAtRunTimeFencesTheStore: pages damaged after open
// surface as ErrCorrupt (not ErrUnavailable, which invites retries) from
// the query that meets them; from then on Ping fails, writes are refused
// and the hook is told exactly once.
func TestCorruptionFoundAtRunTimeFencesTheStore(t *testing.T) {
	path := filledDB(t)
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	var told []error
	db.OnCorrupt(func(err error) { told = append(told, err) })
	ctx := context.Background()
	if err := db.Ping(ctx); err != nil {
		t.Fatalf("Ping before the damage: %v", err)
	}
	testenv.DamageSQLiteTable(t, path, "log_entries")

	// A text search reads every page of the table.
	_, _, err = db.SearchEntries(ctx, logbook.Filter{Query: "no such message", Limit: 10})
	if !errors.Is(err, dependency.ErrCorrupt) || errors.Is(err, dependency.ErrUnavailable) {
		t.Fatalf("search over damaged pages: %v (want ErrCorrupt, not ErrUnavailable)", err)
	}
	if err := db.Ping(ctx); !errors.Is(err, dependency.ErrCorrupt) {
		t.Fatalf("Ping after corruption was found: %v", err)
	}
	p := &payment.Payment{ID: "pay_after_damage", Status: payment.StatusPending, Provider: "simulator", Currency: "EUR", Amount: 100, CreatedAt: time.Now()}
	if _, err := db.CreatePayment(ctx, p, nil); !errors.Is(err, dependency.ErrCorrupt) {
		t.Fatalf("a write after corruption was found: %v", err)
	}
	if _, err := db.GetPayment(ctx, p.ID); !errors.Is(err, payment.ErrNotFound) {
		t.Fatalf("the refused write was made: %v", err)
	}
	if len(told) != 1 || !errors.Is(told[0], dependency.ErrCorrupt) {
		t.Fatalf("OnCorrupt hook calls: %v", told)
	}
	// A hook set later still hears of it.
	var late error
	db.OnCorrupt(func(err error) { late = err })
	if !errors.Is(late, dependency.ErrCorrupt) {
		t.Fatalf("late hook: %v", late)
	}
}
