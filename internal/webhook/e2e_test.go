package webhook_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/paymon/paymon/internal/testenv"
	"github.com/paymon/paymon/internal/webhook"
)

// receiver is a merchant backend: it records every delivery and answers
// with the status answer returns (200 when nil).
type receiver struct {
	mu     sync.Mutex
	got    []delivery
	byID   map[string]int
	answer func(n int) int
}

type delivery struct {
	header http.Header
	body   []byte
	at     time.Time
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	n := len(rc.got)
	rc.got = append(rc.got, delivery{header: r.Header.Clone(), body: b, at: time.Now()})
	status := 200
	if rc.answer != nil {
		status = rc.answer(n)
	}
	if status/100 == 2 {
		rc.byID[r.Header.Get(webhook.EventIDHeader)]++
	}
	rc.mu.Unlock()
	w.WriteHeader(status)
	fmt.Fprintf(w, "answer %d", status)
}

func newReceiver() *receiver { return &receiver{byID: map[string]int{}} }

func (rc *receiver) delivered() map[string]int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	out := make(map[string]int, len(rc.byID))
	for k, v := range rc.byID {
		out[k] = v
	}
	return out
}

func (rc *receiver) all() []delivery {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]delivery(nil), rc.got...)
}

// eventually polls cond until it holds or the deadline passes. The
// deadline only bounds a failing run; it decides nothing about speed.
func eventually(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

type endpointOut struct {
	ID     string `json:"id"`
	Secret string `json:"secret"`
}

func createEndpoint(t *testing.T, p *testenv.Paymon, token, url, types string) endpointOut {
	t.Helper()
	st, body := p.Do("POST", "/api/v1/webhook-endpoints", token, fmt.Sprintf(`{"url":%q,"event_types":%s,"description":"test"}`, url, types))
	var out endpointOut
	if st != http.StatusCreated || json.Unmarshal(body, &out) != nil || !strings.HasPrefix(out.Secret, "whsec_") {
		t.Fatalf("create endpoint: %d %s", st, body)
	}
	return out
}

func createPayment(t *testing.T, p *testenv.Paymon, token string) string {
	t.Helper()
	st, body := p.Do("POST", "/api/v1/payments", token, `{"amount":2500,"currency":"EUR","metadata":{"simulate":"succeed"}}`)
	var out struct {
		ID     string `json:"id"`
		Status string `json:"status"`
	}
	if st != http.StatusCreated || json.Unmarshal(body, &out) != nil || out.Status != "succeeded" {
		t.Fatalf("create payment: %d %s", st, body)
	}
	return out.ID
}

func TestSignedDeliveryOfASimulatorPayment(t *testing.T) {
	rc := newReceiver()
	srv := httptest.NewServer(rc)
	defer srv.Close()
	p := testenv.StartPaymon(t, "PAYMON_WEBHOOK_ALLOW_PRIVATE=true")
	tok := p.AdminToken()
	ep := createEndpoint(t, p, tok, srv.URL+"/hooks", `["payment.succeeded"]`)
	pid := createPayment(t, p, tok)
	eventually(t, 30*time.Second, "the delivery", func() bool { return len(rc.all()) >= 1 })
	d := rc.all()[0]
	var ev struct {
		ID   string `json:"id"`
		Type string `json:"type"`
		Data struct {
			ID     string `json:"id"`
			Status string `json:"status"`
			Amount int64  `json:"amount"`
		} `json:"data"`
	}
	if err := json.Unmarshal(d.body, &ev); err != nil {
		t.Fatalf("body %s: %v", d.body, err)
	}
	if ev.Type != webhook.PaymentSucceeded || ev.Data.ID != pid || ev.Data.Status != "succeeded" || ev.Data.Amount != 2500 {
		t.Fatalf("event = %s", d.body)
	}
	if d.header.Get(webhook.EventIDHeader) != ev.ID || d.header.Get("Content-Type") != "application/json" {
		t.Fatalf("headers = %v", d.header)
	}
	sig := d.header.Get(webhook.SignatureHeader)
	if err := webhook.Verify(ep.Secret, sig, d.body, time.Now(), 5*time.Minute); err != nil {
		t.Fatalf("signature %q does not verify: %v", sig, err)
	}
	if err := webhook.Verify("whsec_wrong", sig, d.body, time.Now(), 5*time.Minute); err == nil {
		t.Fatal("signature verifies with a wrong secret")
	}
	if err := webhook.Verify(ep.Secret, sig, append(d.body, ' '), time.Now(), 5*time.Minute); err == nil {
		t.Fatal("signature verifies a changed body")
	}
	// Only payment.succeeded was asked for: the created event is not sent,
	// but is listed.
	time.Sleep(300 * time.Millisecond)
	if n := len(rc.all()); n != 1 {
		t.Fatalf("receiver got %d deliveries, want 1", n)
	}
	st, body := p.Do("GET", "/api/v1/events?type=payment.created&limit=5", tok, "")
	if st != 200 || !strings.Contains(string(body), pid) {
		t.Fatalf("events: %d %s", st, body)
	}
	st, body = p.Do("GET", "/api/v1/events/"+ev.ID, tok, "")
	if st != 200 || !strings.Contains(string(body), `"type":"payment.succeeded"`) {
		t.Fatalf("event: %d %s", st, body)
	}
	// The secret is shown once only.
	st, body = p.Do("GET", "/api/v1/webhook-endpoints/"+ep.ID, tok, "")
	if st != 200 || strings.Contains(string(body), ep.Secret) || strings.Contains(string(body), "whsec_") {
		t.Fatalf("endpoint shows its secret: %d %s", st, body)
	}
}

func TestFailingReceiverIsRetriedUntil2xx(t *testing.T) {
	rc := newReceiver()
	rc.answer = func(n int) int {
		if n < 3 {
			return 500
		}
		return 200
	}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	p := testenv.StartPaymon(t, "PAYMON_WEBHOOK_ALLOW_PRIVATE=true", "PAYMON_WEBHOOK_RETRY_BASE=50ms")
	tok := p.AdminToken()
	ep := createEndpoint(t, p, tok, srv.URL, `["payment.succeeded"]`)
	createPayment(t, p, tok)
	eventually(t, 30*time.Second, "the fourth attempt", func() bool { return len(rc.delivered()) == 1 })
	if n := len(rc.all()); n != 4 {
		t.Fatalf("receiver saw %d attempts, want 4", n)
	}
	var page struct {
		Data []webhook.Delivery `json:"data"`
	}
	eventually(t, 10*time.Second, "four logged attempts", func() bool {
		st, body := p.Do("GET", "/api/v1/webhook-endpoints/"+ep.ID+"/deliveries", tok, "")
		return st == 200 && json.Unmarshal(body, &page) == nil && len(page.Data) == 4
	})
	for i, d := range page.Data { // newest first
		wantStatus, wantResult := 500, "failed"
		if i == 0 {
			wantStatus, wantResult = 200, "delivered"
		}
		if d.Attempt != 4-i || d.Status != wantStatus || d.Result != wantResult || d.Response != fmt.Sprintf("answer %d", wantStatus) || d.EventType != webhook.PaymentSucceeded {
			t.Fatalf("delivery %d = %+v", i, d)
		}
	}
	// Operators read deliveries and resend; they cannot manage endpoints.
	if st, body := p.Do("POST", "/api/v1/users", tok, `{"email":"op@example.com","password":"operator-password-1","role":"operator"}`); st != 201 {
		t.Fatalf("create operator: %d %s", st, body)
	}
	op := p.Token("op@example.com", "operator-password-1")
	if st, _ := p.Do("POST", "/api/v1/webhook-endpoints", op, `{"url":"http://127.0.0.1:1/"}`); st != http.StatusForbidden {
		t.Fatalf("operator created an endpoint: %d", st)
	}
	if st, _ := p.Do("GET", "/api/v1/webhook-endpoints/"+ep.ID+"/deliveries", op, ""); st != 200 {
		t.Fatalf("operator reading deliveries: %d", st)
	}
	st, body := p.Do("POST", "/api/v1/events/"+page.Data[0].EventID+"/resend", op, "")
	if st != http.StatusAccepted || !strings.Contains(string(body), ep.ID) {
		t.Fatalf("resend: %d %s", st, body)
	}
	eventually(t, 30*time.Second, "the resent delivery", func() bool { return len(rc.all()) == 5 })
}

// freePort returns a loopback address nothing listens on (yet).
func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// TestKillNineLosesNoEvent makes 100 events while the receiver is down,
// kills paymon with SIGKILL, brings the receiver up and restarts paymon:
// every event arrives.
func TestKillNineLosesNoEvent(t *testing.T) {
	addr := freePort(t)
	p := testenv.StartPaymon(t, "PAYMON_WEBHOOK_ALLOW_PRIVATE=true", "PAYMON_WEBHOOK_RETRY_BASE=100ms", "PAYMON_WEBHOOK_RETRY_MAX=500ms")
	tok := p.AdminToken()
	createEndpoint(t, p, tok, "http://"+addr+"/hooks", `["*"]`)
	for i := 0; i < 50; i++ { // created + succeeded: 100 events
		createPayment(t, p, tok)
	}
	st, body := p.Do("GET", "/api/v1/events?limit=100", tok, "")
	var page struct {
		Data    []json.RawMessage `json:"data"`
		HasMore bool              `json:"has_more"`
	}
	if st != 200 || json.Unmarshal(body, &page) != nil || len(page.Data) != 100 || page.HasMore {
		t.Fatalf("events before the kill: %d, %d listed", st, len(page.Data))
	}
	p.Kill()

	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("cannot bring the receiver up on %s: %v", addr, err)
	}
	rc := newReceiver()
	srv := &http.Server{Handler: rc}
	go srv.Serve(l)
	defer srv.Close()
	p.Restart()
	eventually(t, 150*time.Second, "100 delivered events", func() bool { return len(rc.delivered()) == 100 })
	for id, n := range rc.delivered() {
		if !webhook.ValidEventID(id) {
			t.Fatalf("delivered %q", id)
		}
		_ = n // a redelivery is allowed here (at least once); loss is not
	}
}

