package payment_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/paymon/paymon/internal/payment"
	"github.com/paymon/paymon/internal/payment/provider/backoff"
	"github.com/paymon/paymon/internal/payment/provider/paypal"
	"github.com/paymon/paymon/internal/payment/provider/paypal/paypalfake"
	"github.com/paymon/paymon/internal/payment/provider/simulator"
	"github.com/paymon/paymon/internal/payment/provider/stripe"
	"github.com/paymon/paymon/internal/testenv"
)

// testClock is a settable clock shared by a Service and its providers.
type testClock struct{ ns atomic.Int64 }

func newTestClock() *testClock {
	c := &testClock{}
	c.ns.Store(time.Now().UTC().UnixNano())
	return c
}
func (c *testClock) Now() time.Time          { return time.Unix(0, c.ns.Load()).UTC() }
func (c *testClock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

var noWait = backoff.Policy{Attempts: 2, Sleep: func(context.Context, time.Duration) error { return nil }}

func lastEvent(p *payment.Payment) string { return p.Events[len(p.Events)-1].Type }

func countEvents(p *payment.Payment, typ string) int {
	n := 0
	for _, e := range p.Events {
		if e.Type == typ {
			n++
		}
	}
	return n
}

// PayPal through the fake (PayPal's sandbox cannot be reached from here):
// an order the customer approved but whose webhook never came is captured
// by the reconciler; one never approved expires at the deadline.
func TestReconcilePayPal(t *testing.T) {
	clk := newTestClock()
	fake := paypalfake.Start(t)
	fake.Now = clk.Now
	pp, err := paypal.New(paypal.Options{ClientID: paypalfake.ClientID, Secret: paypalfake.Secret, APIBase: fake.URL, Now: clk.Now, Retry: noWait})
	if err != nil {
		t.Fatal(err)
	}
	s := newService(t, newDB(t), payment.Options{Now: clk.Now}, pp)
	ctx := context.Background()
	_, b1, err := s.Create(ctx, "u", "", payment.CreateRequest{Amount: 1500, Currency: "EUR", Provider: "paypal"})
	if err != nil {
		t.Fatal(err)
	}
	_, b2, _ := s.Create(ctx, "u", "", payment.CreateRequest{Amount: 700, Currency: "EUR", Provider: "paypal"})
	approved, abandoned := decode(t, b1), decode(t, b2)
	if approved.Status != payment.StatusPending || abandoned.Status != payment.StatusPending {
		t.Fatalf("created %s and %s, want both pending", approved.Status, abandoned.Status)
	}

	// Too young to be re-asked: nothing happens.
	if res, err := s.Reconcile(ctx, time.Minute, time.Hour, 100); err != nil || res.Checked != 0 {
		t.Fatalf("young payments reconciled: %+v %v", res, err)
	}
	fake.Approve(approved.ProviderPaymentID)
	clk.Advance(2 * time.Minute)
	res, err := s.Reconcile(ctx, time.Minute, time.Hour, 100)
	if err != nil || res.Checked != 2 || res.Settled != 1 || res.PendingByProvider["paypal"] != 1 {
		t.Fatalf("reconcile: %+v %v, want 2 checked, 1 settled, 1 still pending", res, err)
	}
	if p, _ := s.Get(ctx, approved.ID); p.Status != payment.StatusSucceeded || lastEvent(p) != "succeeded" {
		t.Fatalf("approved order: %s %v, want captured and succeeded", p.Status, p.Events)
	}
	if n := fake.Count("POST /v2/checkout/orders/" + approved.ProviderPaymentID + "/capture"); n != 1 {
		t.Fatalf("%d captures, want 1", n)
	}

	clk.Advance(2 * time.Hour)
	res, err = s.Reconcile(ctx, time.Minute, time.Hour, 100)
	if err != nil || res.Expired != 1 {
		t.Fatalf("reconcile after the deadline: %+v %v, want 1 expired", res, err)
	}
	p, _ := s.Get(ctx, abandoned.ID)
	if p.Status != payment.StatusFailed || lastEvent(p) != "expired" {
		t.Fatalf("abandoned order: %s %v, want failed as expired", p.Status, p.Events)
	}
}

// Stripe through the real stripe-mock: a pending intent is re-asked with
// the SDK's retrieve. stripe-mock is stateless and answers a fixture
// (requires_payment_method with a last_payment_error), which is what Stripe
// says after a declined attempt: the reconciler settles it as failed.
// A payment whose create never got an answer has no intent to ask about and
// expires at the deadline.
func TestReconcileStripe(t *testing.T) {
	clk := newTestClock()
	sm := testenv.StripeMock(t)
	sp, err := stripe.New(stripe.Options{SecretKey: "sk_test_123", APIBase: sm.URL(), Retry: noWait})
	if err != nil {
		t.Fatal(err)
	}
	dead := httptest.NewServer(http.NotFoundHandler())
	deadURL := dead.URL
	dead.Close()
	unreachable, _ := stripe.New(stripe.Options{SecretKey: "sk_test_123", APIBase: deadURL, Retry: noWait})

	db := newDB(t)
	s := newService(t, db, payment.Options{Now: clk.Now}, sp)
	ctx := context.Background()
	_, b1, err := s.Create(ctx, "u", "", payment.CreateRequest{Amount: 1500, Currency: "EUR", Provider: "stripe"})
	if err != nil {
		t.Fatal(err)
	}
	asked := decode(t, b1)
	// The same store, served by an instance whose Stripe is unreachable.
	lost := newService(t, db, payment.Options{Now: clk.Now}, unreachable)
	_, b2, err := lost.Create(ctx, "u", "", payment.CreateRequest{Amount: 900, Currency: "EUR", Provider: "stripe"})
	if err != nil {
		t.Fatal(err)
	}
	unanswered := decode(t, b2)
	if asked.Status != payment.StatusPending || unanswered.Status != payment.StatusPending || unanswered.ProviderPaymentID != "" {
		t.Fatalf("created %s (%s) and %s (%q), want both pending, the second without an intent", asked.Status, asked.ProviderPaymentID, unanswered.Status, unanswered.ProviderPaymentID)
	}

	clk.Advance(2 * time.Minute)
	res, err := s.Reconcile(ctx, time.Minute, time.Hour, 100)
	if err != nil || res.Checked != 2 || res.Settled != 1 || res.PendingByProvider["stripe"] != 1 {
		t.Fatalf("reconcile: %+v %v", res, err)
	}
	if p, _ := s.Get(ctx, asked.ID); p.Status != payment.StatusFailed || p.FailureReason == "" {
		t.Fatalf("re-asked intent: %s %q, want failed with a reason", p.Status, p.FailureReason)
	}
	clk.Advance(2 * time.Hour)
	if res, err := s.Reconcile(ctx, time.Minute, time.Hour, 100); err != nil || res.Expired != 1 {
		t.Fatalf("reconcile after the deadline: %+v %v", res, err)
	}
	if p, _ := s.Get(ctx, unanswered.ID); p.Status != payment.StatusFailed || lastEvent(p) != "expired" {
		t.Fatalf("unanswered payment: %s %v, want expired", p.Status, p.Events)
	}
}

// Two instances reconciling the same store at once settle each payment
// once: the second finds it already settled.
func TestConcurrentReconcilersSettleOnce(t *testing.T) {
	clk := newTestClock()
	db := newDB(t)
	var services []*payment.Service
	for range 2 {
		sim := simulator.New(simulator.Options{SettleAfter: time.Minute, Now: clk.Now})
		s, err := payment.NewService(db, nil, []payment.Provider{sim}, payment.Options{DefaultProvider: "simulator", Now: clk.Now})
		if err != nil {
			t.Fatal(err)
		}
		services = append(services, s)
	}
	ctx := context.Background()
	var ids []string
	for range 20 {
		_, b, err := services[0].Create(ctx, "u", "", req(100, "EUR", "pending"))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, decode(t, b).ID)
	}
	clk.Advance(2 * time.Minute)
	var wg sync.WaitGroup
	results := make([]payment.ReconcileResult, len(services))
	for i, s := range services {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := s.Reconcile(ctx, time.Minute, time.Hour, 100)
			if err != nil {
				t.Error(err)
			}
			results[i] = res
		}()
	}
	wg.Wait()
	for _, id := range ids {
		p, _ := services[0].Get(ctx, id)
		if p.Status != payment.StatusSucceeded || countEvents(p, "succeeded") != 1 {
			t.Fatalf("%s: %s with events %v, want succeeded exactly once", id, p.Status, p.Events)
		}
	}
	if results[0].Errors+results[1].Errors != 0 {
		t.Fatalf("reconcilers reported errors: %+v", results)
	}
}
