package sqlite

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	"github.com/paymon/paymon/internal/id"
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

// A data dir made before entries recorded their source opens with the
// column added; its entries read with an empty source and new ones keep
// theirs.
func TestLogSourceUpgradesOldTable(t *testing.T) {
	path := filepath.Join(t.TempDir(), "paymon.db")
	old, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	for _, stmt := range []string{
		`CREATE TABLE log_entries (id TEXT PRIMARY KEY, time INTEGER NOT NULL, level TEXT NOT NULL, service TEXT NOT NULL,
			payment_id TEXT NOT NULL DEFAULT '', trace_id TEXT NOT NULL DEFAULT '', message TEXT NOT NULL, attributes BLOB) WITHOUT ROWID`,
		`INSERT INTO log_entries(id, time, level, service, message) VALUES ('log_00000000000000000001', 1767225600000, 'info', 'checkout', 'old entry')`,
	} {
		if _, err := old.Exec(stmt); err != nil {
			t.Fatal(err)
		}
	}
	if err := old.Close(); err != nil {
		t.Fatal(err)
	}
	for range 2 { // the second open finds the column and changes nothing
		db, err := Open(path)
		if err != nil {
			t.Fatalf("Open an old data dir: %v", err)
		}
		e := logbook.Entry{ID: id.New("log"), Time: time.Now(), Level: logbook.LevelInfo, Service: "checkout", Message: "new entry", Source: "key:key_1"}
		if err := db.InsertEntries(context.Background(), []logbook.Entry{e}, logbook.BuildRollup([]logbook.Entry{e})); err != nil {
			t.Fatal(err)
		}
		got, _, err := db.SearchEntries(context.Background(), logbook.Filter{Service: "checkout", Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		sources := map[string]string{}
		for _, g := range got {
			sources[g.Message] = g.Source
		}
		if src, ok := sources["old entry"]; !ok || src != "" || sources["new entry"] != "key:key_1" {
			t.Fatalf("sources after upgrade: %v", sources)
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
	}
}
