package app_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/paymon/paymon/internal/app"
	"github.com/paymon/paymon/internal/config"
	"github.com/paymon/paymon/internal/logbook"
)

func newSyslogApp(t *testing.T, dataDir, addr string) (*app.App, error) {
	t.Helper()
	cfg, err := config.Load(nil, []string{"PAYMON_DATA_DIR=" + dataDir, "PAYMON_ADMIN_PASSWORD=test-admin-password", "PAYMON_SYSLOG_ADDR=" + addr}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	return app.New(context.Background(), cfg, slog.New(slog.DiscardHandler), io.Discard, "test")
}

// The listener writes what it has read before the log service closes:
// lines read just before Close are found after a restart.
func TestSyslogListenerWiredAndClosedFirst(t *testing.T) {
	dir := t.TempDir()
	a, err := newSyslogApp(t, dir, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.Dial("tcp", a.Syslog.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	const n = 50
	for i := range n {
		fmt.Fprintf(c, "<11>1 - host wired - - - wired %d\n", i)
	}
	deadline := time.Now().Add(30 * time.Second)
	for a.Syslog.Stats().Received < n {
		if time.Now().After(deadline) {
			t.Fatalf("stats %+v", a.Syslog.Stats())
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if st := a.Syslog.Stats(); st.Stored != n || st.Failed != 0 {
		t.Fatalf("after Close: %+v", st)
	}
	b, err := newSyslogApp(t, dir, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	es, _, err := b.Logs.Search(context.Background(), logbook.Filter{Service: "wired", Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if len(es) != n || es[0].Level != logbook.LevelError {
		t.Fatalf("found %d entries (want %d), first %+v", len(es), n, es)
	}
}

func TestSyslogListenFailureNamesTheSetting(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	_, err = newSyslogApp(t, t.TempDir(), taken.Addr().String())
	if err == nil || !strings.Contains(err.Error(), "PAYMON_SYSLOG_ADDR") {
		t.Fatalf("err = %v, want a start-up error naming PAYMON_SYSLOG_ADDR", err)
	}
}
