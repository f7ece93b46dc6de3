// Package paypalfake is a FAKE of PayPal's REST API, for tests only: PayPal's
// sandbox cannot be reached from the machines these tests run on, and PayPal
// publishes no local mock server (unlike Stripe's stripe-mock). It serves the
// endpoints Paymon uses, following PayPal's documented shapes: OAuth2
// client credentials (POST /v1/oauth2/token), Orders v2 (create, get,
// capture), Payments v2 capture refunds, and verify-webhook-signature.
// Behaviour it models: PayPal-Request-Id idempotency, capture only after
// approval, bearer-token checks with expiry, and injected failures.
package paypalfake

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// Credentials the fake accepts.
const (
	ClientID  = "fake-client-id"
	Secret    = "fake-secret"
	WebhookID = "WH-FAKE-1"
	// ValidSignature is the PAYPAL-TRANSMISSION-SIG the fake's
	// verify-webhook-signature accepts; anything else FAILS.
	ValidSignature = "valid-signature"
)

// Request is one call the fake received.
type Request struct {
	Method, Path, RequestID string
	Body                    []byte
}

// Server is a running fake.
type Server struct {
	URL string
	// TokenTTL is the expires_in of issued tokens [3600s].
	TokenTTL time.Duration
	// Now is the fake's clock for token expiry; tests share it with the
	// client under test.
	Now func() time.Time

	mu          sync.Mutex
	reqs        []Request
	tokens      map[string]time.Time
	tokenFetch  int
	orders      map[string]map[string]any // by order id
	byRequestID map[string][]byte         // PayPal-Request-Id → stored response
	faults      map[string][]fault
	seq         int
}

type fault struct {
	status int
	body   string
}

// Start runs a fake on loopback until the test ends.
func Start(t testing.TB) *Server {
	s := &Server{TokenTTL: time.Hour, Now: time.Now, tokens: map[string]time.Time{}, orders: map[string]map[string]any{},
		byRequestID: map[string][]byte{}, faults: map[string][]fault{}}
	srv := httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(srv.Close)
	s.URL = srv.URL
	return s
}

// Inject makes the next call whose "METHOD path-prefix" matches answer
// status with a PayPal error naming issue, before any other processing.
func (s *Server) Inject(methodPathPrefix string, status int, issue string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	body := fmt.Sprintf(`{"name":%q,"message":"injected","debug_id":"fake","details":[{"issue":%q}]}`, http.StatusText(status), issue)
	s.faults[methodPathPrefix] = append(s.faults[methodPathPrefix], fault{status, body})
}

// Requests returns the calls received so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.reqs...)
}

// Count counts received calls of "METHOD path-prefix".
func (s *Server) Count(methodPathPrefix string) int {
	n := 0
	for _, r := range s.Requests() {
		if strings.HasPrefix(r.Method+" "+r.Path, methodPathPrefix) {
			n++
		}
	}
	return n
}

// TokenFetches counts tokens issued.
func (s *Server) TokenFetches() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tokenFetch
}

// Approve marks an order as approved by the payer, as PayPal does when the
// customer finishes at the approve link.
func (s *Server) Approve(orderID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if o, ok := s.orders[orderID]; ok {
		o["status"] = "APPROVED"
	}
}

