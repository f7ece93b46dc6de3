package sqlite

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// The database holds the JWT signing secret and the password hashes:
// whoever reads it can mint an admin token. So the data dir is made
// owner-only (0700) and the database is created 0600 before SQLite opens
// it; SQLite gives its -wal and -shm files the database file's mode.
const (
	dirMode  fs.FileMode = 0o700
	fileMode fs.FileMode = 0o600
)

// createPrivate makes the data dir and an empty database file, owner-only
// whatever the umask, unless they exist (existing ones are left as they
// are; LoosePermissions reports them).
func createPrivate(path string) error {
	dir := filepath.Dir(path)
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		if err := os.MkdirAll(dir, dirMode); err != nil {
			return fmt.Errorf("cannot create data dir: %w", err)
		}
	} else if err != nil {
		return fmt.Errorf("cannot read the data dir: %w", err)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, fileMode)
	if errors.Is(err, fs.ErrExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("cannot create %s: %w", path, err)
	}
	return f.Close()
}

// Loose is a path in the data dir that others than its owner may access.
type Loose struct {
	Path string
	Mode fs.FileMode
}

// LoosePermissions lists the data dir itself and the files directly in it
// whose mode gives group or others any access.
func LoosePermissions(dir string) ([]Loose, error) {
	var out []Loose
	st, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("cannot read the data dir: %w", err)
	}
	if st.Mode().Perm()&0o077 != 0 {
		out = append(out, Loose{Path: dir, Mode: st.Mode().Perm()})
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("cannot list the data dir: %w", err)
	}
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		info, err := e.Info()
		if err != nil {
			continue // removed meanwhile
		}
		if info.Mode().Perm()&0o077 != 0 {
			out = append(out, Loose{Path: filepath.Join(dir, e.Name()), Mode: info.Mode().Perm()})
		}
	}
	return out, nil
}
