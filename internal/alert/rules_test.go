package alert_test

import (
	"context"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/paymon/paymon/internal/alert"
	"github.com/paymon/paymon/internal/logbook"
	"github.com/paymon/paymon/internal/payment"
	"github.com/paymon/paymon/internal/payment/provider/simulator"
	"github.com/paymon/paymon/internal/store/sqlite"
)

// clock is the injected time of a test.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: time.Date(2026, 5, 6, 12, 0, 30, 0, time.UTC)} }

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }

func (c *clock) Advance(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }

func openDB(t *testing.T) *sqlite.DB {
	t.Helper()
	db, err := sqlite.Open(filepath.Join(t.TempDir(), "paymon.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// newPayments is a real payment service (simulator, SQLite) on clock c.
func newPayments(t *testing.T, db *sqlite.DB, c *clock) *payment.Service {
	t.Helper()
	sim := simulator.New(simulator.Options{Now: c.Now})
	s, err := payment.NewService(db, nil, []payment.Provider{sim}, payment.Options{DefaultProvider: "simulator", Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// pay creates n payments with the simulator outcome ("succeed", "fail", "pending").
func pay(t *testing.T, s *payment.Service, n int, outcome string) {
	t.Helper()
	for i := 0; i < n; i++ {
		st, body, err := s.Create(context.Background(), "test", "", payment.CreateRequest{
			Amount: 1250, Currency: "EUR", Metadata: map[string]string{"simulate": outcome},
		})
		if err != nil || st >= 300 {
			t.Fatalf("create %s: %d %s %v", outcome, st, body, err)
		}
	}
}

func eval(t *testing.T, r alert.Rule, now time.Time) []alert.Finding {
	t.Helper()
	fs, err := r.Evaluate(context.Background(), now)
	if err != nil {
		t.Fatalf("%s: %v", r.Name(), err)
	}
	return fs
}

func TestFailureRate(t *testing.T) {
	c := newClock()
	ps := newPayments(t, openDB(t), c)
	r := &alert.FailureRate{Stats: ps, Window: 5 * time.Minute, Ratio: 0.2, MinPayments: 20}

	pay(t, ps, 10, "fail")
	if fs := eval(t, r, c.Now()); len(fs) != 0 {
		t.Fatalf("fired below the minimum volume (10 finished): %+v", fs)
	}
	pay(t, ps, 5, "pending") // pending payments have no outcome: not counted
	if fs := eval(t, r, c.Now()); len(fs) != 0 {
		t.Fatalf("fired with pending payments counted: %+v", fs)
	}
	pay(t, ps, 40, "succeed") // 10/50 = 20%: not above the ratio
	if fs := eval(t, r, c.Now()); len(fs) != 0 {
		t.Fatalf("fired at exactly the ratio: %+v", fs)
	}
	c.Advance(2 * time.Minute)
	pay(t, ps, 1, "fail") // 11/51 > 20%
	fs := eval(t, r, c.Now())
	if len(fs) != 1 || len(fs[0].Labels) != 0 || !strings.Contains(fs[0].Summary, "51 payments") {
		t.Fatalf("findings = %+v, want one about 51 payments", fs)
	}
	// Once the failures are older than the window, they no longer count.
	c.Advance(6 * time.Minute)
	pay(t, ps, 25, "succeed")
	if fs := eval(t, r, c.Now()); len(fs) != 0 {
		t.Fatalf("failures outside the window still counted: %+v", fs)
	}
}

func TestFailureStreak(t *testing.T) {
	c := newClock()
	ps := newPayments(t, openDB(t), c)
	r := &alert.FailureStreak{Payments: ps, N: 10}

	if fs := eval(t, r, c.Now()); len(fs) != 0 {
		t.Fatalf("fired without payments: %+v", fs)
	}
	pay(t, ps, 3, "succeed")
	pay(t, ps, 9, "fail")
	if fs := eval(t, r, c.Now()); len(fs) != 0 {
		t.Fatalf("fired after 9 failures: %+v", fs)
	}
	// Pending payments between failures neither break nor extend the streak.
	pay(t, ps, 150, "pending")
	if fs := eval(t, r, c.Now()); len(fs) != 0 {
		t.Fatalf("pending payments counted as failures: %+v", fs)
	}
	pay(t, ps, 1, "fail")
	fs := eval(t, r, c.Now())
	if len(fs) != 1 || fs[0].Labels["provider"] != "simulator" {
		t.Fatalf("findings = %+v, want one for provider simulator", fs)
	}
	pay(t, ps, 1, "succeed")
	if fs := eval(t, r, c.Now()); len(fs) != 0 {
		t.Fatalf("still firing after a success: %+v", fs)
	}
}

func TestNoPayments(t *testing.T) {
	c := newClock()
	ps := newPayments(t, openDB(t), c)
	r := &alert.NoPayments{Stats: ps, History: ps, Window: 15 * time.Minute}

	c.Advance(time.Hour)
	if fs := eval(t, r, c.Now()); len(fs) != 0 {
		t.Fatalf("fresh install without any payment paged: %+v", fs)
	}
	pay(t, ps, 1, "succeed")
	c.Advance(14 * time.Minute)
	if fs := eval(t, r, c.Now()); len(fs) != 0 {
		t.Fatalf("fired 14 minutes after a payment: %+v", fs)
	}
	c.Advance(2 * time.Minute)
	fs := eval(t, r, c.Now())
	if len(fs) != 1 || !strings.Contains(fs[0].Summary, "15m") {
		t.Fatalf("findings after 16 quiet minutes = %+v, want one", fs)
	}
	pay(t, ps, 1, "fail") // any created payment counts, whatever its outcome
	if fs := eval(t, r, c.Now()); len(fs) != 0 {
		t.Fatalf("still firing after a new payment: %+v", fs)
	}
}

// logErrors adapts the real log service, as internal/app does.
type logErrors struct{ logs *logbook.Service }

func (l logErrors) CountErrors(ctx context.Context, from, to time.Time) (int64, error) {
	st, err := l.logs.Stats(ctx, logbook.StatsQuery{From: from, To: to, Step: time.Minute})
	if err != nil {
		return 0, err
	}
	return st.ByLevel[logbook.LevelError] + st.ByLevel[logbook.LevelFatal], nil
}

func TestErrorLogSpike(t *testing.T) {
	c := newClock()
	logs := logbook.NewService(openDB(t), nil, logbook.Options{Now: c.Now})
	t.Cleanup(func() { logs.Close() })
	r := &alert.ErrorLogSpike{Counter: logErrors{logs}, Window: 5 * time.Minute, Threshold: 20}
	ingest := func(n int, level logbook.Level) {
		t.Helper()
		es := make([]logbook.Entry, n)
		for i := range es {
			es[i] = logbook.Entry{Time: c.Now(), Level: level, Service: "checkout", Message: "boom"}
		}
		if err := logs.Ingest(context.Background(), es); err != nil {
			t.Fatal(err)
		}
	}
	ingest(500, logbook.LevelInfo)
	ingest(15, logbook.LevelError)
	ingest(5, logbook.LevelFatal)
	if fs := eval(t, r, c.Now()); len(fs) != 0 {
		t.Fatalf("fired at the threshold (20 error/fatal): %+v", fs)
	}
	ingest(1, logbook.LevelFatal)
	fs := eval(t, r, c.Now())
	if len(fs) != 1 || !strings.Contains(fs[0].Summary, "21 error/fatal") {
		t.Fatalf("findings = %+v, want one about 21 entries", fs)
	}
	c.Advance(10 * time.Minute)
	if fs := eval(t, r, c.Now()); len(fs) != 0 {
		t.Fatalf("old errors still counted: %+v", fs)
	}
}
