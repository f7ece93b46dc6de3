// These tests run against paypalfake, a FAKE of PayPal's Orders v2, OAuth2
// and verify-webhook-signature endpoints: PayPal's sandbox cannot be
// reached from the machines these tests run on.
package paypal

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/paymon/paymon/internal/payment"
	"github.com/paymon/paymon/internal/payment/provider/backoff"
	"github.com/paymon/paymon/internal/payment/provider/paypal/paypalfake"
)

// clock is a settable time shared by the fake and the client.
type clock struct{ ns atomic.Int64 }

func newClock() *clock {
	c := &clock{}
	c.ns.Store(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC).UnixNano())
	return c
}
func (c *clock) Now() time.Time          { return time.Unix(0, c.ns.Load()).UTC() }
func (c *clock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

func setup(t *testing.T) (*Provider, *paypalfake.Server, *clock) {
	t.Helper()
	clk := newClock()
	fake := paypalfake.Start(t)
	fake.Now = clk.Now
	p, err := New(Options{ClientID: paypalfake.ClientID, Secret: paypalfake.Secret, APIBase: fake.URL, WebhookID: paypalfake.WebhookID,
		Timeout: 5 * time.Second, Now: clk.Now,
		Retry: backoff.Policy{Attempts: 3, Sleep: func(context.Context, time.Duration) error { return nil }}})
	if err != nil {
		t.Fatal(err)
	}
	return p, fake, clk
}

func kindOf(err error) payment.ProviderErrorKind {
	var pe *payment.ProviderError
	if errors.As(err, &pe) {
		return pe.Kind
	}
	return ""
}

func create(t *testing.T, p *Provider, id string, amount int64, cur string) payment.ProviderResult {
	t.Helper()
	res, err := p.Create(context.Background(), payment.ProviderRequest{PaymentID: id, Amount: amount, Currency: cur, Description: "order"})
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	return res
}

func TestTokenIsCachedUntilShortlyBeforeExpiry(t *testing.T) {
	p, fake, clk := setup(t)
	create(t, p, "pay_T1", 100, "EUR")
	create(t, p, "pay_T2", 100, "EUR")
	if n := fake.TokenFetches(); n != 1 {
		t.Fatalf("%d token fetches for 2 calls, want 1 (cached)", n)
	}
	clk.Advance(time.Hour - 2*time.Minute) // still valid for more than the 60 s margin
	create(t, p, "pay_T3", 100, "EUR")
	if n := fake.TokenFetches(); n != 1 {
		t.Fatalf("%d token fetches with 2 minutes left, want 1", n)
	}
	clk.Advance(90 * time.Second) // 30 s left: inside the margin
	create(t, p, "pay_T4", 100, "EUR")
	if n := fake.TokenFetches(); n != 2 {
		t.Fatalf("%d token fetches inside the renewal margin, want 2", n)
	}
}

func TestConcurrentCallsFetchOneToken(t *testing.T) {
	p, fake, _ := setup(t)
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := p.Create(context.Background(), payment.ProviderRequest{PaymentID: "pay_C" + string(rune('a'+i)), Amount: 100, Currency: "USD"})
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := fake.TokenFetches(); n != 1 {
		t.Fatalf("%d token fetches for 20 concurrent calls, want 1", n)
	}
}

func TestRevokedTokenIsRenewedOnce(t *testing.T) {
	p, fake, _ := setup(t)
	create(t, p, "pay_V1", 100, "EUR")
	fake.Inject("POST /v2/checkout/orders", 401, "invalid_token")
	create(t, p, "pay_V2", 100, "EUR")
	if n := fake.TokenFetches(); n != 2 {
		t.Fatalf("%d token fetches, want 2 (renewed after the 401)", n)
	}
}

func TestBadCredentialsAreMisconfigured(t *testing.T) {
	fake := paypalfake.Start(t)
	p, _ := New(Options{ClientID: "wrong", Secret: "wrong", APIBase: fake.URL,
		Retry: backoff.Policy{Attempts: 3, Sleep: func(context.Context, time.Duration) error { return nil }}})
	_, err := p.Create(context.Background(), payment.ProviderRequest{PaymentID: "pay_X", Amount: 100, Currency: "EUR"})
	if kindOf(err) != payment.ProviderMisconfigured {
		t.Fatalf("err %v, want misconfigured", err)
	}
	if n := fake.Count("POST /v1/oauth2/token"); n != 1 {
		t.Fatalf("%d token attempts, want 1 (a 401 is not retried)", n)
	}
}

func TestCreateOrder(t *testing.T) {
	p, fake, _ := setup(t)
	cases := []struct {
		id     string
		amount int64
		cur    string
		value  string
	}{
		{"pay_E1", 1234, "EUR", "12.34"},
		{"pay_J1", 500, "JPY", "500"},
		{"pay_K1", 1234, "KWD", "1.234"},
		{"pay_U1", 5, "USD", "0.05"},
	}
	for _, c := range cases {
		res := create(t, p, c.id, c.amount, c.cur)
		if res.Status != payment.StatusPending || res.ProviderPaymentID == "" {
			t.Fatalf("%s: %+v, want pending with an order id", c.id, res)
		}
		if res.NextAction == nil || res.NextAction.Type != "redirect" || !strings.Contains(res.NextAction.URL, res.ProviderPaymentID) {
			t.Fatalf("%s: next action %+v, want the approve link", c.id, res.NextAction)
		}
		reqs := fake.Requests()
		r := reqs[len(reqs)-1]
		if r.RequestID != c.id {
			t.Fatalf("%s: PayPal-Request-Id %q, want the payment id", c.id, r.RequestID)
		}
		var body struct {
			Intent        string         `json:"intent"`
			PurchaseUnits []PurchaseUnit `json:"purchase_units"`
		}
		if err := json.Unmarshal(r.Body, &body); err != nil {
			t.Fatal(err)
		}
		pu := body.PurchaseUnits[0]
		if body.Intent != "CAPTURE" || pu.CustomID != c.id || pu.Amount.Value != c.value || pu.Amount.CurrencyCode != c.cur {
			t.Fatalf("%s: body %s, want intent CAPTURE, custom_id, amount %s %s", c.id, r.Body, c.value, c.cur)
		}
	}
	// A retried create (same payment id) gets the same order.
	again := create(t, p, "pay_E1", 1234, "EUR")
	if first := fake.Order(again.ProviderPaymentID); first == nil || again.ProviderPaymentID != "5O190127TN360001T" {
		t.Fatalf("retried create made order %s, want the first one", again.ProviderPaymentID)
	}
}

func TestCaptureAfterApproval(t *testing.T) {
	p, fake, _ := setup(t)
	ctx := context.Background()
	res := create(t, p, "pay_P1", 2500, "EUR")
	pay := &payment.Payment{ID: "pay_P1", Amount: 2500, Currency: "EUR", Status: payment.StatusPending, ProviderPaymentID: res.ProviderPaymentID}

	got, err := p.Confirm(ctx, pay, "")
	if err != nil || got.Status != payment.StatusPending {
		t.Fatalf("capture before approval: %+v %v, want pending", got, err)
	}
	if got, err := p.Retrieve(ctx, pay); err != nil || got.Status != payment.StatusPending {
		t.Fatalf("retrieve before approval: %+v %v, want pending", got, err)
	}
	fake.Approve(res.ProviderPaymentID)
	got, err = p.Confirm(ctx, pay, "")
	if err != nil || got.Status != payment.StatusSucceeded {
		t.Fatalf("capture after approval: %+v %v, want succeeded", got, err)
	}
	// Capturing again (webhook redelivered, reconciler) changes nothing.
	got, err = p.Confirm(ctx, pay, "")
	if err != nil || got.Status != payment.StatusSucceeded {
		t.Fatalf("second capture: %+v %v, want succeeded", got, err)
	}
	if got, err := p.Retrieve(ctx, pay); err != nil || got.Status != payment.StatusSucceeded {
		t.Fatalf("retrieve after capture: %+v %v, want succeeded", got, err)
	}
	for _, r := range fake.Requests() {
		if strings.HasSuffix(r.Path, "/capture") && r.RequestID != "capture-pay_P1" {
			t.Fatalf("capture request id %q, want one fixed per payment", r.RequestID)
		}
	}
}

func TestReconcilerRetrieveCapturesAnApprovedOrder(t *testing.T) {
	p, fake, _ := setup(t)
	res := create(t, p, "pay_A1", 900, "USD")
	fake.Approve(res.ProviderPaymentID)
	pay := &payment.Payment{ID: "pay_A1", Amount: 900, Currency: "USD", Status: payment.StatusPending, ProviderPaymentID: res.ProviderPaymentID}
	got, err := p.Retrieve(context.Background(), pay)
	if err != nil || got.Status != payment.StatusSucceeded {
		t.Fatalf("retrieve of an approved order: %+v %v, want captured and succeeded", got, err)
	}
	if fake.Count("POST /v2/checkout/orders/"+res.ProviderPaymentID+"/capture") != 1 {
		t.Fatalf("want exactly one capture call")
	}
}

func TestReconcilerRetrieveOfADeclinedCaptureFails(t *testing.T) {
	p, fake, _ := setup(t)
	res := create(t, p, "pay_A2", 900, "USD")
	fake.Approve(res.ProviderPaymentID)
	fake.Inject("POST /v2/checkout/orders/"+res.ProviderPaymentID+"/capture", 422, "INSTRUMENT_DECLINED")
	got, err := p.Retrieve(context.Background(), &payment.Payment{ID: "pay_A2", Status: payment.StatusPending, ProviderPaymentID: res.ProviderPaymentID})
	if err != nil || got.Status != payment.StatusFailed || got.FailureReason != "instrument_declined" {
		t.Fatalf("retrieve with a declined capture: %+v %v, want failed instrument_declined", got, err)
	}
}

func TestLongDescriptionIsCutOnACharacterBoundary(t *testing.T) {
	p, fake, _ := setup(t)
	desc := strings.Repeat("é", 100) // 200 bytes
	if _, err := p.Create(context.Background(), payment.ProviderRequest{PaymentID: "pay_L1", Amount: 100, Currency: "EUR", Description: desc}); err != nil {
		t.Fatal(err)
	}
	reqs := fake.Requests()
	var body struct {
		PurchaseUnits []PurchaseUnit `json:"purchase_units"`
	}
	_ = json.Unmarshal(reqs[len(reqs)-1].Body, &body)
	d := body.PurchaseUnits[0].Description
	if len(d) > 127 || d != strings.Repeat("é", 63) {
		t.Fatalf("description %q (%d bytes), want 63 whole characters", d, len(d))
	}
}

func TestPartialRefund(t *testing.T) {
	p, fake, _ := setup(t)
	ctx := context.Background()
	res := create(t, p, "pay_R1", 1000, "EUR")
	fake.Approve(res.ProviderPaymentID)
	pay := &payment.Payment{ID: "pay_R1", Amount: 1000, Currency: "EUR", Status: payment.StatusPending, ProviderPaymentID: res.ProviderPaymentID}
	if _, err := p.Confirm(ctx, pay, ""); err != nil {
		t.Fatal(err)
	}
	if err := p.Refund(ctx, pay, 300, "re_1"); err != nil {
		t.Fatalf("refund: %v", err)
	}
	var refund paypalfake.Request
	for _, r := range fake.Requests() {
		if strings.HasSuffix(r.Path, "/refund") {
			refund = r
		}
	}
	if refund.Path != "/v2/payments/captures/CAP-"+res.ProviderPaymentID+"/refund" || refund.RequestID != "re_1" {
		t.Fatalf("refund request %s id %q, want the capture's refund with the refund key", refund.Path, refund.RequestID)
	}
	var body struct {
		Amount Amount `json:"amount"`
	}
	_ = json.Unmarshal(refund.Body, &body)
	if body.Amount != (Amount{CurrencyCode: "EUR", Value: "3.00"}) {
		t.Fatalf("refund amount %+v, want EUR 3.00", body.Amount)
	}
	// Refunding an order never captured is refused without a call.
	res2 := create(t, p, "pay_R2", 1000, "EUR")
	err := p.Refund(ctx, &payment.Payment{ID: "pay_R2", Currency: "EUR", ProviderPaymentID: res2.ProviderPaymentID}, 100, "re_2")
	if kindOf(err) != payment.ProviderInvalid {
		t.Fatalf("refund without capture: %v, want invalid", err)
	}
}

func TestServerErrorsAreRetriedWithTheSameRequestID(t *testing.T) {
	for _, status := range []int{500, 503, 429} {
		p, fake, _ := setup(t)
		fake.Inject("POST /v2/checkout/orders", status, "INTERNAL_SERVICE_ERROR")
		res := create(t, p, "pay_S1", 100, "EUR")
		if res.ProviderPaymentID == "" {
			t.Fatalf("%d: no order after a retried create", status)
		}
		var ids []string
		for _, r := range fake.Requests() {
			if r.Path == "/v2/checkout/orders" {
				ids = append(ids, r.RequestID)
			}
		}
		if len(ids) != 2 || ids[0] != "pay_S1" || ids[1] != "pay_S1" {
			t.Fatalf("%d: create attempts %v, want 2 with the same PayPal-Request-Id", status, ids)
		}
	}
}

func TestClientErrorsAreNotRetried(t *testing.T) {
	cases := []struct {
		status int
		issue  string
		kind   payment.ProviderErrorKind
	}{
		{400, "INVALID_PARAMETER_VALUE", payment.ProviderInvalid},
		{422, "INSTRUMENT_DECLINED", payment.ProviderDeclined},
		{403, "PERMISSION_DENIED", payment.ProviderMisconfigured},
		{404, "INVALID_RESOURCE_ID", payment.ProviderInvalid},
	}
	for _, c := range cases {
		p, fake, _ := setup(t)
		fake.Inject("POST /v2/checkout/orders", c.status, c.issue)
		_, err := p.Create(context.Background(), payment.ProviderRequest{PaymentID: "pay_N1", Amount: 100, Currency: "EUR"})
		var pe *payment.ProviderError
		if !errors.As(err, &pe) || pe.Kind != c.kind || (c.kind != payment.ProviderMisconfigured && pe.Reason != strings.ToLower(c.issue)) {
			t.Fatalf("%d %s: err %v, want %s", c.status, c.issue, err, c.kind)
		}
		if n := fake.Count("POST /v2/checkout/orders"); n != 1 {
			t.Fatalf("%d: %d attempts, want 1", c.status, n)
		}
	}
}

func TestDeclinedCapture(t *testing.T) {
	p, fake, _ := setup(t)
	res := create(t, p, "pay_D1", 100, "EUR")
	fake.Approve(res.ProviderPaymentID)
	fake.Inject("POST /v2/checkout/orders/"+res.ProviderPaymentID+"/capture", 422, "INSTRUMENT_DECLINED")
	_, err := p.Confirm(context.Background(), &payment.Payment{ID: "pay_D1", ProviderPaymentID: res.ProviderPaymentID}, "")
	var pe *payment.ProviderError
	if !errors.As(err, &pe) || pe.Kind != payment.ProviderDeclined || pe.Reason != "instrument_declined" {
		t.Fatalf("err %v, want declined instrument_declined", err)
	}
}

type header map[string]string

func (h header) Get(k string) string { return h[http.CanonicalHeaderKey(k)] }

func canon(m map[string]string) header {
	h := header{}
	for k, v := range m {
		h[http.CanonicalHeaderKey(k)] = v
	}
	return h
}

const captureEvent = `{
  "id": "WH-58D329510W468432D-8HN650336L201105X",
  "event_type": "PAYMENT.CAPTURE.COMPLETED",
  "resource": {"id": "CAP-1", "status": "COMPLETED", "custom_id": "pay_W1",
    "amount": {"currency_code": "EUR", "value": "10.00"},
    "supplementary_data": {"related_ids": {"order_id": "ORDER-1"}}}
}`

func TestWebhookVerification(t *testing.T) {
	p, fake, clk := setup(t)
	ctx := context.Background()
	headers := func(sig string) header { return canon(paypalfake.WebhookHeadersAt(sig, clk.Now())) }
	ev, err := p.ParseWebhook(ctx, headers(paypalfake.ValidSignature), []byte(captureEvent))
	if err != nil {
		t.Fatalf("valid event refused: %v", err)
	}
	if ev.ID != "WH-58D329510W468432D-8HN650336L201105X" || ev.Action != payment.WebhookSettle || ev.Result.Status != payment.StatusSucceeded ||
		ev.ProviderPaymentID != "ORDER-1" || ev.PaymentID != "pay_W1" {
		t.Fatalf("event %+v", ev)
	}
	// The event reached PayPal's verification byte for byte, with our webhook id.
	var verify paypalfake.Request
	for _, r := range fake.Requests() {
		if r.Path == "/v1/notifications/verify-webhook-signature" {
			verify = r
		}
	}
	var sent struct {
		WebhookID    string          `json:"webhook_id"`
		WebhookEvent json.RawMessage `json:"webhook_event"`
	}
	if err := json.Unmarshal(verify.Body, &sent); err != nil || sent.WebhookID != paypalfake.WebhookID || string(sent.WebhookEvent) != captureEvent {
		t.Fatalf("verification request %s, want the event verbatim and the webhook id", verify.Body)
	}

	_, err = p.ParseWebhook(ctx, headers("forged"), []byte(captureEvent))
	if !errors.Is(err, payment.ErrWebhookRejected) {
		t.Fatalf("forged signature: %v, want rejected", err)
	}
	h := headers(paypalfake.ValidSignature)
	delete(h, "Paypal-Transmission-Id")
	if _, err := p.ParseWebhook(ctx, h, []byte(captureEvent)); !errors.Is(err, payment.ErrWebhookRejected) {
		t.Fatalf("missing header: %v, want rejected", err)
	}
	// PayPal's verification API down: not a refusal, the delivery is retried.
	fake.Inject("POST /v1/notifications/verify-webhook-signature", 503, "SERVICE_UNAVAILABLE")
	fake.Inject("POST /v1/notifications/verify-webhook-signature", 503, "SERVICE_UNAVAILABLE")
	fake.Inject("POST /v1/notifications/verify-webhook-signature", 503, "SERVICE_UNAVAILABLE")
	_, err = p.ParseWebhook(ctx, headers(paypalfake.ValidSignature), []byte(captureEvent))
	if err == nil || errors.Is(err, payment.ErrWebhookRejected) {
		t.Fatalf("verification API down: %v, want a retriable error", err)
	}
}

func TestWebhookWithoutWebhookIDIsRefused(t *testing.T) {
	fake := paypalfake.Start(t)
	p, _ := New(Options{ClientID: paypalfake.ClientID, Secret: paypalfake.Secret, APIBase: fake.URL})
	_, err := p.ParseWebhook(context.Background(), canon(paypalfake.WebhookHeaders(paypalfake.ValidSignature)), []byte(captureEvent))
	if !errors.Is(err, payment.ErrWebhookRejected) || fake.Count("POST") != 0 {
		t.Fatalf("err %v, want rejected without calling PayPal", err)
	}
}

func TestTranslate(t *testing.T) {
	cases := []struct {
		typ, resource string
		action        payment.WebhookAction
		status        payment.Status
		reason        string
		ppid, pid     string
		amount        int64
	}{
		{"CHECKOUT.ORDER.APPROVED", `{"id":"O1","status":"APPROVED","purchase_units":[{"custom_id":"pay_1"}]}`, payment.WebhookConfirm, "", "", "O1", "pay_1", 0},
		{"PAYMENT.CAPTURE.DENIED", `{"id":"C1","status":"DECLINED","custom_id":"pay_2","supplementary_data":{"related_ids":{"order_id":"O2"}}}`, payment.WebhookSettle, payment.StatusFailed, "capture_declined", "O2", "pay_2", 0},
		{"PAYMENT.CAPTURE.REFUNDED", `{"id":"R1","custom_id":"pay_3","amount":{"currency_code":"JPY","value":"700"}}`, payment.WebhookRefundReported, "", "", "", "pay_3", 700},
		{"PAYMENT.CAPTURE.REFUNDED", `{"id":"R2","custom_id":"pay_4","amount":{"currency_code":"EUR","value":"1.5"}}`, payment.WebhookRefundReported, "", "", "", "pay_4", 150},
		{"BILLING.SUBSCRIPTION.CREATED", `{"id":"S1"}`, payment.WebhookIgnore, "", "", "", "", 0},
	}
	for _, c := range cases {
		ev, err := translate("WH-1", c.typ, json.RawMessage(c.resource))
		if err != nil {
			t.Fatalf("%s: %v", c.typ, err)
		}
		if ev.Action != c.action || ev.Result.Status != c.status || ev.Result.FailureReason != c.reason || ev.ProviderPaymentID != c.ppid || ev.PaymentID != c.pid || ev.Amount != c.amount {
			t.Errorf("%s: %+v", c.typ, ev)
		}
	}
}

func TestMinorOf(t *testing.T) {
	cases := []struct {
		a    Amount
		want int64
		ok   bool
	}{
		{Amount{"EUR", "12.34"}, 1234, true},
		{Amount{"EUR", "12"}, 1200, true},
		{Amount{"JPY", "500"}, 500, true},
		{Amount{"KWD", "1.234"}, 1234, true},
		{Amount{"EUR", "1.234"}, 0, false},
		{Amount{"EUR", "-1.00"}, 0, false},
		{Amount{"EUR", "1e3"}, 0, false},
		{Amount{"XXX", "1"}, 0, false},
	}
	for _, c := range cases {
		got, ok := minorOf(c.a)
		if got != c.want || ok != c.ok {
			t.Errorf("%+v: %d %v, want %d %v", c.a, got, ok, c.want, c.ok)
		}
	}
}

// PayPal's verification API checks the signature over the transmission
// time, not the time's age: a captured delivery verified forever. Paymon
// refuses one sent more than 5 minutes ago or ahead, before asking PayPal.
func TestWebhookTransmissionTimeIsChecked(t *testing.T) {
	p, fake, clk := setup(t)
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		at   time.Time
		ok   bool
	}{
		{"now", clk.Now(), true},
		{"4 min ago", clk.Now().Add(-4 * time.Minute), true},
		{"4 min ahead", clk.Now().Add(4 * time.Minute), true},
		{"6 min ago", clk.Now().Add(-6 * time.Minute), false},
		{"a day ago", clk.Now().Add(-24 * time.Hour), false},
		{"a day ahead", clk.Now().Add(24 * time.Hour), false},
	} {
		before := fake.Count("POST")
		_, err := p.ParseWebhook(ctx, canon(paypalfake.WebhookHeadersAt(paypalfake.ValidSignature, tc.at)), []byte(captureEvent))
		switch {
		case tc.ok && err != nil:
			t.Errorf("%s: refused: %v", tc.name, err)
		case !tc.ok && (!errors.Is(err, payment.ErrWebhookRejected) || !strings.Contains(err.Error(), "transmission time")):
			t.Errorf("%s: err = %v, want rejected on the transmission time", tc.name, err)
		case !tc.ok && fake.Count("POST") != before:
			t.Errorf("%s: PayPal was asked to verify a stale delivery", tc.name)
		}
	}
	h := canon(paypalfake.WebhookHeaders(paypalfake.ValidSignature))
	h["Paypal-Transmission-Time"] = "yesterday"
	if _, err := p.ParseWebhook(ctx, h, []byte(captureEvent)); !errors.Is(err, payment.ErrWebhookRejected) {
		t.Errorf("unparsable transmission time: %v, want rejected", err)
	}
}
