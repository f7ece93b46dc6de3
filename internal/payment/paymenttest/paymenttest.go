// Package paymenttest is the conformance suite every payment.Store adapter
// passes, so the embedded and production stores cannot drift apart.
package paymenttest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/paymon/paymon/internal/id"
	"github.com/paymon/paymon/internal/payment"
)

// RunStoreTests runs the suite; newStore must return an empty store that
// the test may use alone (cleaned up through t.Cleanup).
func RunStoreTests(t *testing.T, newStore func(t *testing.T) payment.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s payment.Store)
	}{
		{"CreateGetDuplicate", testCreateGet},
		{"GetByProviderID", testGetByProviderID},
		{"UpdateVersion", testUpdateVersion},
		{"ListFilters", testListFilters},
		{"ListPagination", testListPagination},
		{"ListPending", testListPending},
		{"CreateWithClaim", testCreateWithClaim},
		{"UpdateWithExtra", testUpdateWithExtra},
		{"Idempotency", testIdempotency},
		{"IdempotencyConcurrentClaims", testConcurrentClaims},
		{"IdempotencyExpirySweep", testIdempotencySweep},
		{"WebhookEvents", testWebhookEvents},
		{"Stats", testStats},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.fn(t, newStore(t))
		})
	}
}

// base is a fixed instant so tests do not depend on the clock; it is in
// whole milliseconds because some stores keep milliseconds only.
var base = time.Date(2026, 3, 14, 15, 9, 26, 535_000_000, time.UTC)

func newPayment(at time.Time, status payment.Status, provider, currency string, amount int64) *payment.Payment {
	return &payment.Payment{
		ID:          id.New("pay"),
		Amount:      amount,
		Currency:    currency,
		Status:      status,
		Provider:    provider,
		Description: "conformance",
		Metadata:    map[string]string{"order": "42"},
		CreatedAt:   at,
		UpdatedAt:   at,
		Events:      []payment.Event{{Type: "created", At: at}},
		CreatedBy:   "usr_test",
	}
}

func mustCreate(t *testing.T, s payment.Store, p *payment.Payment) {
	t.Helper()
	if _, err := s.CreatePayment(context.Background(), p, nil); err != nil {
		t.Fatalf("CreatePayment(%s): %v", p.ID, err)
	}
}

func samePayment(t *testing.T, got, want *payment.Payment) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("payment differs\n got: %+v\nwant: %+v", got, want)
	}
}

func testCreateGet(t *testing.T, s payment.Store) {
	ctx := context.Background()
	p := newPayment(base.Add(123456*time.Nanosecond), payment.StatusPending, "simulator", "EUR", 1999)
	p.NextAction = &payment.NextAction{Type: "redirect", URL: "https://example.test/3ds"}
	mustCreate(t, s, p)
	if p.Version != 1 {
		t.Fatalf("Version after create = %d, want 1", p.Version)
	}
	got, err := s.GetPayment(ctx, p.ID)
	if err != nil {
		t.Fatalf("GetPayment: %v", err)
	}
	samePayment(t, got, p)

	dup := newPayment(base, payment.StatusPending, "simulator", "USD", 1)
	dup.ID = p.ID
	if _, err := s.CreatePayment(ctx, dup, nil); !errors.Is(err, payment.ErrDuplicate) {
		t.Fatalf("CreatePayment with an existing id: err = %v, want ErrDuplicate", err)
	}
	if got, _ := s.GetPayment(ctx, p.ID); got == nil || got.Currency != "EUR" {
		t.Fatalf("a refused duplicate changed the stored payment: %+v", got)
	}
	if _, err := s.GetPayment(ctx, "pay_missing"); !errors.Is(err, payment.ErrNotFound) {
		t.Fatalf("GetPayment(missing): err = %v, want ErrNotFound", err)
	}
}