func TestPrivateEndpointURLsAreRefused(t *testing.T) {
	p := testenv.StartPaymon(t)
	tok := p.AdminToken()
	for _, u := range []string{"http://127.0.0.1:8080/hook", "http://169.254.169.254/latest/meta-data", "http://10.1.2.3/x", "http://[::1]/x", "http://0.0.0.0/x", "http://localhost/x"} {
		st, body := p.Do("POST", "/api/v1/webhook-endpoints", tok, fmt.Sprintf(`{"url":%q}`, u))
		if st != http.StatusUnprocessableEntity || !strings.Contains(string(body), `"field":"url"`) {
			t.Errorf("%s: %d %s, want 422 on url", u, st, body)
		}
	}
	for _, b := range []string{`{"url":"ftp://example.com/"}`, `{"url":"https://example.com/","event_types":["payment.nope"]}`, `{"url":"https://example.com/","event_types":[]}`} {
		if st, body := p.Do("POST", "/api/v1/webhook-endpoints", tok, b); st != http.StatusUnprocessableEntity {
			t.Errorf("%s: %d %s, want 422", b, st, body)
		}
	}
	allowed := testenv.StartPaymon(t, "PAYMON_WEBHOOK_ALLOW_PRIVATE=true")
	atok := allowed.AdminToken()
	for _, u := range []string{"http://127.0.0.1:8080/hook", "http://169.254.169.254/latest/meta-data"} {
		if st, body := allowed.Do("POST", "/api/v1/webhook-endpoints", atok, fmt.Sprintf(`{"url":%q}`, u)); st != http.StatusCreated {
			t.Errorf("allowed %s: %d %s", u, st, body)
		}
	}
}

