package payment_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/paymon/paymon/internal/cache"
	"github.com/paymon/paymon/internal/payment"
	"github.com/paymon/paymon/internal/payment/provider/simulator"
	"github.com/paymon/paymon/internal/store/sqlite"
)

func newDB(t *testing.T) *sqlite.DB {
	t.Helper()
	db, err := sqlite.Open(filepath.Join(t.TempDir(), "p.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func newService(t *testing.T, db *sqlite.DB, opt payment.Options, extra ...payment.Provider) *payment.Service {
	t.Helper()
	if opt.DefaultProvider == "" {
		opt.DefaultProvider = "simulator"
	}
	provs := append([]payment.Provider{simulator.New(simulator.Options{})}, extra...)
	s, err := payment.NewService(db, cache.NewMemory(1000), provs, opt)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func decode(t *testing.T, b []byte) *payment.Payment {
	t.Helper()
	var p payment.Payment
	if err := json.Unmarshal(b, &p); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
	return &p
}

func req(amount int64, cur string, simulate string) payment.CreateRequest {
	r := payment.CreateRequest{Amount: amount, Currency: cur}
	if simulate != "" {
		r.Metadata = map[string]string{"simulate": simulate}
	}
	return r
}

func TestCreateOutcomes(t *testing.T) {
	s := newService(t, newDB(t), payment.Options{})
	ctx := context.Background()
	cases := []struct {
		simulate string
		status   payment.Status
		reason   string
	}{
		{"succeed", payment.StatusSucceeded, ""},
		{"fail", payment.StatusFailed, "card_declined"},
		{"decline_insufficient_funds", payment.StatusFailed, "insufficient_funds"},
		{"pending", payment.StatusPending, ""},
		{"timeout", payment.StatusPending, ""},
	}
	for _, c := range cases {
		st, body, err := s.Create(ctx, "usr_1", "", req(1000, "EUR", c.simulate))
		if err != nil || st != 201 {
			t.Fatalf("%s: %d %v", c.simulate, st, err)
		}
		p := decode(t, body)
		if p.Status != c.status || p.FailureReason != c.reason {
			t.Errorf("%s: status %s reason %q", c.simulate, p.Status, p.FailureReason)
		}
		stored, err := s.Get(ctx, p.ID)
		if err != nil || stored.Status != c.status {
			t.Errorf("%s: stored %v %v", c.simulate, stored, err)
		}
	}
}

func TestCreateValidatesMoney(t *testing.T) {
	s := newService(t, newDB(t), payment.Options{})
	ctx := context.Background()
	bad := []payment.CreateRequest{
		{Amount: 0, Currency: "EUR"}, {Amount: -5, Currency: "EUR"}, {Amount: 100, Currency: "XXX"},
		{Amount: 100, Currency: "eur"}, {Amount: 1_000_000_000_001, Currency: "EUR"},
		{Amount: 100, Currency: "EUR", Provider: "bitcoin"},
	}
	for _, r := range bad {
		var inv *payment.InvalidError
		if _, _, err := s.Create(ctx, "u", "", r); !errors.As(err, &inv) {
			t.Errorf("%+v: err = %v, want InvalidError", r, err)
		}
	}
	for _, cur := range []string{"JPY", "KWD", "EUR"} {
		if st, _, err := s.Create(ctx, "u", "", req(1, cur, "succeed")); err != nil || st != 201 {
			t.Errorf("%s minimal amount refused: %v", cur, err)
		}
	}
}

func TestIdempotentReplayIsByteForByte(t *testing.T) {
	s := newService(t, newDB(t), payment.Options{})
	ctx := context.Background()
	_, first, err := s.Create(ctx, "u", "key-1", req(1000, "EUR", "succeed"))
	if err != nil {
		t.Fatal(err)
	}
	_, again, err := s.Create(ctx, "u", "key-1", req(1000, "EUR", "succeed"))
	if err != nil || !bytes.Equal(first, again) {
		t.Fatalf("replay differs: %v\n%s\n%s", err, first, again)
	}
	if _, _, err := s.Create(ctx, "u", "key-1", req(1001, "EUR", "succeed")); !errors.Is(err, payment.ErrKeyReused) {
		t.Fatalf("other body: err = %v", err)
	}
	// Another principal's identical key is another request.
	_, other, err := s.Create(ctx, "v", "key-1", req(1000, "EUR", "succeed"))
	if err != nil || decode(t, other).ID == decode(t, first).ID {
		t.Fatalf("key not scoped by principal: %v", err)
	}
	// Refusals are replayed too.
	st1, b1, _ := s.Create(ctx, "u", "key-2", req(1000, "EUR", "fail"))
	st2, b2, _ := s.Create(ctx, "u", "key-2", req(1000, "EUR", "fail"))
	if st1 != st2 || !bytes.Equal(b1, b2) {
		t.Fatal("failed payment replay differs")
	}
}

func TestConcurrentDuplicatesCreateOnePayment(t *testing.T) {
	g := &gatedProvider{}
	db := newDB(t)
	s := newService(t, db, payment.Options{DefaultProvider: "gated"}, g)
	var wg sync.WaitGroup
	bodies := make([][]byte, 20)
	errs := make([]error, 20)
	for i := range bodies {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, bodies[i], errs[i] = s.Create(context.Background(), "u", "same-key", req(500, "USD", ""))
		}()
	}
	wg.Wait()
	for i := range bodies {
		if errs[i] != nil {
			t.Fatalf("request %d: %v", i, errs[i])
		}
		if !bytes.Equal(bodies[i], bodies[0]) {
			t.Fatalf("request %d body differs:\n%s\n%s", i, bodies[i], bodies[0])
		}
	}
	if n := g.calls.Load(); n != 1 {
		t.Fatalf("provider called %d times, want 1", n)
	}
	ps, _, err := db.ListPayments(context.Background(), payment.ListFilter{Limit: 100})
	if err != nil || len(ps) != 1 {
		t.Fatalf("stored %d payments (%v), want 1", len(ps), err)
	}
}

func TestInFlightDuplicateGets409AfterWait(t *testing.T) {
	g := &gatedProvider{release: make(chan struct{}), entered: make(chan struct{}, 1)}
	s := newService(t, newDB(t), payment.Options{DefaultProvider: "gated", IdempotencyWait: 100 * time.Millisecond}, g)
	done := make(chan error, 1)
	go func() {
		_, _, err := s.Create(context.Background(), "u", "slow", req(500, "USD", ""))
		done <- err
	}()
	<-g.entered
	if _, _, err := s.Create(context.Background(), "u", "slow", req(500, "USD", "")); !errors.Is(err, payment.ErrKeyInFlight) {
		t.Fatalf("err = %v, want ErrKeyInFlight", err)
	}
	close(g.release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Create(context.Background(), "u", "slow", req(500, "USD", "")); err != nil {
		t.Fatalf("after completion: %v", err)
	}
}

func TestExpiredLeaseIsResumedWithSamePayment(t *testing.T) {
	db := newDB(t)
	now := time.Now()
	clock := func() time.Time { return now }
	g := &gatedProvider{err: errors.New("connection reset")} // outcome unknown: payment stays pending, key unfinished
	s := newService(t, db, payment.Options{DefaultProvider: "gated", Now: clock, IdempotencyLease: time.Second}, g)
	st, body, err := s.Create(context.Background(), "u", "crashy", req(700, "EUR", ""))
	if err != nil {
		t.Fatal(err)
	}
	first := decode(t, body)
	if st != 201 || first.Status != payment.StatusPending {
		t.Fatalf("first: %d %s", st, first.Status)
	}
	// The response was stored: a retry replays it rather than charging again.
	_, again, err := s.Create(context.Background(), "u", "crashy", req(700, "EUR", ""))
	if err != nil || !bytes.Equal(body, again) {
		t.Fatalf("replay: %v", err)
	}
	if g.calls.Load() != 1 {
		t.Fatalf("provider called %d times", g.calls.Load())
	}
}

func TestStoreFailureFreesKey(t *testing.T) {
	db := newDB(t)
	s := newService(t, db, payment.Options{})
	db.Close() // every write now fails as unavailable
	if _, _, err := s.Create(context.Background(), "u", "k", req(100, "EUR", "succeed")); err == nil {
		t.Fatal("create on a closed store succeeded")
	}
}

func TestRecentServedFromCacheAndStore(t *testing.T) {
	db := newDB(t)
	s := newService(t, db, payment.Options{RecentSize: 5})
	ctx := context.Background()
	var ids []string
	for i := 0; i < 7; i++ {
		_, b, err := s.Create(ctx, "u", "", req(int64(100+i), "EUR", "pending"))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, decode(t, b).ID)
	}
	ps, source, err := s.Recent(ctx, 10)
	if err != nil || source != "cache" || len(ps) != 5 || ps[0].ID != ids[6] || ps[4].ID != ids[2] {
		t.Fatalf("recent: %s %d %v", source, len(ps), err)
	}
	// A status change shows in the recent list.
	if _, err := s.Cancel(ctx, ids[6], ""); err != nil {
		t.Fatal(err)
	}
	ps, _, _ = s.Recent(ctx, 1)
	if ps[0].Status != payment.StatusCanceled {
		t.Fatalf("recent shows stale status %s", ps[0].Status)
	}
	// A cold cache (a restarted instance) falls back to the store.
	cold, err := payment.NewService(db, cache.NewMemory(10), []payment.Provider{simulator.New(simulator.Options{})}, payment.Options{DefaultProvider: "simulator", RecentSize: 5})
	if err != nil {
		t.Fatal(err)
	}
	ps, source, err = cold.Recent(ctx, 3)
	if err != nil || source != "store" || len(ps) != 3 || ps[0].ID != ids[6] {
		t.Fatalf("cold recent: %s %d %v", source, len(ps), err)
	}
	if _, source, _ = cold.Recent(ctx, 3); source != "cache" {
		t.Fatalf("cache not refilled: %s", source)
	}
	// A cache restarted empty that has seen only newer payments is not
	// taken for the whole recent list.
	restarted, _ := payment.NewService(db, cache.NewMemory(10), []payment.Provider{simulator.New(simulator.Options{})}, payment.Options{DefaultProvider: "simulator", RecentSize: 5})
	_, b, _ := restarted.Create(ctx, "u", "", req(999, "EUR", "succeed"))
	newest := decode(t, b).ID
	ps, source, err = restarted.Recent(ctx, 5)
	if err != nil || source != "store" || len(ps) != 5 || ps[0].ID != newest || ps[1].ID != ids[6] {
		t.Fatalf("after cache restart: %s %d %v", source, len(ps), err)
	}
	ps, source, _ = restarted.Recent(ctx, 5)
	if source != "cache" || len(ps) != 5 || ps[4].ID != ids[3] {
		t.Fatalf("refilled list: %s %d", source, len(ps))
	}
}

func TestRefundAndCancelRules(t *testing.T) {
	s := newService(t, newDB(t), payment.Options{})
	ctx := context.Background()
	_, b, _ := s.Create(ctx, "u", "", req(1000, "JPY", "succeed"))
	p := decode(t, b)
	if _, _, err := s.Refund(ctx, "u", "r1", p.ID, payment.RefundRequest{Amount: ptr(int64(400))}); err != nil {
		t.Fatal(err)
	}
	// Same refund key: no second refund.
	_, rb, err := s.Refund(ctx, "u", "r1", p.ID, payment.RefundRequest{Amount: ptr(int64(400))})
	if err != nil || decode(t, rb).AmountRefunded != 400 {
		t.Fatalf("replayed refund: %v %s", err, rb)
	}
	var inv *payment.InvalidError
	if _, _, err := s.Refund(ctx, "u", "", p.ID, payment.RefundRequest{Amount: ptr(int64(601))}); !errors.As(err, &inv) {
		t.Fatalf("over-refund: %v", err)
	}
	_, rb, err = s.Refund(ctx, "u", "", p.ID, payment.RefundRequest{})
	if err != nil || decode(t, rb).Status != payment.StatusRefunded || decode(t, rb).AmountRefunded != 1000 {
		t.Fatalf("full refund of the rest: %v %s", err, rb)
	}
	var te *payment.TransitionError
	if _, err := s.Cancel(ctx, p.ID, ""); !errors.As(err, &te) {
		t.Fatalf("cancel refunded: %v", err)
	}
	if _, err := s.Get(ctx, "pay_01aaaaaaaaaaaaaaaaaaaaaaaa"); !errors.Is(err, payment.ErrNotFound) {
		t.Fatalf("unknown id: %v", err)
	}
}

func TestConcurrentRefundsNeverExceedAmount(t *testing.T) {
	s := newService(t, newDB(t), payment.Options{})
	ctx := context.Background()
	_, b, _ := s.Create(ctx, "u", "", req(1000, "EUR", "succeed"))
	p := decode(t, b)
	var wg sync.WaitGroup
	for i := 0; i < 10; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _, _ = s.Refund(ctx, "u", "", p.ID, payment.RefundRequest{Amount: ptr(int64(300))})
		}()
	}
	wg.Wait()
	got, _ := s.Get(ctx, p.ID)
	if got.AmountRefunded > got.Amount || got.AmountRefunded%300 != 0 {
		t.Fatalf("refunded %d of %d", got.AmountRefunded, got.Amount)
	}
}