func testGetByProviderID(t *testing.T, s payment.Store) {
	ctx := context.Background()
	a := newPayment(base, payment.StatusPending, "stripe", "EUR", 100)
	a.ProviderPaymentID = "pi_123"
	b := newPayment(base, payment.StatusPending, "paypal", "EUR", 100)
	b.ProviderPaymentID = "pi_123" // same provider id at another provider is fine
	c := newPayment(base, payment.StatusPending, "stripe", "EUR", 100)
	d := newPayment(base, payment.StatusPending, "stripe", "EUR", 100) // two without provider id
	for _, p := range []*payment.Payment{a, b, c, d} {
		mustCreate(t, s, p)
	}
	got, err := s.GetPaymentByProviderID(ctx, "stripe", "pi_123")
	if err != nil || got.ID != a.ID {
		t.Fatalf("GetPaymentByProviderID(stripe) = %v, %v; want %s", got, err, a.ID)
	}
	got, err = s.GetPaymentByProviderID(ctx, "paypal", "pi_123")
	if err != nil || got.ID != b.ID {
		t.Fatalf("GetPaymentByProviderID(paypal) = %v, %v; want %s", got, err, b.ID)
	}
	if _, err := s.GetPaymentByProviderID(ctx, "stripe", "pi_404"); !errors.Is(err, payment.ErrNotFound) {
		t.Fatalf("unknown provider id: err = %v, want ErrNotFound", err)
	}
	if _, err := s.GetPaymentByProviderID(ctx, "stripe", ""); !errors.Is(err, payment.ErrNotFound) {
		t.Fatalf("empty provider id: err = %v, want ErrNotFound", err)
	}
	// The provider id is learnt by an update; a second payment may not take it.
	c.ProviderPaymentID = "pi_456"
	if err := s.UpdatePayment(ctx, c, c.Version, payment.Extra{}); err != nil {
		t.Fatalf("UpdatePayment setting provider id: %v", err)
	}
	if got, err := s.GetPaymentByProviderID(ctx, "stripe", "pi_456"); err != nil || got.ID != c.ID {
		t.Fatalf("after update: %v, %v; want %s", got, err, c.ID)
	}
	d.ProviderPaymentID = "pi_456"
	if err := s.UpdatePayment(ctx, d, d.Version, payment.Extra{}); !errors.Is(err, payment.ErrDuplicate) {
		t.Fatalf("second payment taking the same provider id: err = %v, want ErrDuplicate", err)
	}
}

func testUpdateVersion(t *testing.T, s payment.Store) {
	ctx := context.Background()
	p := newPayment(base, payment.StatusPending, "simulator", "EUR", 500)
	mustCreate(t, s, p)

	stale := p.Clone()
	p.Status = payment.StatusSucceeded
	p.UpdatedAt = base.Add(time.Second)
	p.Events = append(p.Events, payment.Event{Type: "succeeded", At: p.UpdatedAt})
	if err := s.UpdatePayment(ctx, p, 1, payment.Extra{}); err != nil {
		t.Fatalf("UpdatePayment: %v", err)
	}
	if p.Version != 2 {
		t.Fatalf("Version after update = %d, want 2", p.Version)
	}
	got, err := s.GetPayment(ctx, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	samePayment(t, got, p)

	stale.Status = payment.StatusFailed
	if err := s.UpdatePayment(ctx, stale, 1, payment.Extra{}); !errors.Is(err, payment.ErrVersionConflict) {
		t.Fatalf("update with a stale version: err = %v, want ErrVersionConflict", err)
	}
	if stale.Version != 1 {
		t.Fatalf("a refused update changed Version to %d", stale.Version)
	}
	if got, _ := s.GetPayment(ctx, p.ID); got.Status != payment.StatusSucceeded || got.Version != 2 {
		t.Fatalf("a refused update changed the payment: %s v%d", got.Status, got.Version)
	}
	// The new status must be visible to filtered lists.
	page, _, err := s.ListPayments(ctx, payment.ListFilter{Status: payment.StatusSucceeded, Limit: 10})
	if err != nil || len(page) != 1 || page[0].ID != p.ID {
		t.Fatalf("list by the updated status = %v, %v", ids(page), err)
	}
	missing := newPayment(base, payment.StatusPending, "simulator", "EUR", 1)
	if err := s.UpdatePayment(ctx, missing, 1, payment.Extra{}); !errors.Is(err, payment.ErrNotFound) {
		t.Fatalf("update of a missing payment: err = %v, want ErrNotFound", err)
	}
}

func ids(ps []*payment.Payment) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.ID
	}
	return out
}

