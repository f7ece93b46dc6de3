package syslog

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/paymon/paymon/internal/logbook"
	"github.com/paymon/paymon/internal/store/sqlite"
)

// newLogs is a real log service over a real SQLite store.
func newLogs(t *testing.T) *logbook.Service {
	t.Helper()
	db, err := sqlite.Open(filepath.Join(t.TempDir(), "paymon.db"))
	if err != nil {
		t.Fatal(err)
	}
	s := logbook.NewService(db, nil, logbook.Options{})
	t.Cleanup(func() {
		_ = s.Close()
		_ = db.Close()
	})
	return s
}

func listen(t *testing.T, logs Ingester, opt Options) *Listener {
	t.Helper()
	l, err := Listen("127.0.0.1:0", logs, opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close(context.Background()) })
	return l
}

// waitStats waits until cond holds on the listener's counters; the 30 s
// bound only turns a hang into a failure.
func waitStats(t *testing.T, l *Listener, cond func(Stats) bool) Stats {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		st := l.Stats()
		if cond(st) {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("listener stats stuck at %+v", st)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func search(t *testing.T, logs *logbook.Service, f logbook.Filter) []logbook.Entry {
	t.Helper()
	f.Limit = logbook.MaxSearchLimit
	var all []logbook.Entry
	for {
		es, more, err := logs.Search(context.Background(), f)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, es...)
		if !more || len(es) == 0 {
			return all
		}
		f.StartingAfter = es[len(es)-1].ID
	}
}

func byMessage(es []logbook.Entry) map[string]logbook.Entry {
	out := map[string]logbook.Entry{}
	for _, e := range es {
		out[e.Message] = e
	}
	return out
}

func dialTCP(t *testing.T, l *Listener) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func octet(msg string) string { return fmt.Sprintf("%d %s", len(msg), msg) }

func TestTCPOctetCountedRFC5424(t *testing.T) {
	logs := newLogs(t)
	l := listen(t, logs, Options{})
	c := dialTCP(t, l)
	var b strings.Builder
	for i := range 8 {
		// Octet counting lets a message hold newlines.
		fmt.Fprint(&b, octet(fmt.Sprintf(`<%d>1 2026-12-01T09:00:0%dZ host-%d app%d %d m%d [ctx@1 n="%d"] line %d`+"\nsecond row", 16*8+i, i, i, i, 100+i, i, i, i)))
	}
	if _, err := io.WriteString(c, b.String()); err != nil {
		t.Fatal(err)
	}
	waitStats(t, l, func(s Stats) bool { return s.Stored == 8 })
	got := byMessage(search(t, logs, logbook.Filter{}))
	levels := []logbook.Level{"fatal", "fatal", "fatal", "error", "warn", "info", "info", "debug"}
	for i := range 8 {
		e, ok := got[fmt.Sprintf("line %d\nsecond row", i)]
		if !ok {
			t.Fatalf("line %d missing; got %v", i, got)
		}
		if e.Level != levels[i] || e.Service != fmt.Sprintf("app%d", i) || !e.Time.Equal(time.Date(2026, 12, 1, 9, 0, i, 0, time.UTC)) {
			t.Errorf("line %d: %+v", i, e)
		}
		a := e.Attributes
		sd, _ := a["sd"].(map[string]any)
		ctx, _ := sd["ctx@1"].(map[string]any)
		if a["hostname"] != fmt.Sprintf("host-%d", i) || a["facility"] != "local0" || a["procid"] != fmt.Sprint(100+i) || a["msgid"] != fmt.Sprintf("m%d", i) || ctx["n"] != fmt.Sprint(i) {
			t.Errorf("line %d attributes: %v", i, a)
		}
	}
}

func TestTCPNewlineFramedRFC3164(t *testing.T) {
	logs := newLogs(t)
	l := listen(t, logs, Options{})
	c := dialTCP(t, l)
	stamp := time.Now().Add(-time.Minute).Format(time.Stamp)
	// CRLF, LF, and a last line without its LF, ended by the close.
	if _, err := io.WriteString(c, "<11>"+stamp+" web-1 checkout[42]: first\r\n<14>"+stamp+" web-1 ledger: second\n<15>"+stamp+" web-2 cron: third"); err != nil {
		t.Fatal(err)
	}
	c.Close()
	waitStats(t, l, func(s Stats) bool { return s.Stored == 3 })
	got := byMessage(search(t, logs, logbook.Filter{}))
	for msg, want := range map[string][3]string{"first": {"error", "checkout", "web-1"}, "second": {"info", "ledger", "web-1"}, "third": {"debug", "cron", "web-2"}} {
		e := got[msg]
		if string(e.Level) != want[0] || e.Service != want[1] || e.Attributes["hostname"] != want[2] || e.Attributes["facility"] != "user" {
			t.Errorf("%s: %+v", msg, e)
		}
	}
	if got["first"].Attributes["procid"] != "42" {
		t.Errorf("procid: %v", got["first"].Attributes)
	}
}

func TestTCPFramingDetectedPerMessage(t *testing.T) {
	logs := newLogs(t)
	l := listen(t, logs, Options{})
	c := dialTCP(t, l)
	in := octet("<13>1 - h a - - - counted one") + "<13>1 - h a - - - newline one\n" + octet("<13>1 - h a - - - counted two") +
		"\n" + "2 things start with a digit\n"
	if _, err := io.WriteString(c, in); err != nil {
		t.Fatal(err)
	}
	waitStats(t, l, func(s Stats) bool { return s.Stored == 4 })
	got := byMessage(search(t, logs, logbook.Filter{}))
	for _, m := range []string{"counted one", "newline one", "counted two", "2 things start with a digit"} {
		if _, ok := got[m]; !ok {
			t.Errorf("%q missing; got %v", m, got)
		}
	}
}

func TestUDP(t *testing.T) {
	logs := newLogs(t)
	l := listen(t, logs, Options{MaxMessage: 1024})
	c, err := net.Dial("udp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	stamp := time.Now().Add(-time.Minute).Format(time.Stamp)
	for _, m := range []string{
		`<27>1 - host app - - [x@1 k="v"] udp 5424`,
		"<30>" + stamp + " host daemon: udp 3164\n",
		"<13>1 - host app - - - " + strings.Repeat("x", 1100), // over MaxMessage
	} {
		if _, err := c.Write([]byte(m)); err != nil {
			t.Fatal(err)
		}
	}
	st := waitStats(t, l, func(s Stats) bool { return s.Stored+s.Skipped == 3 })
	if st.Skipped != 1 {
		t.Errorf("stats %+v: want the oversized datagram skipped", st)
	}
	got := byMessage(search(t, logs, logbook.Filter{}))
	if e := got["udp 5424"]; e.Level != logbook.LevelError || e.Service != "app" || e.Attributes["facility"] != "daemon" {
		t.Errorf("udp 5424: %+v", e)
	}
	if e := got["udp 3164"]; e.Level != logbook.LevelInfo || e.Service != "daemon" {
		t.Errorf("udp 3164: %+v", e)
	}
}

func TestOversizedFramesSkippedConnectionKept(t *testing.T) {
	logs := newLogs(t)
	l := listen(t, logs, Options{MaxMessage: 256})
	c := dialTCP(t, l)
	big := "<13>1 - h a - - - " + strings.Repeat("y", 300)
	in := octet(big) + octet("<13>1 - h a - - - after counted") + big + "\n" + "<13>1 - h a - - - after line\n"
	if _, err := io.WriteString(c, in); err != nil {
		t.Fatal(err)
	}
	st := waitStats(t, l, func(s Stats) bool { return s.Stored == 2 })
	if st.Skipped != 2 {
		t.Errorf("stats %+v: want both oversized frames skipped", st)
	}
	// The connection is still served.
	if _, err := io.WriteString(c, "<13>1 - h a - - - still open\n"); err != nil {
		t.Fatal(err)
	}
	waitStats(t, l, func(s Stats) bool { return s.Stored == 3 })
	got := byMessage(search(t, logs, logbook.Filter{}))
	for _, m := range []string{"after counted", "after line", "still open"} {
		if _, ok := got[m]; !ok {
			t.Errorf("%q missing", m)
		}
	}
}

func TestMalformedLinesSkipped(t *testing.T) {
	logs := newLogs(t)
	l := listen(t, logs, Options{})
	c := dialTCP(t, l)
	bad := []string{"<999>1 - h a - - - bad priority", "<x>oops", "<13>1 not-a-time h a - - - bad header", "<13>1 - h a - - -", "<13>1 2099-01-01T00:00:00Z h a - - - future"}
	var b strings.Builder
	for i, m := range bad {
		fmt.Fprintf(&b, "%s\n<13>1 - h a - - - good %d\n", m, i)
	}
	if _, err := io.WriteString(c, b.String()); err != nil {
		t.Fatal(err)
	}
	st := waitStats(t, l, func(s Stats) bool { return s.Stored+s.Skipped == int64(2*len(bad)) })
	if st.Stored != int64(len(bad)) || st.Skipped != int64(len(bad)) {
		t.Errorf("stats %+v, want %d stored and %d skipped", st, len(bad), len(bad))
	}
	got := byMessage(search(t, logs, logbook.Filter{}))
	for i := range bad {
		if _, ok := got[fmt.Sprintf("good %d", i)]; !ok {
			t.Errorf("good %d missing", i)
		}
	}
}

// batchCounter records the size of each store write the listener asks for.
type batchCounter struct {
	*logbook.Service
	mu    sync.Mutex
	sizes []int
}

func (b *batchCounter) IngestFrom(ctx context.Context, format, source string, es []logbook.Entry) error {
	b.mu.Lock()
	b.sizes = append(b.sizes, len(es))
	b.mu.Unlock()
	if format != logbook.FormatSyslog || source != Source {
		return fmt.Errorf("format %q, source %q", format, source)
	}
	return b.Service.IngestFrom(ctx, format, source, es)
}

func TestBatching(t *testing.T) {
	logs := &batchCounter{Service: newLogs(t)}
	const n, perBatch = 3000, 100
	l := listen(t, logs, Options{BatchLines: perBatch})
	c := dialTCP(t, l)
	var b bytes.Buffer
	for i := range n {
		b.WriteString(octet(fmt.Sprintf("<14>1 - h a - - - batched %d", i)))
	}
	if _, err := c.Write(b.Bytes()); err != nil {
		t.Fatal(err)
	}
	waitStats(t, l, func(s Stats) bool { return s.Stored == n })
	logs.mu.Lock()
	sizes := append([]int(nil), logs.sizes...)
	logs.mu.Unlock()
	largest := 0
	for _, s := range sizes {
		largest = max(largest, s)
	}
	if largest > perBatch || largest < 2 || len(sizes) >= n {
		t.Errorf("%d writes for %d lines, largest %d (cap %d): want lines to share writes", len(sizes), n, largest, perBatch)
	}
	if got := len(search(t, logs.Service, logbook.Filter{Query: "batched"})); got != n {
		t.Errorf("stored %d of %d", got, n)
	}
}

// gatedLogs holds every store write until release is closed, so a test
// can close the listener while batches are still waiting.
type gatedLogs struct {
	*logbook.Service
	release chan struct{}
}

func (g *gatedLogs) IngestFrom(ctx context.Context, format, source string, es []logbook.Entry) error {
	<-g.release
	return g.Service.IngestFrom(ctx, format, source, es)
}

func TestCloseWritesWhatWasRead(t *testing.T) {
	logs := &gatedLogs{Service: newLogs(t), release: make(chan struct{})}
	l, err := Listen("127.0.0.1:0", logs, Options{BatchLines: 10})
	if err != nil {
		t.Fatal(err)
	}
	c := dialTCP(t, l)
	var b bytes.Buffer
	for i := range 200 {
		fmt.Fprintf(&b, "<14>1 - h a - - - pending %d\n", i)
	}
	if _, err := c.Write(b.Bytes()); err != nil {
		t.Fatal(err)
	}
	// One batch is being written (held), one waits, the reader waits
	// with a third.
	waitStats(t, l, func(s Stats) bool { return s.Received >= 30 })
	closed := make(chan error, 1)
	go func() { closed <- l.Close(context.Background()) }()
	close(logs.release)
	if err := <-closed; err != nil {
		t.Fatal(err)
	}
	st := l.Stats()
	if st.Stored != st.Received || st.Stored < 30 {
		t.Errorf("after Close: %+v; want everything read stored", st)
	}
	if got := len(search(t, logs.Service, logbook.Filter{Query: "pending"})); int64(got) != st.Stored {
		t.Errorf("found %d entries, stats say %d stored", got, st.Stored)
	}
	// The connection was closed by the listener.
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Read(make([]byte, 1)); err == nil || isTimeout(err) {
		t.Errorf("read after Close: %v, want the connection closed", err)
	}
}

func isTimeout(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}

func TestIdleConnectionClosed(t *testing.T) {
	l := listen(t, newLogs(t), Options{IdleTimeout: 100 * time.Millisecond})
	c := dialTCP(t, l)
	_ = c.SetReadDeadline(time.Now().Add(20 * time.Second))
	if _, err := c.Read(make([]byte, 1)); err == nil || isTimeout(err) {
		t.Errorf("read: %v, want the idle connection closed by the listener", err)
	}
}

func TestMaxConnections(t *testing.T) {
	logs := newLogs(t)
	l := listen(t, logs, Options{MaxConns: 2})
	for i := range 2 {
		c := dialTCP(t, l)
		fmt.Fprintf(c, "<14>1 - h a - - - conn %d\n", i)
	}
	waitStats(t, l, func(s Stats) bool { return s.Stored == 2 })
	extra := dialTCP(t, l)
	_ = extra.SetReadDeadline(time.Now().Add(20 * time.Second))
	if _, err := extra.Read(make([]byte, 1)); err == nil || isTimeout(err) {
		t.Errorf("third connection: %v, want it closed", err)
	}
}

func TestListenErrors(t *testing.T) {
	l := listen(t, newLogs(t), Options{})
	if _, err := Listen(l.Addr().String(), nil, Options{}); err == nil || !strings.Contains(err.Error(), "cannot listen for syslog") {
		t.Errorf("second listener on the same port: %v", err)
	}
	if _, err := Listen("no-port", nil, Options{}); err == nil {
		t.Error("want an error for an address without a port")
	}
}
