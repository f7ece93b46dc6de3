package httpapi_test

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	stripego "github.com/stripe/stripe-go/v85"
	"github.com/stripe/stripe-go/v85/webhook"

	"github.com/paymon/paymon/internal/apitest"
	"github.com/paymon/paymon/internal/payment/provider/paypal/paypalfake"
	"github.com/paymon/paymon/internal/testenv"
)

// hookPayment is the part of a payment these tests read.
type hookPayment struct {
	ID                string `json:"id"`
	Status            string `json:"status"`
	Provider          string `json:"provider"`
	ProviderPaymentID string `json:"provider_payment_id"`
	FailureReason     string `json:"failure_reason"`
	AmountRefunded    int64  `json:"amount_refunded"`
	UpdatedAt         string `json:"updated_at"`
	NextAction        *struct {
		Type         string `json:"type"`
		ClientSecret string `json:"client_secret"`
		URL          string `json:"url"`
	} `json:"next_action"`
	Events []struct {
		Type   string `json:"type"`
		Reason string `json:"reason"`
	} `json:"events"`
}

// stripeCalls counts the requests that reach the real stripe-mock behind it.
type stripeCalls struct {
	mu    sync.Mutex
	calls []string // "METHOD /path key"
}

func (c *stripeCalls) count(prefix string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, s := range c.calls {
		if strings.HasPrefix(s, prefix) {
			n++
		}
	}
	return n
}

// stripeEnv is Paymon with Stripe configured against the real stripe-mock,
// through a counting reverse proxy, with a webhook secret made for this run.
type stripeEnv struct {
	*apitest.Env
	secret string
	calls  *stripeCalls
}

func newStripeEnv(t *testing.T, extra ...string) *stripeEnv {
	t.Helper()
	sm := testenv.StripeMock(t)
	target, _ := url.Parse(sm.URL())
	rp := httputil.NewSingleHostReverseProxy(target)
	calls := &stripeCalls{}
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.mu.Lock()
		calls.calls = append(calls.calls, r.Method+" "+r.URL.Path+" "+r.Header.Get("Idempotency-Key"))
		calls.mu.Unlock()
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(proxy.Close)
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	secret := "whsec_" + hex.EncodeToString(b)
	env := append([]string{"PAYMON_STRIPE_SECRET_KEY=sk_test_123", "PAYMON_STRIPE_API_BASE=" + proxy.URL, "PAYMON_STRIPE_WEBHOOK_SECRET=" + secret}, extra...)
	return &stripeEnv{Env: apitest.New(t, env...), secret: secret, calls: calls}
}

func (e *stripeEnv) get(id string) hookPayment {
	e.T.Helper()
	st, body := e.Do("GET", "/api/v1/payments/"+id, e.AdminToken, nil)
	if st != 200 {
		e.T.Fatalf("get %s: %d %s", id, st, body)
	}
	var p hookPayment
	if err := json.Unmarshal(body, &p); err != nil {
		e.T.Fatal(err)
	}
	return p
}

func (e *stripeEnv) createPending() hookPayment {
	e.T.Helper()
	st, body := e.Do("POST", "/api/v1/payments", e.AdminToken, map[string]any{"amount": 2000, "currency": "EUR", "provider": "stripe"})
	if st != 201 {
		e.T.Fatalf("create: %d %s", st, body)
	}
	var p hookPayment
	_ = json.Unmarshal(body, &p)
	if p.Status != "pending" || !strings.HasPrefix(p.ProviderPaymentID, "pi_") || p.NextAction == nil || p.NextAction.Type != "stripe_client_secret" || p.NextAction.ClientSecret == "" {
		e.T.Fatalf("created %s, want pending with a pi_ id and a client secret", body)
	}
	return p
}

// stripeEvent builds an event as Stripe sends it, about intent ppid.
func stripeEvent(id, typ string, intent map[string]any) []byte {
	b, _ := json.Marshal(map[string]any{
		"id": id, "object": "event", "api_version": stripego.APIVersion, "created": time.Now().Unix(),
		"type": typ, "livemode": false, "pending_webhooks": 1,
		"data": map[string]any{"object": intent},
	})
	return b
}