func reversed(ps []*payment.Payment) []string {
	out := ids(ps)
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out
}

func testListFilters(t *testing.T, s payment.Store) {
	ctx := context.Background()
	var all []*payment.Payment
	statuses := []payment.Status{payment.StatusPending, payment.StatusSucceeded, payment.StatusFailed}
	providers := []string{"simulator", "stripe"}
	currencies := []string{"EUR", "USD", "JPY"}
	for i := range 18 {
		p := newPayment(base.Add(time.Duration(i)*time.Minute), statuses[i%3], providers[i%2], currencies[(i/2)%3], int64(100+i))
		mustCreate(t, s, p)
		all = append(all, p)
	}
	want := func(keep func(p *payment.Payment) bool) []string {
		var out []*payment.Payment
		for _, p := range all {
			if keep(p) {
				out = append(out, p)
			}
		}
		return reversed(out)
	}
	cases := []struct {
		name string
		f    payment.ListFilter
		keep func(p *payment.Payment) bool
	}{
		{"all", payment.ListFilter{}, func(*payment.Payment) bool { return true }},
		{"status", payment.ListFilter{Status: payment.StatusSucceeded}, func(p *payment.Payment) bool { return p.Status == payment.StatusSucceeded }},
		{"provider", payment.ListFilter{Provider: "stripe"}, func(p *payment.Payment) bool { return p.Provider == "stripe" }},
		{"currency", payment.ListFilter{Currency: "USD"}, func(p *payment.Payment) bool { return p.Currency == "USD" }},
		{"status+currency", payment.ListFilter{Status: payment.StatusPending, Currency: "EUR"}, func(p *payment.Payment) bool {
			return p.Status == payment.StatusPending && p.Currency == "EUR"
		}},
		{"created range", payment.ListFilter{CreatedFrom: base.Add(3 * time.Minute), CreatedTo: base.Add(9 * time.Minute)}, func(p *payment.Payment) bool {
			return !p.CreatedAt.Before(base.Add(3*time.Minute)) && p.CreatedAt.Before(base.Add(9*time.Minute))
		}},
		{"created from", payment.ListFilter{CreatedFrom: base.Add(15 * time.Minute)}, func(p *payment.Payment) bool { return !p.CreatedAt.Before(base.Add(15 * time.Minute)) }},
		{"created to", payment.ListFilter{CreatedTo: base.Add(2 * time.Minute)}, func(p *payment.Payment) bool { return p.CreatedAt.Before(base.Add(2 * time.Minute)) }},
		{"created range+provider", payment.ListFilter{Provider: "simulator", CreatedFrom: base.Add(5 * time.Minute), CreatedTo: base.Add(13 * time.Minute)}, func(p *payment.Payment) bool {
			return p.Provider == "simulator" && !p.CreatedAt.Before(base.Add(5*time.Minute)) && p.CreatedAt.Before(base.Add(13*time.Minute))
		}},
		{"no match", payment.ListFilter{Currency: "GBP"}, func(*payment.Payment) bool { return false }},
	}
	for _, c := range cases {
		c.f.Limit = 100
		page, more, err := s.ListPayments(ctx, c.f)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		w := want(c.keep)
		if more || !reflect.DeepEqual(ids(page), w) && !(len(page) == 0 && len(w) == 0) {
			t.Errorf("%s: got %v (more=%v), want %v", c.name, ids(page), more, w)
		}
		if page == nil {
			t.Errorf("%s: page is nil, want an empty slice", c.name)
		}
	}
	// A listed payment is complete, not a summary.
	page, _, _ := s.ListPayments(ctx, payment.ListFilter{Limit: 1})
	if len(page) == 1 {
		samePayment(t, page[0], all[len(all)-1])
	}
}

