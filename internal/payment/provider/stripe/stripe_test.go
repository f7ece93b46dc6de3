package stripe

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	stripego "github.com/stripe/stripe-go/v85"

	"github.com/paymon/paymon/internal/metrics"

	"github.com/paymon/paymon/internal/payment"
	"github.com/paymon/paymon/internal/payment/provider/backoff"
	"github.com/paymon/paymon/internal/testenv"
)

// seen is one request that reached the proxy in front of stripe-mock.
type seen struct {
	Method, Path, IdempotencyKey string
	Form                         url.Values
}

// proxy records every request on its way to the real stripe-mock and can
// answer the next few with an injected failure, to exercise retries.
type proxy struct {
	mu     sync.Mutex
	reqs   []seen
	faults []int // statuses to answer instead of forwarding, in order
}

func (p *proxy) requests() []seen {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]seen(nil), p.reqs...)
}

func (p *proxy) inject(statuses ...int) {
	p.mu.Lock()
	p.faults = append(p.faults, statuses...)
	p.mu.Unlock()
}

// startProxy puts a recording proxy in front of stripe-mock; with no
// stripe-mock URL it starts one. A test function starts at most one
// stripe-mock: each one also binds stripe-mock's fixed HTTPS port.
func startProxy(t *testing.T, mockURL ...string) (*proxy, string) {
	t.Helper()
	var smURL string
	if len(mockURL) > 0 {
		smURL = mockURL[0]
	} else {
		smURL = testenv.StripeMock(t).URL()
	}
	target, _ := url.Parse(smURL)
	rp := httputil.NewSingleHostReverseProxy(target)
	p := &proxy{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		form, _ := url.ParseQuery(string(body))
		if r.URL.RawQuery != "" {
			q, _ := url.ParseQuery(r.URL.RawQuery)
			for k, v := range q {
				form[k] = v
			}
		}
		p.mu.Lock()
		p.reqs = append(p.reqs, seen{r.Method, r.URL.Path, r.Header.Get("Idempotency-Key"), form})
		var fault int
		if len(p.faults) > 0 {
			fault, p.faults = p.faults[0], p.faults[1:]
		}
		p.mu.Unlock()
		if fault != 0 {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(fault)
			typ := "api_error"
			switch {
			case fault == http.StatusPaymentRequired:
				_, _ = io.WriteString(w, `{"error":{"type":"card_error","code":"card_declined","decline_code":"insufficient_funds","message":"Your card has insufficient funds."}}`)
				return
			case fault < 500:
				typ = "invalid_request_error"
			}
			_, _ = io.WriteString(w, `{"error":{"type":"`+typ+`","message":"injected"}}`)
			return
		}
		r.Body = io.NopCloser(strings.NewReader(string(body)))
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return p, srv.URL
}

func newProvider(t *testing.T, base, key string) *Provider {
	t.Helper()
	sp, err := New(Options{SecretKey: key, APIBase: base, Timeout: 5 * time.Second,
		Retry: backoff.Policy{Attempts: 3, Sleep: func(context.Context, time.Duration) error { return nil }}})
	if err != nil {
		t.Fatal(err)
	}
	return sp
}

// attempts reads how many calls paymon_provider_request_duration_seconds
// recorded for one label set.
func attempts(op, outcome string) uint64 {
	var m dto.Metric
	_ = metrics.ProviderDuration.WithLabelValues("stripe", op, outcome).(prometheus.Metric).Write(&m)
	return m.GetHistogram().GetSampleCount()
}

func kindOf(err error) payment.ProviderErrorKind {
	var pe *payment.ProviderError
	if errors.As(err, &pe) {
		return pe.Kind
	}
	return ""
}

func TestCreateWithoutPaymentMethodIsPendingWithClientSecret(t *testing.T) {
	px, base := startProxy(t)
	sp := newProvider(t, base, "sk_test_123")
	res, err := sp.Create(context.Background(), payment.ProviderRequest{PaymentID: "pay_A1", Amount: 1234, Currency: "EUR",
		Description: "order 7", Metadata: map[string]string{"order": "7"}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != payment.StatusPending || !strings.HasPrefix(res.ProviderPaymentID, "pi_") {
		t.Fatalf("result %+v, want pending with a pi_ id", res)
	}
	if res.NextAction == nil || res.NextAction.Type != "stripe_client_secret" || !strings.Contains(res.NextAction.ClientSecret, "_secret_") {
		t.Fatalf("next action %+v, want the intent's client secret", res.NextAction)
	}
	reqs := px.requests()
	if len(reqs) != 1 {
		t.Fatalf("%d requests, want 1", len(reqs))
	}
	r := reqs[0]
	if r.Method != "POST" || r.Path != "/v1/payment_intents" || r.IdempotencyKey != "pay_A1" {
		t.Fatalf("request %s %s key %q, want POST /v1/payment_intents with the payment id as key", r.Method, r.Path, r.IdempotencyKey)
	}
	want := map[string]string{"amount": "1234", "currency": "eur", "metadata[paymon_payment_id]": "pay_A1", "metadata[order]": "7", "description": "order 7"}
	for k, v := range want {
		if got := r.Form.Get(k); got != v {
			t.Errorf("form %s = %q, want %q", k, got, v)
		}
	}
	if r.Form.Get("confirm") != "" {
		t.Errorf("confirm sent without a payment method")
	}
}

func TestCreateWithPaymentMethodConfirmsAtOnce(t *testing.T) {
	px, base := startProxy(t)
	sp := newProvider(t, base, "sk_test_123")
	res, err := sp.Create(context.Background(), payment.ProviderRequest{PaymentID: "pay_B1", Amount: 500, Currency: "JPY", PaymentMethod: "pm_card_visa"})
	if err != nil {
		t.Fatal(err)
	}
	r := px.requests()[0]
	if r.Form.Get("confirm") != "true" || r.Form.Get("payment_method") != "pm_card_visa" || r.Form.Get("amount") != "500" || r.Form.Get("currency") != "jpy" {
		t.Fatalf("form %v, want a confirmed create with the payment method", r.Form)
	}
	if r.Form.Get("automatic_payment_methods[allow_redirects]") != "never" {
		t.Fatalf("no return_url, so redirects must be ruled out: %v", r.Form)
	}
	// stripe-mock answers a fixture: requires_payment_method with a
	// last_payment_error, i.e. what Stripe says after a declined attempt.
	if res.ProviderPaymentID == "" || res.Status != payment.StatusFailed || res.FailureReason == "" {
		t.Fatalf("result %+v, want the fixture's failed attempt mapped to failed with a reason", res)
	}
}

func TestConfirmRefundCancelRetrieve(t *testing.T) {
	px, base := startProxy(t)
	sp := newProvider(t, base, "sk_test_123")
	ctx := context.Background()
	p := &payment.Payment{ID: "pay_C1", Amount: 1000, Currency: "USD", ProviderPaymentID: "pi_123"}

	if _, err := sp.Confirm(ctx, p, "pm_card_visa"); err != nil {
		t.Fatalf("confirm: %v", err)
	}
	if err := sp.Refund(ctx, p, 250, "re_K1"); err != nil {
		t.Fatalf("refund: %v", err)
	}
	if _, err := sp.Retrieve(ctx, p); err != nil {
		t.Fatalf("retrieve: %v", err)
	}
	if err := sp.Cancel(ctx, p); err != nil {
		t.Fatalf("cancel: %v", err)
	}
	reqs := px.requests()
	want := []struct{ method, path, key string }{
		{"POST", "/v1/payment_intents/pi_123/confirm", ""},
		{"POST", "/v1/refunds", "re_K1"},
		{"GET", "/v1/payment_intents/pi_123", ""},
		{"POST", "/v1/payment_intents/pi_123/cancel", "pay_C1:cancel"},
	}
	if len(reqs) != len(want) {
		t.Fatalf("%d requests, want %d: %+v", len(reqs), len(want), reqs)
	}
	for i, w := range want {
		if reqs[i].Method != w.method || reqs[i].Path != w.path || (w.key != "" && reqs[i].IdempotencyKey != w.key) {
			t.Errorf("request %d: %s %s key %q, want %s %s key %q", i, reqs[i].Method, reqs[i].Path, reqs[i].IdempotencyKey, w.method, w.path, w.key)
		}
	}
	if !strings.HasPrefix(reqs[0].IdempotencyKey, "pay_C1:confirm:") || reqs[0].Form.Get("payment_method") != "pm_card_visa" {
		t.Errorf("confirm: key %q form %v", reqs[0].IdempotencyKey, reqs[0].Form)
	}
	if reqs[1].Form.Get("payment_intent") != "pi_123" || reqs[1].Form.Get("amount") != "250" || reqs[1].Form.Get("metadata[paymon_payment_id]") != "pay_C1" {
		t.Errorf("refund form %v, want a partial refund of the intent", reqs[1].Form)
	}
}

func TestRetrieveWithoutIntentSearchesByMetadata(t *testing.T) {
	px, base := startProxy(t)
	sp := newProvider(t, base, "sk_test_123")
	res, err := sp.Retrieve(context.Background(), &payment.Payment{ID: "pay_S1", Status: payment.StatusPending})
	if err != nil {
		t.Fatal(err)
	}
	reqs := px.requests()
	if len(reqs) != 1 || reqs[0].Method != "GET" || reqs[0].Path != "/v1/payment_intents/search" ||
		reqs[0].Form.Get("query") != "metadata['paymon_payment_id']:'pay_S1'" {
		t.Fatalf("requests %+v, want one search by metadata", reqs)
	}
	// stripe-mock's fixture result carries no such metadata: not a match.
	if res.Status != payment.StatusPending || res.ProviderPaymentID != "" {
		t.Fatalf("result %+v, want pending without an intent", res)
	}
}

func TestRetriableFailuresAreRetriedWithTheSameKey(t *testing.T) {
	sm := testenv.StripeMock(t).URL()
	for _, status := range []int{500, 503, 429} {
		px, base := startProxy(t, sm)
		sp := newProvider(t, base, "sk_test_123")
		px.inject(status, status)
		retriedBefore, okBefore := attempts("create", "retriable"), attempts("create", "ok")
		res, err := sp.Create(context.Background(), payment.ProviderRequest{PaymentID: "pay_R1", Amount: 100, Currency: "EUR"})
		if err != nil {
			t.Fatalf("%d: create after 2 injected failures: %v", status, err)
		}
		reqs := px.requests()
		if len(reqs) != 3 || res.ProviderPaymentID == "" {
			t.Fatalf("%d: %d requests, want 3 (2 failed + 1 forwarded)", status, len(reqs))
		}
		if r, o := attempts("create", "retriable")-retriedBefore, attempts("create", "ok")-okBefore; r != 2 || o != 1 {
			t.Fatalf("%d: metric recorded %d retriable and %d ok attempts, want 2 and 1", status, r, o)
		}
		for i, r := range reqs {
			if r.IdempotencyKey != "pay_R1" {
				t.Fatalf("%d: attempt %d key %q, want the same key on every attempt", status, i, r.IdempotencyKey)
			}
		}
	}
}

func TestRetriesAreBounded(t *testing.T) {
	px, base := startProxy(t)
	sp := newProvider(t, base, "sk_test_123")
	px.inject(500, 500, 500, 500)
	_, err := sp.Create(context.Background(), payment.ProviderRequest{PaymentID: "pay_R2", Amount: 100, Currency: "EUR"})
	if kindOf(err) != payment.ProviderRetriable {
		t.Fatalf("err %v, want retriable after the attempts ran out", err)
	}
	if n := len(px.requests()); n != 3 {
		t.Fatalf("%d attempts, want 3 (the policy's bound)", n)
	}
}

func TestFinalErrorsAreClassifiedAndNotRetried(t *testing.T) {
	cases := []struct {
		status int
		kind   payment.ProviderErrorKind
		reason string
	}{
		{402, payment.ProviderDeclined, "insufficient_funds"},
		{400, payment.ProviderInvalid, ""},
		{404, payment.ProviderInvalid, ""},
	}
	sm := testenv.StripeMock(t).URL()
	for _, c := range cases {
		px, base := startProxy(t, sm)
		sp := newProvider(t, base, "sk_test_123")
		px.inject(c.status)
		_, err := sp.Create(context.Background(), payment.ProviderRequest{PaymentID: "pay_F1", Amount: 100, Currency: "EUR", PaymentMethod: "pm_card_visa"})
		var pe *payment.ProviderError
		if !errors.As(err, &pe) || pe.Kind != c.kind || (c.reason != "" && pe.Reason != c.reason) {
			t.Fatalf("%d: err %v, want %s %s", c.status, err, c.kind, c.reason)
		}
		if n := len(px.requests()); n != 1 {
			t.Fatalf("%d: %d attempts, want 1", c.status, n)
		}
	}
}

func TestBadKeyIsMisconfigured(t *testing.T) {
	px, base := startProxy(t)
	sp := newProvider(t, base, "not-a-key") // stripe-mock answers 401
	_, err := sp.Create(context.Background(), payment.ProviderRequest{PaymentID: "pay_M1", Amount: 100, Currency: "EUR"})
	if kindOf(err) != payment.ProviderMisconfigured {
		t.Fatalf("err %v, want misconfigured", err)
	}
	if n := len(px.requests()); n != 1 {
		t.Fatalf("%d attempts, want 1", n)
	}
}

func TestUnreachableIsRetriable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	base := srv.URL
	srv.Close() // nothing listens there any more
	sp := newProvider(t, base, "sk_test_123")
	_, err := sp.Create(context.Background(), payment.ProviderRequest{PaymentID: "pay_U1", Amount: 100, Currency: "EUR"})
	if kindOf(err) != payment.ProviderRetriable {
		t.Fatalf("err %v, want retriable", err)
	}
}

func TestMapIntent(t *testing.T) {
	declined := &stripego.Error{Type: stripego.ErrorTypeCard, Code: "card_declined", DeclineCode: "insufficient_funds"}
	cases := []struct {
		status    stripego.PaymentIntentStatus
		lastErr   *stripego.Error
		attempted bool
		want      payment.Status
		reason    string
	}{
		{stripego.PaymentIntentStatusSucceeded, nil, true, payment.StatusSucceeded, ""},
		{stripego.PaymentIntentStatusCanceled, nil, true, payment.StatusCanceled, ""},
		{stripego.PaymentIntentStatusRequiresPaymentMethod, declined, true, payment.StatusFailed, "insufficient_funds"},
		{stripego.PaymentIntentStatusRequiresPaymentMethod, &stripego.Error{Code: "expired_card"}, true, payment.StatusFailed, "expired_card"},
		{stripego.PaymentIntentStatusRequiresPaymentMethod, declined, false, payment.StatusPending, ""},
		{stripego.PaymentIntentStatusRequiresPaymentMethod, nil, true, payment.StatusPending, ""},
		{stripego.PaymentIntentStatusProcessing, nil, true, payment.StatusPending, ""},
		{stripego.PaymentIntentStatusRequiresAction, nil, true, payment.StatusPending, ""},
		{stripego.PaymentIntentStatusRequiresConfirmation, nil, true, payment.StatusPending, ""},
	}
	for _, c := range cases {
		res := mapIntent(&stripego.PaymentIntent{ID: "pi_1", Status: c.status, LastPaymentError: c.lastErr, ClientSecret: "pi_1_secret_x"}, c.attempted)
		if res.Status != c.want || res.FailureReason != c.reason {
			t.Errorf("%s (error %v, attempted %v): %s %q, want %s %q", c.status, c.lastErr != nil, c.attempted, res.Status, res.FailureReason, c.want, c.reason)
		}
		if (res.Status == payment.StatusPending) != (res.NextAction != nil) {
			t.Errorf("%s: next action %+v, want one exactly while pending", c.status, res.NextAction)
		}
	}
}