func TestReconcileSettlesAndExpires(t *testing.T) {
	db := newDB(t)
	now := time.Now().UTC()
	clock := func() time.Time { return now }
	sim := simulator.New(simulator.Options{SettleAfter: time.Minute, Now: clock})
	s, err := payment.NewService(db, nil, []payment.Provider{sim}, payment.Options{DefaultProvider: "simulator", Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	_, b1, _ := s.Create(ctx, "u", "", req(100, "EUR", "timeout"))
	_, b2, _ := s.Create(ctx, "u", "", payment.CreateRequest{Amount: 100, Currency: "EUR", Metadata: map[string]string{"simulate": "pending", "simulate_settle": "fail"}})
	settles, fails := decode(t, b1), decode(t, b2)

	now = now.Add(2 * time.Minute)
	res, err := s.Reconcile(ctx, time.Minute, time.Hour, 100)
	if err != nil || res.Settled != 2 {
		t.Fatalf("reconcile: %+v %v", res, err)
	}
	if p, _ := s.Get(ctx, settles.ID); p.Status != payment.StatusSucceeded {
		t.Fatalf("timed-out payment: %s", p.Status)
	}
	if p, _ := s.Get(ctx, fails.ID); p.Status != payment.StatusFailed {
		t.Fatalf("pending payment: %s", p.Status)
	}

	// A payment whose provider never decides is expired after the deadline.
	stuck := simulator.New(simulator.Options{SettleAfter: 1000 * time.Hour, Now: clock})
	s2, _ := payment.NewService(db, nil, []payment.Provider{stuck}, payment.Options{DefaultProvider: "simulator", Now: clock})
	_, b3, _ := s2.Create(ctx, "u", "", req(100, "EUR", "pending"))
	now = now.Add(2 * time.Hour)
	res, err = s2.Reconcile(ctx, time.Minute, time.Hour, 100)
	if err != nil || res.Expired != 1 {
		t.Fatalf("expire: %+v %v", res, err)
	}
	p, _ := s2.Get(ctx, decode(t, b3).ID)
	if p.Status != payment.StatusFailed || p.Events[len(p.Events)-1].Type != "expired" {
		t.Fatalf("expired payment: %s %+v", p.Status, p.Events)
	}
}

// A webhook that settles the payment between the provider's answer and the
// create's own write must not turn the create into an error.
func TestWebhookRacingTheCreateAnswer(t *testing.T) {
	g := &gatedProvider{}
	db := newDB(t)
	s := newService(t, db, payment.Options{DefaultProvider: "gated"}, g)
	g.during = func(pid string) {
		if _, err := s.ApplyProviderResult(context.Background(), pid, payment.ProviderResult{Status: payment.StatusFailed, FailureReason: "do_not_honor"}, "webhook"); err != nil {
			t.Errorf("webhook: %v", err)
		}
	}
	st, body, err := s.Create(context.Background(), "u", "race-key", req(100, "EUR", ""))
	if err != nil || st != 201 {
		t.Fatalf("create: %d %v", st, err)
	}
	p := decode(t, body)
	if p.Status != payment.StatusFailed || p.FailureReason != "do_not_honor" {
		t.Fatalf("the webhook's settlement was overwritten: %s %q", p.Status, p.FailureReason)
	}
	_, again, err := s.Create(context.Background(), "u", "race-key", req(100, "EUR", ""))
	if err != nil || !bytes.Equal(again, body) {
		t.Fatalf("replay after race: %v", err)
	}
}

func ptr[T any](v T) *T { return &v }