func testListPagination(t *testing.T, s payment.Store) {
	ctx := context.Background()
	page, more, err := s.ListPayments(ctx, payment.ListFilter{Limit: 5})
	if err != nil || len(page) != 0 || more {
		t.Fatalf("empty store: %v more=%v err=%v", ids(page), more, err)
	}
	var all []*payment.Payment
	for i := range 10 {
		p := newPayment(base.Add(time.Duration(i)*time.Second), payment.StatusPending, "simulator", "EUR", 1)
		mustCreate(t, s, p)
		all = append(all, p)
	}
	newest := reversed(all)

	// Exactly one page's worth: no has_more.
	page, more, err = s.ListPayments(ctx, payment.ListFilter{Limit: 10})
	if err != nil || more || !reflect.DeepEqual(ids(page), newest) {
		t.Fatalf("limit = count: %v more=%v err=%v", ids(page), more, err)
	}
	// Walk pages of 4: 4 (more), 4 (more), 2 (done).
	var walked []string
	after := ""
	for i, wantLen := range []int{4, 4, 2} {
		page, more, err := s.ListPayments(ctx, payment.ListFilter{Limit: 4, StartingAfter: after})
		if err != nil {
			t.Fatal(err)
		}
		if len(page) != wantLen || more != (i < 2) {
			t.Fatalf("page %d: %d items more=%v; want %d more=%v", i, len(page), more, wantLen, i < 2)
		}
		walked = append(walked, ids(page)...)
		after = page[len(page)-1].ID
	}
	if !reflect.DeepEqual(walked, newest) {
		t.Fatalf("pages walked %v, want %v", walked, newest)
	}
	// Pages of 5 over 10: the second page is exact, so has_more is false.
	page, more, _ = s.ListPayments(ctx, payment.ListFilter{Limit: 5, StartingAfter: newest[4]})
	if len(page) != 5 || more {
		t.Fatalf("second exact page: %d items more=%v", len(page), more)
	}
	// Starting after the oldest payment: an empty last page.
	page, more, err = s.ListPayments(ctx, payment.ListFilter{Limit: 5, StartingAfter: newest[9]})
	if err != nil || len(page) != 0 || more {
		t.Fatalf("after the last item: %v more=%v err=%v", ids(page), more, err)
	}
	// Cursor combined with a filter.
	all[2].Status = payment.StatusFailed
	all[7].Status = payment.StatusFailed
	for _, p := range []*payment.Payment{all[2], all[7]} {
		if err := s.UpdatePayment(ctx, p, p.Version, payment.Extra{}); err != nil {
			t.Fatal(err)
		}
	}
	page, more, _ = s.ListPayments(ctx, payment.ListFilter{Status: payment.StatusFailed, Limit: 1})
	if len(page) != 1 || page[0].ID != all[7].ID || !more {
		t.Fatalf("filtered first page: %v more=%v", ids(page), more)
	}
	page, more, _ = s.ListPayments(ctx, payment.ListFilter{Status: payment.StatusFailed, Limit: 1, StartingAfter: all[7].ID})
	if len(page) != 1 || page[0].ID != all[2].ID || more {
		t.Fatalf("filtered second page: %v more=%v", ids(page), more)
	}
}

