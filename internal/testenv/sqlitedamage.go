package testenv

import (
	"bytes"
	"database/sql"
	"os"
	"testing"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// DamageSQLiteTable writes garbage over every page of table's b-tree in
// the SQLite file at path, as a failing disk would, and returns how many
// pages it overwrote. It reads the page numbers from SQLite's dbstat
// table; what is still in a -wal file is not touched, so stop the server
// cleanly first (Close checkpoints the WAL into the file) or damage a file
// whose pages nobody has rewritten since it was opened.
func DamageSQLiteTable(t testing.TB, path, table string) int {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	var pageSize int64
	if err := db.QueryRow("PRAGMA page_size").Scan(&pageSize); err != nil {
		t.Fatalf("cannot read the page size of %s: %v", path, err)
	}
	rows, err := db.Query("SELECT pageno FROM dbstat WHERE name = ?", table)
	if err != nil {
		t.Fatalf("cannot list the pages of %s: %v", table, err)
	}
	var pages []int64
	for rows.Next() {
		var p int64
		if err := rows.Scan(&p); err != nil {
			t.Fatal(err)
		}
		pages = append(pages, p)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	rows.Close()
	db.Close()
	if len(pages) == 0 {
		t.Fatalf("table %s has no pages in %s", table, path)
	}
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	// 0xA5 is no valid b-tree page type: SQLite reports the page malformed.
	garbage := bytes.Repeat([]byte{0xA5}, int(pageSize))
	for _, p := range pages {
		if _, err := f.WriteAt(garbage, (p-1)*pageSize); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	return len(pages)
}