func intent(p hookPayment, status string, extra map[string]any) map[string]any {
	o := map[string]any{"id": p.ProviderPaymentID, "object": "payment_intent", "amount": 2000, "currency": "eur",
		"status": status, "metadata": map[string]string{"paymon_payment_id": p.ID}}
	for k, v := range extra {
		o[k] = v
	}
	return o
}

// send posts a webhook signed with secret at time at.
func (e *stripeEnv) send(payload []byte, secret string, at time.Time) (int, []byte) {
	e.T.Helper()
	sig := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: payload, Secret: secret, Timestamp: at})
	return e.Do("POST", "/api/v1/webhooks/stripe", "", payload, "Stripe-Signature: "+sig.Header)
}

func eventTypes(p hookPayment) []string {
	var out []string
	for _, ev := range p.Events {
		out = append(out, ev.Type)
	}
	return out
}

func TestStripeWebhookSucceededSettlesPending(t *testing.T) {
	e := newStripeEnv(t)
	p := e.createPending()
	st, body := e.send(stripeEvent("evt_ok_1", "payment_intent.succeeded", intent(p, "succeeded", nil)), e.secret, time.Now())
	if st != 200 {
		t.Fatalf("webhook: %d %s", st, body)
	}
	got := e.get(p.ID)
	if got.Status != "succeeded" || got.NextAction != nil {
		t.Fatalf("after payment_intent.succeeded: %+v, want succeeded without next action", got)
	}
}

func TestStripeWebhookPaymentFailedCarriesTheReason(t *testing.T) {
	e := newStripeEnv(t)
	p := e.createPending()
	ev := stripeEvent("evt_fail_1", "payment_intent.payment_failed", intent(p, "requires_payment_method", map[string]any{
		"last_payment_error": map[string]any{"type": "card_error", "code": "card_declined", "decline_code": "insufficient_funds", "message": "Your card has insufficient funds."},
	}))
	if st, body := e.send(ev, e.secret, time.Now()); st != 200 {
		t.Fatalf("webhook: %d %s", st, body)
	}
	got := e.get(p.ID)
	if got.Status != "failed" || got.FailureReason != "insufficient_funds" {
		t.Fatalf("after payment_failed: status %s reason %q, want failed insufficient_funds", got.Status, got.FailureReason)
	}
}

func TestStripeWebhookRefusesBadSignaturesAndStaleTimestamps(t *testing.T) {
	e := newStripeEnv(t)
	p := e.createPending()
	ev := stripeEvent("evt_bad_1", "payment_intent.succeeded", intent(p, "succeeded", nil))
	cases := []struct {
		name   string
		status func() (int, []byte)
	}{
		{"other secret", func() (int, []byte) { return e.send(ev, "whsec_not_the_right_one", time.Now()) }},
		{"older than the 5 minute tolerance", func() (int, []byte) { return e.send(ev, e.secret, time.Now().Add(-6*time.Minute)) }},
		{"no signature", func() (int, []byte) { return e.Do("POST", "/api/v1/webhooks/stripe", "", ev) }},
		{"body changed after signing", func() (int, []byte) {
			sig := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: ev, Secret: e.secret, Timestamp: time.Now()})
			forged := strings.Replace(string(ev), `"amount":2000`, `"amount":1`, 1)
			return e.Do("POST", "/api/v1/webhooks/stripe", "", forged, "Stripe-Signature: "+sig.Header)
		}},
	}
	for _, c := range cases {
		st, body := c.status()
		if st != 400 || apitest.ErrorCode(body) != "invalid_webhook" {
			t.Errorf("%s: %d %s, want 400 invalid_webhook", c.name, st, body)
		}
	}
	if got := e.get(p.ID); got.Status != "pending" || got.UpdatedAt != p.UpdatedAt || len(got.Events) != len(p.Events) {
		t.Fatalf("refused webhooks changed the payment: %+v", got)
	}
	// The same event, properly signed, is still accepted afterwards: the
	// refusals did not record its id.
	if st, body := e.send(ev, e.secret, time.Now()); st != 200 {
		t.Fatalf("valid delivery after refusals: %d %s", st, body)
	}
	if got := e.get(p.ID); got.Status != "succeeded" {
		t.Fatalf("status %s, want succeeded", got.Status)
	}
}

