//go:build unix

package sqlite

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// withUmask runs the test under umask (the common 022 makes 0644 files),
// restoring the previous one after.
func withUmask(t *testing.T, mask int) {
	old := syscall.Umask(mask)
	t.Cleanup(func() { syscall.Umask(old) })
}

func mode(t *testing.T, path string) fs.FileMode {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return st.Mode().Perm()
}

// TestFreshDataDirIsPrivate: under umask 022 a new data dir is 0700 and
// the database with its -wal and -shm files 0600.
func TestFreshDataDirIsPrivate(t *testing.T) {
	withUmask(t, 0o022)
	dir := filepath.Join(t.TempDir(), "data", "paymon")
	path := filepath.Join(dir, "paymon.db")
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.GetOrCreateSecret(context.Background(), "jwt_secret", []byte("0123456789abcdef0123456789abcdef")); err != nil {
		t.Fatal(err)
	}
	if m := mode(t, dir); m != 0o700 {
		t.Errorf("data dir mode %#o, want 0700", m)
	}
	for _, f := range []string{path, path + "-wal", path + "-shm"} {
		if m := mode(t, f); m != 0o600 {
			t.Errorf("%s mode %#o, want 0600", filepath.Base(f), m)
		}
	}
	if loose, err := LoosePermissions(dir); err != nil || len(loose) != 0 {
		t.Errorf("LoosePermissions of a fresh data dir = %+v, %v; want none", loose, err)
	}
}

// TestLoosePermissionsAreListed: an existing dir and database made readable
// by others (an older version, a chmod) are reported, and left as they are.
func TestLoosePermissionsAreListed(t *testing.T) {
	withUmask(t, 0o022)
	dir := filepath.Join(t.TempDir(), "data")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "paymon.db")
	if err := os.WriteFile(path, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	loose, err := LoosePermissions(dir)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]fs.FileMode{}
	for _, l := range loose {
		got[l.Path] = l.Mode
	}
	if got[dir] != 0o755 || got[path] != 0o644 {
		t.Fatalf("LoosePermissions = %+v; want the dir (0755) and paymon.db (0644)", loose)
	}
}
