//go:build unix

package app_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/paymon/paymon/internal/app"
	"github.com/paymon/paymon/internal/config"
)

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startIn runs app.New on dataDir with a generated admin password under
// umask 022 and returns what it logged.
func startIn(t *testing.T, dataDir string) string {
	t.Helper()
	old := syscall.Umask(0o022)
	t.Cleanup(func() { syscall.Umask(old) })
	cfg, err := config.Load(nil, []string{"PAYMON_DATA_DIR=" + dataDir, "PAYMON_ADMIN_EMAIL=admin@example.test"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	var logs syncBuffer
	a, err := app.New(context.Background(), cfg, slog.New(slog.NewTextHandler(&logs, nil)), io.Discard, "test")
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	return logs.String()
}

// TestFreshDataDirFilesAreOwnerOnly: a first start under umask 022 makes
// the data dir 0700 and every file in it (database, -wal, -shm, the
// initial admin password) 0600, and warns about nothing.
func TestFreshDataDirFilesAreOwnerOnly(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	logs := startIn(t, dir)
	st, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if m := st.Mode().Perm(); m != 0o700 {
		t.Errorf("data dir mode %#o, want 0700", m)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, e := range entries {
		info, err := e.Info()
		if err != nil {
			t.Fatal(err)
		}
		names[e.Name()] = true
		if m := info.Mode().Perm(); m != 0o600 {
			t.Errorf("%s mode %#o, want 0600", e.Name(), m)
		}
	}
	if !names["paymon.db"] || !names["initial-admin-password"] {
		t.Errorf("data dir holds %v; want paymon.db and initial-admin-password among them", names)
	}
	if strings.Contains(logs, "accessible to other local users") {
		t.Errorf("a fresh data dir was reported loose:\n%s", logs)
	}
}

// TestLooseDataDirIsReportedAtStart: an existing data dir readable by
// others gets a warning naming the path and the mode.
func TestLooseDataDirIsReportedAtStart(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	logs := startIn(t, dir)
	var line string
	for _, l := range strings.Split(logs, "\n") {
		if strings.Contains(l, "accessible to other local users") && strings.Contains(l, "path="+dir+" ") {
			line = l
		}
	}
	if line == "" || !strings.Contains(line, "mode=0755") || !strings.Contains(line, "level=WARN") {
		t.Fatalf("no warning naming %s and mode 0755 in:\n%s", dir, logs)
	}
}