func TestStripeWebhookDuplicateEventChangesOnce(t *testing.T) {
	e := newStripeEnv(t)
	p := e.createPending()
	ev := stripeEvent("evt_dup_1", "payment_intent.succeeded", intent(p, "succeeded", nil))
	var outs []struct {
		Duplicate bool   `json:"duplicate"`
		PaymentID string `json:"payment_id"`
	}
	for i := range 2 {
		st, body := e.send(ev, e.secret, time.Now())
		if st != 200 {
			t.Fatalf("delivery %d: %d %s", i+1, st, body)
		}
		var out struct {
			Duplicate bool   `json:"duplicate"`
			PaymentID string `json:"payment_id"`
		}
		_ = json.Unmarshal(body, &out)
		outs = append(outs, out)
	}
	if outs[0].Duplicate || outs[0].PaymentID != p.ID || !outs[1].Duplicate {
		t.Fatalf("deliveries answered %+v, want the first applied to %s and the second a duplicate", outs, p.ID)
	}
	got := e.get(p.ID)
	if got.Status != "succeeded" || len(got.Events) != len(p.Events)+1 {
		t.Fatalf("events %v, want exactly one change (%d events)", eventTypes(got), len(p.Events)+1)
	}
}

func TestStripeWebhookUnknownPaymentIsAcknowledged(t *testing.T) {
	e := newStripeEnv(t)
	ev := stripeEvent("evt_unknown_1", "payment_intent.succeeded", map[string]any{
		"id": "pi_nobody_knows", "object": "payment_intent", "status": "succeeded", "metadata": map[string]string{},
	})
	st, body := e.send(ev, e.secret, time.Now())
	if st != 200 || strings.Contains(string(body), `"payment_id"`) {
		t.Fatalf("unknown payment: %d %s, want 200 naming no payment", st, body)
	}
	// An event type Paymon does not handle is acknowledged too.
	other, _ := json.Marshal(map[string]any{"id": "evt_other_1", "object": "event", "api_version": stripego.APIVersion,
		"type": "customer.created", "data": map[string]any{"object": map[string]any{"id": "cus_1", "object": "customer"}}})
	if st, body := e.send(other, e.secret, time.Now()); st != 200 {
		t.Fatalf("unhandled type: %d %s", st, body)
	}
}

func TestStripeWebhookNeverMovesBackwards(t *testing.T) {
	e := newStripeEnv(t)
	p := e.createPending()
	if st, body := e.send(stripeEvent("evt_bw_1", "payment_intent.succeeded", intent(p, "succeeded", nil)), e.secret, time.Now()); st != 200 {
		t.Fatalf("%d %s", st, body)
	}
	late := stripeEvent("evt_bw_2", "payment_intent.payment_failed", intent(p, "requires_payment_method", map[string]any{
		"last_payment_error": map[string]any{"type": "card_error", "decline_code": "generic_decline"},
	}))
	if st, body := e.send(late, e.secret, time.Now()); st != 200 {
		t.Fatalf("late event: %d %s", st, body)
	}
	got := e.get(p.ID)
	last := got.Events[len(got.Events)-1]
	if got.Status != "succeeded" || last.Type != "provider_event_ignored" || !strings.Contains(last.Reason, "payment_intent.payment_failed") {
		t.Fatalf("after a late payment_failed: status %s events %v, want succeeded with the event kept in the history", got.Status, eventTypes(got))
	}
}