func testListPending(t *testing.T, s payment.Store) {
	ctx := context.Background()
	var pending []*payment.Payment
	// Created out of order, so "oldest first" must come from created_at.
	for _, min := range []int{5, 1, 3, 7, 2} {
		p := newPayment(base.Add(time.Duration(min)*time.Minute), payment.StatusPending, "simulator", "EUR", 1)
		mustCreate(t, s, p)
		pending = append(pending, p)
	}
	done := newPayment(base, payment.StatusSucceeded, "simulator", "EUR", 1)
	mustCreate(t, s, done)

	got, err := s.ListPending(ctx, base.Add(6*time.Minute), 10)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{pending[1].ID, pending[4].ID, pending[2].ID, pending[0].ID}
	if !reflect.DeepEqual(ids(got), want) {
		t.Fatalf("ListPending = %v, want %v", ids(got), want)
	}
	got, _ = s.ListPending(ctx, base.Add(6*time.Minute), 2)
	if !reflect.DeepEqual(ids(got), want[:2]) {
		t.Fatalf("ListPending limit 2 = %v, want %v", ids(got), want[:2])
	}
	// olderThan is exclusive.
	got, _ = s.ListPending(ctx, base.Add(time.Minute), 10)
	if len(got) != 0 {
		t.Fatalf("ListPending before the first = %v", ids(got))
	}
}

func newRecord(key string, now time.Time) payment.IdempotencyRecord {
	return payment.IdempotencyRecord{
		Key: key, RequestHash: "hash-" + key, PaymentID: id.New("pay"),
		LockedUntil: now.Add(30 * time.Second), CreatedAt: now, ExpiresAt: now.Add(24 * time.Hour),
	}
}

func sameRecord(t *testing.T, got *payment.IdempotencyRecord, want payment.IdempotencyRecord) {
	t.Helper()
	if got == nil {
		t.Fatalf("record is nil, want %+v", want)
	}
	if got.Key != want.Key || got.RequestHash != want.RequestHash || got.PaymentID != want.PaymentID ||
		got.Status != want.Status || string(got.Body) != string(want.Body) ||
		!got.LockedUntil.Equal(want.LockedUntil) || !got.CreatedAt.Equal(want.CreatedAt) || !got.ExpiresAt.Equal(want.ExpiresAt) {
		t.Fatalf("record differs\n got: %+v\nwant: %+v", *got, want)
	}
}

func testIdempotency(t *testing.T, s payment.Store) {
	ctx := context.Background()
	rec := newRecord("payments.create:usr_1:k1", base)
	existing, err := s.ClaimIdempotency(ctx, rec)
	if err != nil || existing != nil {
		t.Fatalf("first claim = %+v, %v; want nil, nil", existing, err)
	}
	second := newRecord(rec.Key, base.Add(time.Second))
	existing, err = s.ClaimIdempotency(ctx, second)
	if err != nil {
		t.Fatal(err)
	}
	sameRecord(t, existing, rec)
	if existing.Done() {
		t.Fatal("an unfinished record reports Done")
	}

	// Take-over only with the lease the caller saw, and only once.
	lease := base.Add(time.Minute)
	ok, err := s.TakeOverIdempotency(ctx, rec.Key, base.Add(time.Hour), lease)
	if err != nil || ok {
		t.Fatalf("take-over with a wrong lease = %v, %v; want false", ok, err)
	}
	ok, err = s.TakeOverIdempotency(ctx, rec.Key, rec.LockedUntil, lease)
	if err != nil || !ok {
		t.Fatalf("take-over = %v, %v; want true", ok, err)
	}
	ok, _ = s.TakeOverIdempotency(ctx, rec.Key, rec.LockedUntil, lease.Add(time.Minute))
	if ok {
		t.Fatal("a second take-over with the old lease succeeded")
	}
	rec.LockedUntil = lease
	existing, _ = s.ClaimIdempotency(ctx, second)
	sameRecord(t, existing, rec)

	body := []byte(`{"id":"pay_1","status":"succeeded"}` + "\n")
	if err := s.CompleteIdempotency(ctx, rec.Key, 201, body); err != nil {
		t.Fatal(err)
	}
	rec.Status, rec.Body = 201, body
	existing, _ = s.ClaimIdempotency(ctx, second)
	sameRecord(t, existing, rec)
	if !existing.Done() {
		t.Fatal("a completed record is not Done")
	}
	// A finished record cannot be taken over.
	if ok, _ := s.TakeOverIdempotency(ctx, rec.Key, lease, lease.Add(time.Minute)); ok {
		t.Fatal("take-over of a finished record succeeded")
	}

	// Other keys are independent.
	other := newRecord("payments.create:usr_2:k1", base)
	if existing, err := s.ClaimIdempotency(ctx, other); err != nil || existing != nil {
		t.Fatalf("claim of another key = %+v, %v", existing, err)
	}

	if err := s.DeleteIdempotency(ctx, rec.Key); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteIdempotency(ctx, "never-claimed"); err != nil {
		t.Fatalf("deleting an absent key: %v", err)
	}
	existing, err = s.ClaimIdempotency(ctx, second)
	if err != nil || existing != nil {
		t.Fatalf("claim after delete = %+v, %v; want nil, nil", existing, err)
	}
}