// TestTwoInstancesDeliverEveryEventOnce runs two instances on one
// FerretDB and one Redis, creates payments on both, and checks that the
// receiver gets each of the 1,000 events exactly once.
func TestTwoInstancesDeliverEveryEventOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("two instances and 500 payments")
	}
	mongo, redis := testenv.FerretDB(t), testenv.Redis(t)
	env := []string{"PAYMON_MONGODB_URI=" + mongo.URL(), "PAYMON_MONGODB_DATABASE=paymon_hooks_two", "PAYMON_REDIS_URL=" + redis.URL(),
		"PAYMON_WEBHOOK_ALLOW_PRIVATE=true", "PAYMON_WEBHOOK_RETRY_BASE=200ms", "PAYMON_WEBHOOK_RETRY_MAX=1s"}
	rc := newReceiver()
	srv := httptest.NewServer(rc)
	defer srv.Close()
	a := testenv.StartPaymon(t, env...)
	b := testenv.StartPaymon(t, env...)
	tok := a.AdminToken()
	createEndpoint(t, a, tok, srv.URL, `["*"]`)
	const payments = 500
	began := time.Now()
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		inst := a
		if w%2 == 1 {
			inst = b
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < payments/4; i++ {
				createPayment(t, inst, tok)
			}
		}()
	}
	wg.Wait()
	t.Logf("%d payments created on two instances in %s", payments, time.Since(began))
	eventually(t, 300*time.Second, "1,000 delivered events", func() bool { return len(rc.delivered()) >= 2*payments })
	t.Logf("all delivered %s after the first create", time.Since(began))
	time.Sleep(time.Second) // a duplicate would arrive now
	got := rc.delivered()
	if len(got) != 2*payments {
		t.Fatalf("delivered %d distinct events, want %d", len(got), 2*payments)
	}
	for id, n := range got {
		if n != 1 {
			t.Errorf("event %s delivered %d times", id, n)
		}
	}
	if n := len(rc.all()); n != 2*payments {
		t.Fatalf("receiver saw %d requests, want %d (nothing failed, so no retry)", n, 2*payments)
	}
}