func TestStripeRefundAndCancelThroughTheAPI(t *testing.T) {
	e := newStripeEnv(t)
	p := e.createPending()
	if st, body := e.send(stripeEvent("evt_rf_1", "payment_intent.succeeded", intent(p, "succeeded", nil)), e.secret, time.Now()); st != 200 {
		t.Fatalf("%d %s", st, body)
	}
	st, body := e.Do("POST", "/api/v1/payments/"+p.ID+"/refund", e.AdminToken, map[string]any{"amount": 300}, "Idempotency-Key: refund-1")
	if st != 200 {
		t.Fatalf("refund: %d %s", st, body)
	}
	if got := e.get(p.ID); got.AmountRefunded != 300 || got.Status != "succeeded" {
		t.Fatalf("after a partial refund: %+v", got)
	}
	if n := e.calls.count("POST /v1/refunds "); n != 1 {
		t.Fatalf("%d refund calls to Stripe, want 1", n)
	}
	// A retried refund with the same key is answered from the first.
	if st, _ := e.Do("POST", "/api/v1/payments/"+p.ID+"/refund", e.AdminToken, map[string]any{"amount": 300}, "Idempotency-Key: refund-1"); st != 200 || e.calls.count("POST /v1/refunds ") != 1 {
		t.Fatalf("retried refund: %d, %d Stripe calls, want 200 and still 1", st, e.calls.count("POST /v1/refunds "))
	}

	q := e.createPending()
	st, body = e.Do("POST", "/api/v1/payments/"+q.ID+"/cancel", e.AdminToken, map[string]any{"reason": "customer left"})
	if st != 200 {
		t.Fatalf("cancel: %d %s", st, body)
	}
	if got := e.get(q.ID); got.Status != "canceled" {
		t.Fatalf("after cancel: %s", got.Status)
	}
	if n := e.calls.count("POST /v1/payment_intents/" + q.ProviderPaymentID + "/cancel"); n != 1 {
		t.Fatalf("%d cancel calls to Stripe, want 1", n)
	}
}

func TestConcurrentStripeCreatesWithOneKeyMakeOneIntent(t *testing.T) {
	e := newStripeEnv(t)
	const n = 20
	type answer struct {
		status int
		body   []byte
	}
	answers := make([]answer, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st, body := e.Do("POST", "/api/v1/payments", e.AdminToken,
				map[string]any{"amount": 4200, "currency": "EUR", "provider": "stripe"}, "Idempotency-Key: one-key-for-20")
			answers[i] = answer{st, body}
		}()
	}
	wg.Wait()
	ids := map[string]bool{}
	created, inFlight := 0, 0
	defer func() {
		t.Logf("%d requests: %d answered 201, %d answered 409 (still in flight)", n, created, inFlight)
	}()
	for i, a := range answers {
		switch a.status {
		case 201:
			created++
			var p hookPayment
			_ = json.Unmarshal(a.body, &p)
			ids[p.ID] = true
		case 409: // still in flight after the wait: allowed by the contract
			inFlight++
		default:
			t.Fatalf("request %d: %d %s", i, a.status, a.body)
		}
	}
	if len(ids) != 1 {
		t.Fatalf("%d distinct payments from one key, want 1", len(ids))
	}
	if c := e.calls.count("POST /v1/payment_intents "); c != 1 {
		t.Fatalf("%d PaymentIntent create calls reached Stripe, want exactly 1", c)
	}
}

func TestWebhookRoutes(t *testing.T) {
	e := apitest.New(t) // only the simulator
	for _, prov := range []string{"stripe", "paypal", "bogus"} {
		st, body := e.Do("POST", "/api/v1/webhooks/"+prov, "", `{"id":"evt_1"}`)
		if st != 404 || apitest.ErrorCode(body) != "not_found" {
			t.Errorf("%s not configured: %d %s, want 404", prov, st, body)
		}
	}
	// The simulator takes no webhooks either.
	if st, _ := e.Do("POST", "/api/v1/webhooks/simulator", "", `{}`); st != 404 {
		t.Errorf("simulator webhook: %d, want 404", st)
	}
	st, body := e.Do("POST", "/api/v1/payments", e.AdminToken, map[string]any{"amount": 100, "currency": "EUR", "provider": "paypal"})
	if st != 422 || !strings.Contains(string(body), `paypal`) {
		t.Fatalf("create naming an unconfigured provider: %d %s, want 422 naming it", st, body)
	}
}

// paypalEnv is Paymon with PayPal configured against paypalfake, a FAKE of
// PayPal's REST API: PayPal's sandbox cannot be reached from here.
func newPayPalEnv(t *testing.T) (*apitest.Env, *paypalfake.Server) {
	t.Helper()
	fake := paypalfake.Start(t)
	e := apitest.New(t, "PAYMON_PAYPAL_CLIENT_ID="+paypalfake.ClientID, "PAYMON_PAYPAL_SECRET="+paypalfake.Secret,
		"PAYMON_PAYPAL_API_BASE="+fake.URL, "PAYMON_PAYPAL_WEBHOOK_ID="+paypalfake.WebhookID)
	return e, fake
}

