package sqlite_test

import (
	"path/filepath"
	"testing"

	"github.com/paymon/paymon/internal/store/sqlite"
	"github.com/paymon/paymon/internal/webhook/webhooktest"
)

func TestWebhookStoreConformance(t *testing.T) {
	webhooktest.Run(t, func(t *testing.T) webhooktest.Store {
		db, err := sqlite.Open(filepath.Join(t.TempDir(), "paymon.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	})
}
