package sqlite_test

import (
	"path/filepath"
	"testing"

	"github.com/paymon/paymon/internal/alert"
	"github.com/paymon/paymon/internal/alert/alerttest"
	"github.com/paymon/paymon/internal/store/sqlite"
)

func TestAlertStoreConformance(t *testing.T) {
	alerttest.Run(t, func(t *testing.T) alert.Store {
		db, err := sqlite.Open(filepath.Join(t.TempDir(), "paymon.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	})
}