func paypalHook(e *apitest.Env, sig string, event map[string]any) (int, []byte) {
	e.T.Helper()
	b, _ := json.Marshal(event)
	var hs []string
	for k, v := range paypalfake.WebhookHeaders(sig) {
		hs = append(hs, k+": "+v)
	}
	return e.Do("POST", "/api/v1/webhooks/paypal", "", b, hs...)
}

func TestPayPalApprovalWebhookCapturesAndSettles(t *testing.T) {
	e, fake := newPayPalEnv(t)
	st, body := e.Do("POST", "/api/v1/payments", e.AdminToken, map[string]any{"amount": 1999, "currency": "USD", "provider": "paypal"})
	if st != 201 {
		t.Fatalf("create: %d %s", st, body)
	}
	var p hookPayment
	_ = json.Unmarshal(body, &p)
	if p.Status != "pending" || p.NextAction == nil || p.NextAction.Type != "redirect" || !strings.Contains(p.NextAction.URL, p.ProviderPaymentID) {
		t.Fatalf("created %s, want pending with the approve redirect", body)
	}
	approved := map[string]any{"id": "WH-APPROVED-1", "event_type": "CHECKOUT.ORDER.APPROVED",
		"resource": map[string]any{"id": p.ProviderPaymentID, "status": "APPROVED", "purchase_units": []map[string]any{{"custom_id": p.ID}}}}

	// A forged delivery is refused and changes nothing.
	if st, body := paypalHook(e, "forged", approved); st != 400 || apitest.ErrorCode(body) != "invalid_webhook" {
		t.Fatalf("forged: %d %s, want 400", st, body)
	}
	fake.Approve(p.ProviderPaymentID)
	if st, body := paypalHook(e, paypalfake.ValidSignature, approved); st != 200 {
		t.Fatalf("approved webhook: %d %s", st, body)
	}
	s := getPayment(t, e, p.ID)
	if s.Status != "succeeded" {
		t.Fatalf("after approval: %s, want captured and succeeded", s.Status)
	}
	if n := fake.Count("POST /v2/checkout/orders/" + p.ProviderPaymentID + "/capture"); n != 1 {
		t.Fatalf("%d captures, want 1", n)
	}
	// PayPal's own capture notification then changes nothing.
	completed := map[string]any{"id": "WH-CAPTURED-1", "event_type": "PAYMENT.CAPTURE.COMPLETED",
		"resource": map[string]any{"id": "CAP-" + p.ProviderPaymentID, "status": "COMPLETED", "custom_id": p.ID,
			"supplementary_data": map[string]any{"related_ids": map[string]string{"order_id": p.ProviderPaymentID}}}}
	if st, body := paypalHook(e, paypalfake.ValidSignature, completed); st != 200 {
		t.Fatalf("capture completed: %d %s", st, body)
	}
	if again := getPayment(t, e, p.ID); len(again.Events) != len(s.Events) {
		t.Fatalf("capture notification after capture changed the payment: %v", eventTypes(again))
	}
	// Partial refund through the API reaches the capture.
	if st, body := e.Do("POST", "/api/v1/payments/"+p.ID+"/refund", e.AdminToken, map[string]any{"amount": 999}); st != 200 {
		t.Fatalf("refund: %d %s", st, body)
	}
	if n := fake.Count("POST /v2/payments/captures/CAP-" + p.ProviderPaymentID + "/refund"); n != 1 {
		t.Fatalf("%d refund calls, want 1", n)
	}
}

func TestPayPalCaptureDeniedFails(t *testing.T) {
	e, _ := newPayPalEnv(t)
	st, body := e.Do("POST", "/api/v1/payments", e.AdminToken, map[string]any{"amount": 500, "currency": "EUR", "provider": "paypal"})
	if st != 201 {
		t.Fatalf("create: %d %s", st, body)
	}
	var p hookPayment
	_ = json.Unmarshal(body, &p)
	denied := map[string]any{"id": "WH-DENIED-1", "event_type": "PAYMENT.CAPTURE.DENIED",
		"resource": map[string]any{"id": "CAP-X", "status": "DECLINED", "custom_id": p.ID,
			"supplementary_data": map[string]any{"related_ids": map[string]string{"order_id": p.ProviderPaymentID}}}}
	if st, body := paypalHook(e, paypalfake.ValidSignature, denied); st != 200 {
		t.Fatalf("%d %s", st, body)
	}
	if got := getPayment(t, e, p.ID); got.Status != "failed" || got.FailureReason != "capture_declined" {
		t.Fatalf("after PAYMENT.CAPTURE.DENIED: %s %q, want failed capture_declined", got.Status, got.FailureReason)
	}
}