// Order returns a copy of an order as the fake holds it.
func (s *Server) Order(orderID string) map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, _ := json.Marshal(s.orders[orderID])
	var o map[string]any
	_ = json.Unmarshal(b, &o)
	return o
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	key := r.Method + " " + r.URL.Path
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reqs = append(s.reqs, Request{Method: r.Method, Path: r.URL.Path, RequestID: r.Header.Get("PayPal-Request-Id"), Body: body})
	for prefix, fs := range s.faults {
		if len(fs) > 0 && strings.HasPrefix(key, prefix) {
			s.faults[prefix] = fs[1:]
			writeJSON(w, fs[0].status, json.RawMessage(fs[0].body))
			return
		}
	}
	if r.Method == "POST" && r.URL.Path == "/v1/oauth2/token" {
		s.issueToken(w, r, body)
		return
	}
	auth := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	if exp, ok := s.tokens[auth]; !ok || !s.Now().Before(exp) {
		writeJSON(w, 401, map[string]any{"error": "invalid_token", "error_description": "Token signature verification failed"})
		return
	}
	if rid := r.Header.Get("PayPal-Request-Id"); rid != "" {
		if prev, ok := s.byRequestID[key+"|"+rid]; ok {
			writeJSON(w, 200, json.RawMessage(prev))
			return
		}
	}
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	switch {
	case r.Method == "POST" && r.URL.Path == "/v2/checkout/orders":
		s.createOrder(w, r, key, body)
	case r.Method == "GET" && len(parts) == 4 && parts[1] == "checkout":
		o, ok := s.orders[parts[3]]
		if !ok {
			notFound(w)
			return
		}
		writeJSON(w, 200, o)
	case r.Method == "POST" && len(parts) == 5 && parts[1] == "checkout" && parts[4] == "capture":
		s.capture(w, r, key, parts[3])
	case r.Method == "POST" && len(parts) == 5 && parts[1] == "payments" && parts[4] == "refund":
		s.refund(w, r, key, parts[3], body)
	case r.Method == "POST" && r.URL.Path == "/v1/notifications/verify-webhook-signature":
		s.verify(w, body)
	default:
		notFound(w)
	}
}

func (s *Server) issueToken(w http.ResponseWriter, r *http.Request, body []byte) {
	want := "Basic " + base64.StdEncoding.EncodeToString([]byte(ClientID+":"+Secret))
	if r.Header.Get("Authorization") != want || !strings.Contains(string(body), "grant_type=client_credentials") {
		writeJSON(w, 401, map[string]any{"error": "invalid_client", "error_description": "Client Authentication failed"})
		return
	}
	s.tokenFetch++
	tok := fmt.Sprintf("A21AA-fake-%d", s.tokenFetch)
	s.tokens[tok] = s.Now().Add(s.TokenTTL)
	writeJSON(w, 200, map[string]any{"scope": "https://uri.paypal.com/services/payments/payment", "access_token": tok,
		"token_type": "Bearer", "app_id": "APP-FAKE", "expires_in": int(s.TokenTTL / time.Second), "nonce": "fake"})
}

func (s *Server) remember(w http.ResponseWriter, r *http.Request, key string, v any) {
	b, _ := json.Marshal(v)
	if rid := r.Header.Get("PayPal-Request-Id"); rid != "" {
		s.byRequestID[key+"|"+rid] = b
	}
	writeJSON(w, 201, json.RawMessage(b))
}

func (s *Server) createOrder(w http.ResponseWriter, r *http.Request, key string, body []byte) {
	var in struct {
		Intent        string           `json:"intent"`
		PurchaseUnits []map[string]any `json:"purchase_units"`
	}
	if json.Unmarshal(body, &in) != nil || in.Intent != "CAPTURE" || len(in.PurchaseUnits) == 0 {
		writeJSON(w, 400, map[string]any{"name": "INVALID_REQUEST", "details": []map[string]string{{"issue": "MALFORMED_REQUEST_JSON"}}})
		return
	}
	s.seq++
	id := fmt.Sprintf("5O190127TN36%04dT", s.seq)
	o := map[string]any{
		"id": id, "intent": "CAPTURE", "status": "CREATED", "purchase_units": in.PurchaseUnits,
		"links": []map[string]string{
			{"href": s.URL + "/v2/checkout/orders/" + id, "rel": "self", "method": "GET"},
			{"href": "https://www.sandbox.paypal.com/checkoutnow?token=" + id, "rel": "approve", "method": "GET"},
			{"href": s.URL + "/v2/checkout/orders/" + id + "/capture", "rel": "capture", "method": "POST"},
		},
	}
	s.orders[id] = o
	s.remember(w, r, key, o)
}

