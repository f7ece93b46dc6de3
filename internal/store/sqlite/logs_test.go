package sqlite

import (
	"path/filepath"
	"testing"

	"github.com/paymon/paymon/internal/logbook"
	"github.com/paymon/paymon/internal/logbook/logbooktest"
)

func TestLogbookStore(t *testing.T) {
	logbooktest.RunStoreTests(t, func(t *testing.T) logbook.Store {
		db, err := Open(filepath.Join(t.TempDir(), "paymon.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = db.Close() })
		return db
	})
}