func getPayment(t *testing.T, e *apitest.Env, id string) hookPayment {
	t.Helper()
	st, body := e.Do("GET", "/api/v1/payments/"+id, e.AdminToken, nil)
	if st != 200 {
		t.Fatalf("get %s: %d %s", id, st, body)
	}
	var p hookPayment
	_ = json.Unmarshal(body, &p)
	return p
}

func TestStripeChargeRefundedIsRecordedNotCounted(t *testing.T) {
	e := newStripeEnv(t)
	p := e.createPending()
	if st, body := e.send(stripeEvent("evt_cr_0", "payment_intent.succeeded", intent(p, "succeeded", nil)), e.secret, time.Now()); st != 200 {
		t.Fatalf("%d %s", st, body)
	}
	charge := map[string]any{"id": "ch_1", "object": "charge", "amount": 2000, "amount_refunded": 500, "refunded": false,
		"currency": "eur", "payment_intent": p.ProviderPaymentID, "metadata": map[string]string{}}
	if st, body := e.send(stripeEvent("evt_cr_1", "charge.refunded", charge), e.secret, time.Now()); st != 200 {
		t.Fatalf("charge.refunded: %d %s", st, body)
	}
	got := e.get(p.ID)
	if got.AmountRefunded != 0 || got.Status != "succeeded" || got.Events[len(got.Events)-1].Type != "provider_refund_reported" {
		t.Fatalf("after charge.refunded: refunded %d status %s events %v, want the report in the history only", got.AmountRefunded, got.Status, eventTypes(got))
	}
}

func TestPayPalApprovalWhoseCaptureFails(t *testing.T) {
	e, fake := newPayPalEnv(t)
	create := func() hookPayment {
		st, body := e.Do("POST", "/api/v1/payments", e.AdminToken, map[string]any{"amount": 800, "currency": "EUR", "provider": "paypal"})
		if st != 201 {
			t.Fatalf("create: %d %s", st, body)
		}
		var p hookPayment
		_ = json.Unmarshal(body, &p)
		fake.Approve(p.ProviderPaymentID)
		return p
	}
	approved := func(p hookPayment, id string) map[string]any {
		return map[string]any{"id": id, "event_type": "CHECKOUT.ORDER.APPROVED",
			"resource": map[string]any{"id": p.ProviderPaymentID, "status": "APPROVED", "purchase_units": []map[string]any{{"custom_id": p.ID}}}}
	}

	// The payer's funding is declined at capture: the payment fails with it.
	p := create()
	fake.Inject("POST /v2/checkout/orders/"+p.ProviderPaymentID+"/capture", 422, "INSTRUMENT_DECLINED")
	if st, body := paypalHook(e, paypalfake.ValidSignature, approved(p, "WH-DECL-1")); st != 200 {
		t.Fatalf("%d %s", st, body)
	}
	if got := getPayment(t, e, p.ID); got.Status != "failed" || got.FailureReason != "instrument_declined" {
		t.Fatalf("declined capture: %s %q, want failed instrument_declined", got.Status, got.FailureReason)
	}

	// PayPal is down at capture time: 503 so PayPal resends; the payment
	// stays pending for the reconciler.
	q := create()
	for range 4 {
		fake.Inject("POST /v2/checkout/orders/"+q.ProviderPaymentID+"/capture", 503, "SERVICE_UNAVAILABLE")
	}
	st, body := paypalHook(e, paypalfake.ValidSignature, approved(q, "WH-DOWN-1"))
	if st != 503 || apitest.ErrorCode(body) != "unavailable" {
		t.Fatalf("capture unreachable: %d %s, want 503", st, body)
	}
	if got := getPayment(t, e, q.ID); got.Status != "pending" {
		t.Fatalf("after an unreachable capture: %s, want pending", got.Status)
	}
}
