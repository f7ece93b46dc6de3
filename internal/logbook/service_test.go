package logbook_test

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/paymon/paymon/internal/cache"
	"github.com/paymon/paymon/internal/logbook"
	"github.com/paymon/paymon/internal/store/sqlite"
)

func newDB(t *testing.T) *sqlite.DB {
	t.Helper()
	db, err := sqlite.Open(filepath.Join(t.TempDir(), "paymon.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

func newService(t *testing.T, store logbook.Store, c logbook.Cache, opt logbook.Options) *logbook.Service {
	t.Helper()
	s := logbook.NewService(store, c, opt)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func msgs(es []logbook.Entry) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.Message
	}
	return out
}

func TestIngestRedactsStoresAndNotifies(t *testing.T) {
	db := newDB(t)
	mem := cache.NewMemory(1000)
	t.Cleanup(func() { _ = mem.Close() })
	s := newService(t, db, mem, logbook.Options{})
	var mu sync.Mutex
	var notified []logbook.Entry
	s.OnIngest(func(_ context.Context, es []logbook.Entry) {
		mu.Lock()
		notified = append(notified, es...)
		mu.Unlock()
	})
	in := []logbook.Entry{
		{Level: logbook.LevelInfo, Service: "checkout", Message: "card 4111 1111 1111 1111 ok", Attributes: map[string]any{"password": "x"}},
		{Level: logbook.LevelError, Service: "checkout", Message: "upstream said Bearer abcdefghijklmnop"},
	}
	if err := s.Ingest(context.Background(), in); err != nil {
		t.Fatal(err)
	}
	got, _, err := s.Search(context.Background(), logbook.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"upstream said Bearer [REDACTED:token]", "card [REDACTED:card] ok"}
	if !slices.Equal(msgs(got), want) {
		t.Fatalf("stored %q, want %q", msgs(got), want)
	}
	if got[1].Attributes["password"] != logbook.Redacted || !strings.HasPrefix(got[0].ID, "log_") || got[0].Time.IsZero() {
		t.Fatalf("stored entry %+v", got[1])
	}
	// Hooks run just after the answer: wait for them.
	var seen []logbook.Entry
	for deadline := time.Now().Add(10 * time.Second); len(seen) < 2 && time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		mu.Lock()
		seen = slices.Clone(notified)
		mu.Unlock()
	}
	if len(seen) != 2 || seen[0].ID == "" {
		t.Fatalf("OnIngest saw %d entries", len(seen))
	}
	// Recent comes from the cache, critical levels from their own list.
	rec, src, err := s.Recent(context.Background(), 2, nil)
	if err != nil || src != "cache" || !slices.Equal(msgs(rec), want) {
		t.Fatalf("recent = %q from %s (%v)", msgs(rec), src, err)
	}
	rec, src, err = s.Recent(context.Background(), 1, []logbook.Level{logbook.LevelError, logbook.LevelFatal})
	if err != nil || src != "cache" || !slices.Equal(msgs(rec), want[:1]) {
		t.Fatalf("recent critical = %q from %s (%v)", msgs(rec), src, err)
	}
	// More than the cache holds (and it is not full): the store completes it.
	rec, src, err = s.Recent(context.Background(), 10, nil)
	if err != nil || src != "store" || !slices.Equal(msgs(rec), want) {
		t.Fatalf("recent 10 = %q from %s (%v)", msgs(rec), src, err)
	}
	// A level the cache does not keep apart is read from the store.
	rec, src, err = s.Recent(context.Background(), 10, []logbook.Level{logbook.LevelInfo})
	if err != nil || src != "store" || !slices.Equal(msgs(rec), want[1:]) {
		t.Fatalf("recent info = %q from %s (%v)", msgs(rec), src, err)
	}
}

func TestRecentFallsBackToStore(t *testing.T) {
	db := newDB(t)
	s1 := newService(t, db, nil, logbook.Options{})
	if err := s1.Ingest(context.Background(), []logbook.Entry{{Message: "a"}, {Message: "b", Level: logbook.LevelFatal}}); err != nil {
		t.Fatal(err)
	}
	// A fresh cache (a restart) knows nothing: the store answers.
	mem := cache.NewMemory(1000)
	t.Cleanup(func() { _ = mem.Close() })
	s2 := newService(t, db, mem, logbook.Options{})
	rec, src, err := s2.Recent(context.Background(), 10, nil)
	if err != nil || src != "store" || !slices.Equal(msgs(rec), []string{"b", "a"}) {
		t.Fatalf("recent = %q from %s (%v)", msgs(rec), src, err)
	}
}

// gatedStore holds the first write until released, so the test can queue
// requests behind it and see them merged.
type gatedStore struct {
	logbook.Store
	gate    chan struct{}
	entered chan struct{}
	once    sync.Once
	mu      sync.Mutex
	writes  []int
}

func (g *gatedStore) InsertEntries(ctx context.Context, es []logbook.Entry, r logbook.Rollup) error {
	g.once.Do(func() { close(g.entered); <-g.gate })
	g.mu.Lock()
	g.writes = append(g.writes, len(es))
	g.mu.Unlock()
	return g.Store.InsertEntries(ctx, es, r)
}

func TestConcurrentRequestsShareOneWrite(t *testing.T) {
	g := &gatedStore{Store: newDB(t), gate: make(chan struct{}), entered: make(chan struct{})}
	s := newService(t, g, nil, logbook.Options{})
	var wg sync.WaitGroup
	errs := make(chan error, 11)
	ingest := func(i int) {
		defer wg.Done()
		errs <- s.Ingest(context.Background(), []logbook.Entry{{Message: fmt.Sprintf("m%d", i)}, {Message: "x"}})
	}
	wg.Add(1)
	go ingest(0)
	// Wait until the flusher holds request 0, then queue ten more.
	<-g.entered
	for i := 1; i <= 10; i++ {
		wg.Add(1)
		go ingest(i)
	}
	for logbook.QueuedRequests(s) != 10 {
		time.Sleep(time.Millisecond)
	}
	close(g.gate)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if want := []int{2, 20}; !slices.Equal(g.writes, want) {
		t.Fatalf("store writes of %v entries, want %v", g.writes, want)
	}
	got, _, err := s.Search(context.Background(), logbook.Filter{Limit: 100})
	if err != nil || len(got) != 22 {
		t.Fatalf("stored %d entries (%v), want 22", len(got), err)
	}
}

func TestIngestFailsAfterCloseButDrainsEmits(t *testing.T) {
	db := newDB(t)
	s := logbook.NewService(db, nil, logbook.Options{})
	for i := range 5 {
		s.Emit(logbook.Entry{Service: "paymon", Message: fmt.Sprintf("own %d", i), Time: time.Now()})
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Ingest(context.Background(), []logbook.Entry{{Message: "late"}}); err == nil {
		t.Fatal("Ingest after Close succeeded")
	}
	got, _, err := db.SearchEntries(context.Background(), logbook.Filter{Service: "paymon", Limit: 10})
	if err != nil || len(got) != 5 {
		t.Fatalf("%d emitted entries stored (%v), want 5", len(got), err)
	}
}

func TestStatsAfterMixedIngest(t *testing.T) {
	db := newDB(t)
	now := time.Date(2026, 11, 25, 12, 34, 56, 0, time.UTC)
	s := newService(t, db, nil, logbook.Options{Now: func() time.Time { return now }})
	levels := []logbook.Level{logbook.LevelDebug, logbook.LevelInfo, logbook.LevelInfo, logbook.LevelWarn, logbook.LevelError, logbook.LevelFatal}
	services := []string{"checkout", "ledger", "paymon"}
	messages := []string{"timeout after %dms", "payment %d accepted", "cache miss"}
	var all []logbook.Entry
	for i := range 600 {
		all = append(all, logbook.Entry{
			Time:    now.Add(-time.Duration(i*97%(3*3600)) * time.Second), // spread over the last 3 hours
			Level:   levels[i%len(levels)],
			Service: services[i%len(services)],
			Message: fmt.Sprintf(messages[i%len(messages)], i),
		})
	}
	// Mixed request sizes and shapes: single entries, small and big batches.
	for i := 0; i < len(all); {
		n := []int{1, 7, 50, 200}[i%4]
		n = min(n, len(all)-i)
		if err := s.Ingest(context.Background(), slices.Clone(all[i:i+n])); err != nil {
			t.Fatal(err)
		}
		i += n
	}
	for _, tc := range []struct {
		name    string
		q       logbook.StatsQuery
		service string
	}{
		{"last 4h by 15m", logbook.StatsQuery{From: now.Add(-4 * time.Hour), To: now, Step: 15 * time.Minute}, ""},
		{"one service by 1h", logbook.StatsQuery{From: now.Add(-2 * time.Hour), To: now, Step: time.Hour, Service: "ledger"}, "ledger"},
		{"default range and step", logbook.StatsQuery{}, ""},
		{"1m steps", logbook.StatsQuery{From: now.Add(-30 * time.Minute), Step: time.Minute}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, err := s.Stats(context.Background(), tc.q)
			if err != nil {
				t.Fatal(err)
			}
			step, err := time.ParseDuration(st.Step)
			if err != nil {
				t.Fatalf("step %q: %v", st.Step, err)
			}
			// Expected values computed from the entries themselves.
			wantTotal, wantErr := int64(0), int64(0)
			wantLevel := map[logbook.Level]int64{}
			wantService := map[string]int64{}
			wantSeries := map[time.Time]int64{}
			for _, e := range all {
				if e.Time.Before(st.From) || !e.Time.Before(st.To) || (tc.service != "" && e.Service != tc.service) {
					continue
				}
				wantTotal++
				wantLevel[e.Level]++
				wantService[e.Service]++
				wantSeries[e.Time.Truncate(step)]++
				if e.Level.Critical() {
					wantErr++
				}
			}
			if st.Total != wantTotal || wantTotal == 0 {
				t.Fatalf("total = %d, want %d (non-zero)", st.Total, wantTotal)
			}
			for _, l := range logbook.Levels {
				if st.ByLevel[l] != wantLevel[l] {
					t.Errorf("by_level[%s] = %d, want %d", l, st.ByLevel[l], wantLevel[l])
				}
			}
			if fmt.Sprint(st.ByService) != fmt.Sprint(wantService) {
				t.Errorf("by_service = %v, want %v", st.ByService, wantService)
			}
			if want := float64(wantErr) / float64(wantTotal); st.ErrorRate != want {
				t.Errorf("error_rate = %v, want %v", st.ErrorRate, want)
			}
			if len(st.Series) != int(st.To.Sub(st.From)/step) {
				t.Errorf("%d points for %s..%s by %s", len(st.Series), st.From, st.To, step)
			}
			for _, p := range st.Series {
				var sum int64
				for _, n := range p.ByLevel {
					sum += n
				}
				if sum != wantSeries[p.Time] {
					t.Errorf("series at %s = %d, want %d", p.Time, sum, wantSeries[p.Time])
				}
			}
			if len(st.TopMessages) == 0 || len(st.TopMessages) > logbook.TopMessages {
				t.Errorf("top messages = %v", st.TopMessages)
			}
			for i := 1; i < len(st.TopMessages); i++ {
				if st.TopMessages[i].Count > st.TopMessages[i-1].Count {
					t.Errorf("top messages not sorted: %v", st.TopMessages)
				}
			}
		})
	}
	if _, err := s.Stats(context.Background(), logbook.StatsQuery{From: now, To: now.Add(-time.Hour)}); err == nil {
		t.Error("from after to accepted")
	}
	if _, err := s.Stats(context.Background(), logbook.StatsQuery{From: now.Add(-48 * time.Hour), Step: time.Minute}); err == nil {
		t.Error("2880 points accepted")
	}
	if _, err := s.Stats(context.Background(), logbook.StatsQuery{Step: 90 * time.Second}); err == nil {
		t.Error("step of 90s accepted")
	}
}

func TestSweepByLevel(t *testing.T) {
	db := newDB(t)
	clock := time.Now()
	var mu sync.Mutex
	s := newService(t, db, nil, logbook.Options{
		Retention: map[logbook.Level]time.Duration{logbook.LevelDebug: time.Hour, logbook.LevelInfo: 3 * time.Hour, logbook.LevelError: 30 * time.Hour},
		Now: func() time.Time {
			mu.Lock()
			defer mu.Unlock()
			return clock
		},
	})
	var es []logbook.Entry
	for _, l := range logbook.Levels {
		es = append(es, logbook.Entry{Level: l, Message: string(l)})
	}
	if err := s.Ingest(context.Background(), es); err != nil {
		t.Fatal(err)
	}
	left := func() []string {
		got, _, err := s.Search(context.Background(), logbook.Filter{})
		if err != nil {
			t.Fatal(err)
		}
		out := msgs(got)
		slices.Sort(out)
		return out
	}
	for _, step := range []struct {
		after time.Duration
		want  []string
	}{
		{30 * time.Minute, []string{"debug", "error", "fatal", "info", "warn"}},
		{2 * time.Hour, []string{"error", "fatal", "info", "warn"}},
		{4 * time.Hour, []string{"error", "fatal", "warn"}},
		{31 * time.Hour, []string{"fatal", "warn"}}, // no retention set: kept
	} {
		mu.Lock()
		clock = time.Now().Add(step.after)
		mu.Unlock()
		if _, err := s.Sweep(context.Background()); err != nil {
			t.Fatal(err)
		}
		if got := left(); !slices.Equal(got, step.want) {
			t.Fatalf("after %s: %v, want %v", step.after, got, step.want)
		}
	}
	// Counters outlive the entries.
	st, err := s.Stats(context.Background(), logbook.StatsQuery{From: time.Now().Add(-time.Hour), To: time.Now().Add(time.Minute)})
	if err != nil || st.Total != 5 {
		t.Fatalf("stats total after sweeps = %v (%v), want 5", st, err)
	}
}