// TestEndpointDisabledAndAlertedAfterTheRetryWindow shortens the retry
// window to a second: an endpoint that always fails is disabled, the
// alert engine raises WebhookEndpointDisabled, and /metrics counts the
// give-up.
func TestEndpointDisabledAndAlertedAfterTheRetryWindow(t *testing.T) {
	rc := newReceiver()
	rc.answer = func(int) int { return 503 }
	srv := httptest.NewServer(rc)
	defer srv.Close()
	p := testenv.StartPaymon(t, "PAYMON_WEBHOOK_ALLOW_PRIVATE=true", "PAYMON_WEBHOOK_RETRY_BASE=100ms",
		"PAYMON_WEBHOOK_RETRY_MAX=200ms", "PAYMON_WEBHOOK_RETRY_FOR=1s", "PAYMON_ALERT_EVAL_INTERVAL=1s")
	tok := p.AdminToken()
	ep := createEndpoint(t, p, tok, srv.URL, `["payment.succeeded"]`)
	createPayment(t, p, tok)
	var got struct {
		Enabled        bool   `json:"enabled"`
		DisabledReason string `json:"disabled_reason"`
	}
	eventually(t, 30*time.Second, "the endpoint disabled", func() bool {
		st, body := p.Do("GET", "/api/v1/webhook-endpoints/"+ep.ID, tok, "")
		return st == 200 && json.Unmarshal(body, &got) == nil && !got.Enabled
	})
	if !strings.Contains(got.DisabledReason, "503") {
		t.Fatalf("disabled_reason = %q", got.DisabledReason)
	}
	if n := len(rc.all()); n < 2 {
		t.Fatalf("receiver saw %d attempts before the give-up, want retries", n)
	}
	eventually(t, 30*time.Second, "the WebhookEndpointDisabled alert", func() bool {
		st, body := p.Do("GET", "/api/v1/alerts?state=firing&rule=WebhookEndpointDisabled", tok, "")
		return st == 200 && strings.Contains(string(body), ep.ID)
	})
	st, body := p.Do("GET", "/metrics", "", "")
	if st != 200 || !strings.Contains(string(body), `paymon_webhook_deliveries_total{result="gave_up"} 1`) {
		t.Fatalf("metrics lack the give-up: %d", st)
	}
	// Enabling it again resolves the alert.
	if st, body := p.Do("PATCH", "/api/v1/webhook-endpoints/"+ep.ID, tok, `{"enabled":true}`); st != 200 || strings.Contains(string(body), "503") {
		t.Fatalf("enable: %d %s", st, body)
	}
	eventually(t, 30*time.Second, "the alert resolved", func() bool {
		st, body := p.Do("GET", "/api/v1/alerts?state=resolved&rule=WebhookEndpointDisabled", tok, "")
		return st == 200 && strings.Contains(string(body), ep.ID)
	})
}