func testConcurrentClaims(t *testing.T, s payment.Store) {
	ctx := context.Background()
	const n = 16
	var wg sync.WaitGroup
	var mu sync.Mutex
	var winners []string
	var seen []string
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rec := newRecord("race", base)
			rec.PaymentID = fmt.Sprintf("pay_%02d", i)
			existing, err := s.ClaimIdempotency(ctx, rec)
			if err != nil {
				errs <- err
				return
			}
			mu.Lock()
			defer mu.Unlock()
			if existing == nil {
				winners = append(winners, rec.PaymentID)
			} else {
				seen = append(seen, existing.PaymentID)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("concurrent claim: %v", err)
	}
	if len(winners) != 1 {
		t.Fatalf("%d claims won (%v), want exactly 1", len(winners), winners)
	}
	for _, p := range seen {
		if p != winners[0] {
			t.Fatalf("a loser saw payment %s, the winner claimed %s", p, winners[0])
		}
	}
}

func testIdempotencySweep(t *testing.T, s payment.Store) {
	ctx := context.Background()
	old := newRecord("old", base)
	old.ExpiresAt = base.Add(time.Hour)
	edge := newRecord("edge", base)
	edge.ExpiresAt = base.Add(2 * time.Hour)
	fresh := newRecord("fresh", base)
	fresh.ExpiresAt = base.Add(3 * time.Hour)
	for _, r := range []payment.IdempotencyRecord{old, edge, fresh} {
		if _, err := s.ClaimIdempotency(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.CompleteIdempotency(ctx, "old", 201, []byte("{}")); err != nil {
		t.Fatal(err)
	}
	n, err := s.DeleteExpiredIdempotency(ctx, base.Add(2*time.Hour))
	if err != nil || n != 2 {
		t.Fatalf("sweep deleted %d, %v; want 2 (expiry is inclusive)", n, err)
	}
	for key, gone := range map[string]bool{"old": true, "edge": true, "fresh": false} {
		existing, err := s.ClaimIdempotency(ctx, newRecord(key, base.Add(5*time.Hour)))
		if err != nil {
			t.Fatal(err)
		}
		if gone != (existing == nil) {
			t.Fatalf("key %s: existing=%+v after sweep, want gone=%v", key, existing, gone)
		}
	}
	if n, _ := s.DeleteExpiredIdempotency(ctx, base); n != 0 {
		t.Fatalf("sweep with nothing expired deleted %d", n)
	}
}

func testWebhookEvents(t *testing.T, s payment.Store) {
	ctx := context.Background()
	first, err := s.RecordWebhookEvent(ctx, "stripe", "evt_1", base)
	if err != nil || !first {
		t.Fatalf("first event = %v, %v; want true", first, err)
	}
	first, err = s.RecordWebhookEvent(ctx, "stripe", "evt_1", base.Add(time.Second))
	if err != nil || first {
		t.Fatalf("repeated event = %v, %v; want false", first, err)
	}
	first, _ = s.RecordWebhookEvent(ctx, "paypal", "evt_1", base)
	if !first {
		t.Fatal("the same event id from another provider was treated as seen")
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	firsts := 0
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ok, err := s.RecordWebhookEvent(ctx, "stripe", "evt_race", base)
			if err != nil {
				t.Error(err)
			}
			mu.Lock()
			if ok {
				firsts++
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	if firsts != 1 {
		t.Fatalf("%d concurrent deliveries were first, want 1", firsts)
	}
}

func testStats(t *testing.T, s payment.Store) {
	ctx := context.Background()
	m0 := base.Truncate(time.Minute)
	m1 := m0.Add(time.Minute)
	m2 := m0.Add(2 * time.Minute)
	if got, err := s.PaymentStats(ctx, m0, m2); err != nil || len(got) != 0 {
		t.Fatalf("stats of an empty store = %v, %v", got, err)
	}
	var wg sync.WaitGroup
	for range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := s.AddPaymentStats(ctx, []payment.StatIncrement{
				{Bucket: m0, Kind: "created", Currency: "EUR", Count: 1, Amount: 250},
				{Bucket: m1, Kind: "succeeded", Currency: "EUR", Count: 1, Amount: 100},
			})
			if err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if err := s.AddPaymentStats(ctx, []payment.StatIncrement{
		{Bucket: m0, Kind: "created", Currency: "USD", Count: 2, Amount: 7},
		{Bucket: m2, Kind: "created", Currency: "EUR", Count: 1, Amount: 1},
	}); err != nil {
		t.Fatal(err)
	}
	got, err := s.PaymentStats(ctx, m0, m2)
	if err != nil {
		t.Fatal(err)
	}
	want := []payment.StatIncrement{
		{Bucket: m0, Kind: "created", Currency: "EUR", Count: 10, Amount: 2500},
		{Bucket: m0, Kind: "created", Currency: "USD", Count: 2, Amount: 7},
		{Bucket: m1, Kind: "succeeded", Currency: "EUR", Count: 10, Amount: 1000},
	}
	if len(got) != len(want) {
		t.Fatalf("stats = %+v, want %+v", got, want)
	}
	for i := range want {
		g, w := got[i], want[i]
		if !g.Bucket.Equal(w.Bucket) || g.Kind != w.Kind || g.Currency != w.Currency || g.Count != w.Count || g.Amount != w.Amount {
			t.Fatalf("stats[%d] = %+v, want %+v (all: %+v)", i, g, w, got)
		}
	}
}

func testCreateWithClaim(t *testing.T, s payment.Store) {
	ctx := context.Background()
	p := newPayment(base, payment.StatusPending, "simulator", "EUR", 700)
	claim := newRecord("payments.create:usr_1:c1", base)
	claim.PaymentID = p.ID
	held, err := s.CreatePayment(ctx, p, &claim)
	if err != nil || held != nil {
		t.Fatalf("create with a free claim = %+v, %v; want nil, nil", held, err)
	}
	if _, err := s.GetPayment(ctx, p.ID); err != nil {
		t.Fatalf("payment created with a claim: %v", err)
	}
	existing, err := s.ClaimIdempotency(ctx, newRecord(claim.Key, base))
	if err != nil {
		t.Fatal(err)
	}
	sameRecord(t, existing, claim)

	// The key is held: nothing is stored and the holder comes back.
	q := newPayment(base, payment.StatusPending, "simulator", "EUR", 700)
	again := newRecord(claim.Key, base.Add(time.Second))
	again.PaymentID = q.ID
	held, err = s.CreatePayment(ctx, q, &again)
	if err != nil {
		t.Fatal(err)
	}
	sameRecord(t, held, claim)
	if _, err := s.GetPayment(ctx, q.ID); !errors.Is(err, payment.ErrNotFound) {
		t.Fatalf("a payment whose claim was held was stored anyway: %v", err)
	}

	// A refused payment does not keep its claim.
	dup := newPayment(base, payment.StatusPending, "simulator", "EUR", 1)
	dup.ID = p.ID
	free := newRecord("payments.create:usr_1:c2", base)
	free.PaymentID = dup.ID
	if _, err := s.CreatePayment(ctx, dup, &free); !errors.Is(err, payment.ErrDuplicate) {
		t.Fatalf("duplicate id with a claim: err = %v, want ErrDuplicate", err)
	}
	if existing, err := s.ClaimIdempotency(ctx, free); err != nil || existing != nil {
		t.Fatalf("the claim of a refused payment is still held: %+v, %v", existing, err)
	}

	// Concurrent creates with one key: one payment.
	const n = 8
	var wg sync.WaitGroup
	var mu sync.Mutex
	created := 0
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := newPayment(base, payment.StatusPending, "simulator", "USD", 5)
			c := newRecord("payments.create:usr_1:race", base)
			c.PaymentID = p.ID
			held, err := s.CreatePayment(ctx, p, &c)
			if err != nil {
				t.Error(err)
				return
			}
			if held == nil {
				mu.Lock()
				created++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	page, _, err := s.ListPayments(ctx, payment.ListFilter{Currency: "USD", Limit: 100})
	if err != nil || created != 1 || len(page) != 1 {
		t.Fatalf("concurrent creates with one key: %d won, %d stored (%v); want 1 and 1", created, len(page), err)
	}
}

func testUpdateWithExtra(t *testing.T, s payment.Store) {
	ctx := context.Background()
	p := newPayment(base, payment.StatusPending, "simulator", "EUR", 900)
	claim := newRecord("payments.create:usr_1:x", base)
	claim.PaymentID = p.ID
	if _, err := s.CreatePayment(ctx, p, &claim); err != nil {
		t.Fatal(err)
	}
	stale := p.Clone()
	m := base.Truncate(time.Minute)
	p.Status = payment.StatusSucceeded
	body := []byte(`{"id":"` + p.ID + `"}`)
	extra := payment.Extra{
		Stats:    []payment.StatIncrement{{Bucket: m, Kind: "succeeded", Currency: "EUR", Count: 1, Amount: 900}},
		Complete: &payment.IdempotencyRecord{Key: claim.Key, Status: 201, Body: body},
	}
	if err := s.UpdatePayment(ctx, p, 1, extra); err != nil {
		t.Fatal(err)
	}
	existing, err := s.ClaimIdempotency(ctx, newRecord(claim.Key, base))
	if err != nil {
		t.Fatal(err)
	}
	claim.Status, claim.Body = 201, body
	sameRecord(t, existing, claim)
	stats, err := s.PaymentStats(ctx, m, m.Add(time.Minute))
	if err != nil || len(stats) != 1 || stats[0].Count != 1 || stats[0].Amount != 900 {
		t.Fatalf("stats after update = %+v, %v", stats, err)
	}
	// A refused update writes none of its extras.
	stale.Status = payment.StatusFailed
	other := payment.Extra{
		Stats:    []payment.StatIncrement{{Bucket: m, Kind: "failed", Currency: "EUR", Count: 1, Amount: 900}},
		Complete: &payment.IdempotencyRecord{Key: claim.Key, Status: 402, Body: []byte("no")},
	}
	if err := s.UpdatePayment(ctx, stale, 1, other); !errors.Is(err, payment.ErrVersionConflict) {
		t.Fatalf("stale update: %v", err)
	}
	if stats, _ := s.PaymentStats(ctx, m, m.Add(time.Minute)); len(stats) != 1 {
		t.Fatalf("a refused update added stats: %+v", stats)
	}
	existing, _ = s.ClaimIdempotency(ctx, newRecord(claim.Key, base))
	sameRecord(t, existing, claim)
}