func (s *Server) capture(w http.ResponseWriter, r *http.Request, key, id string) {
	o, ok := s.orders[id]
	if !ok {
		notFound(w)
		return
	}
	switch o["status"] {
	case "COMPLETED":
		writeJSON(w, 422, map[string]any{"name": "UNPROCESSABLE_ENTITY", "details": []map[string]string{{"issue": "ORDER_ALREADY_CAPTURED"}}})
		return
	case "APPROVED":
	default:
		writeJSON(w, 422, map[string]any{"name": "UNPROCESSABLE_ENTITY", "details": []map[string]string{{"issue": "ORDER_NOT_APPROVED"}}})
		return
	}
	pu := o["purchase_units"].([]map[string]any)[0]
	pu["payments"] = map[string]any{"captures": []map[string]any{{
		"id": "CAP-" + id, "status": "COMPLETED", "amount": pu["amount"], "custom_id": pu["custom_id"],
		"supplementary_data": map[string]any{"related_ids": map[string]string{"order_id": id}},
	}}}
	o["status"] = "COMPLETED"
	s.remember(w, r, key, o)
}

func (s *Server) refund(w http.ResponseWriter, r *http.Request, key, captureID string, body []byte) {
	var in struct {
		Amount struct {
			Value        string `json:"value"`
			CurrencyCode string `json:"currency_code"`
		} `json:"amount"`
	}
	if json.Unmarshal(body, &in) != nil || in.Amount.Value == "" {
		writeJSON(w, 400, map[string]any{"name": "INVALID_REQUEST", "details": []map[string]string{{"issue": "MISSING_REQUIRED_PARAMETER"}}})
		return
	}
	if !strings.HasPrefix(captureID, "CAP-") {
		notFound(w)
		return
	}
	s.seq++
	s.remember(w, r, key, map[string]any{"id": fmt.Sprintf("REF-%d", s.seq), "status": "COMPLETED", "amount": in.Amount})
}

// verify succeeds only for the configured webhook id and the valid
// signature, and requires every transmission field, as PayPal does.
func (s *Server) verify(w http.ResponseWriter, body []byte) {
	var in struct {
		AuthAlgo         string          `json:"auth_algo"`
		CertURL          string          `json:"cert_url"`
		TransmissionID   string          `json:"transmission_id"`
		TransmissionSig  string          `json:"transmission_sig"`
		TransmissionTime string          `json:"transmission_time"`
		WebhookID        string          `json:"webhook_id"`
		WebhookEvent     json.RawMessage `json:"webhook_event"`
	}
	if json.Unmarshal(body, &in) != nil || in.AuthAlgo == "" || in.CertURL == "" || in.TransmissionID == "" || in.TransmissionTime == "" || len(in.WebhookEvent) == 0 {
		writeJSON(w, 400, map[string]any{"name": "VALIDATION_ERROR", "details": []map[string]string{{"issue": "MISSING_REQUIRED_PARAMETER"}}})
		return
	}
	status := "FAILURE"
	if in.WebhookID == WebhookID && in.TransmissionSig == ValidSignature {
		status = "SUCCESS"
	}
	writeJSON(w, 200, map[string]string{"verification_status": status})
}

// WebhookHeaders are transmission headers the fake's verification accepts
// (with sig = ValidSignature) or refuses (any other sig).
func WebhookHeaders(sig string) map[string]string { return WebhookHeadersAt(sig, time.Now()) }

// WebhookHeadersAt is WebhookHeaders for a delivery transmitted at t.
func WebhookHeadersAt(sig string, t time.Time) map[string]string {
	return map[string]string{
		"PAYPAL-AUTH-ALGO":         "SHA256withRSA",
		"PAYPAL-CERT-URL":          "https://api.sandbox.paypal.com/v1/notifications/certs/CERT-360caa42-fca2a594-1d93a270",
		"PAYPAL-TRANSMISSION-ID":   "69cd13f0-d67a-11e5-baa3-778b53f4ae55",
		"PAYPAL-TRANSMISSION-SIG":  sig,
		"PAYPAL-TRANSMISSION-TIME": t.UTC().Format(time.RFC3339),
	}
}

func notFound(w http.ResponseWriter) {
	writeJSON(w, 404, map[string]any{"name": "RESOURCE_NOT_FOUND", "details": []map[string]string{{"issue": "INVALID_RESOURCE_ID"}}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
