package httpapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/paymon/paymon/internal/apitest"
)

// TestStreamEndToEnd runs the whole app: a viewer's browser-style
// WebSocket (token in the query, same Origin) sees the payment an operator
// creates over REST, as the REST API returned it, then its refund.
func TestStreamEndToEnd(t *testing.T) {
	e := apitest.New(t)
	viewer := e.UserToken("viewer@example.test", "viewer")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	url := "ws" + strings.TrimPrefix(e.URL, "http") + "/api/v1/stream?access_token=" + viewer
	c, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{HTTPHeader: http.Header{"Origin": {e.URL}}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	ws := &wsConn{t: t, c: c}
	ws.subscribe("payments", nil)

	st, body := e.Do("POST", "/api/v1/payments", e.AdminToken,
		`{"amount":2500,"currency":"EUR","metadata":{"simulate":"succeed"}}`, "Idempotency-Key: stream-e2e-1")
	if st != 201 && st != 200 {
		t.Fatalf("create: %d %s", st, body)
	}
	var created struct {
		ID     string `json:"id"`
		Status string `json:"status"`
	}
	if err := json.Unmarshal(body, &created); err != nil {
		t.Fatal(err)
	}

	f := ws.expect("event", "")
	if f.Topic != "payments" || f.Event != "payment.created" || !strings.HasPrefix(f.ID, "evt_") {
		t.Fatalf("first event %+v", f)
	}
	var got struct {
		ID, Status string
	}
	if err := json.Unmarshal(f.Data, &got); err != nil || got.ID != created.ID {
		t.Fatalf("payment.created data %s, want payment %s", f.Data, created.ID)
	}
	// The last event about this payment is the REST representation, byte
	// for byte (create may emit a created and an updated event).
	last := f
	for last.Event == "payment.created" && created.Status != got.Status {
		last = ws.expect("event", "")
		_ = json.Unmarshal(last.Data, &got)
	}
	if st, cur := e.Do("GET", "/api/v1/payments/"+created.ID, e.AdminToken, nil); st != 200 || strings.TrimSpace(string(cur)) != string(last.Data) {
		t.Errorf("streamed payment differs from GET:\n stream %s\n rest   %s", last.Data, cur)
	}

	st, body = e.Do("POST", "/api/v1/payments/"+created.ID+"/refund", e.AdminToken, `{"amount":1000}`, "Idempotency-Key: stream-e2e-refund")
	if st >= 300 {
		t.Fatalf("refund: %d %s", st, body)
	}
	f = ws.expect("event", "")
	if f.Event != "payment.updated" || !strings.Contains(string(f.Data), `"amount_refunded":1000`) {
		t.Errorf("after refund got %s %s", f.Event, f.Data)
	}
}

// TestStreamLogsEndToEnd: entries shipped to POST /api/v1/logs reach a
// filtered log tail, and only those its filter takes.
func TestStreamLogsEndToEnd(t *testing.T) {
	e := apitest.New(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	url := "ws" + strings.TrimPrefix(e.URL, "http") + "/api/v1/stream"
	c, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + e.AdminToken}}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	ws := &wsConn{t: t, c: c}
	ws.subscribe("logs", map[string]any{"filter": map[string]any{"levels": []string{"error", "fatal"}, "service": "checkout"}})

	batch := `{"level":"info","service":"checkout","message":"fine"}
{"level":"error","service":"billing","message":"other service"}
{"level":"error","service":"checkout","message":"card declined"}
{"level":"fatal","service":"checkout","message":"stop"}
`
	if st, body := e.Do("POST", "/api/v1/logs", e.AdminToken, batch, "Content-Type: application/x-ndjson"); st >= 300 {
		t.Fatalf("ingest: %d %s", st, body)
	}
	got := ws.messagesUntil("stop")
	if strings.Join(got, ",") != "card declined" {
		t.Errorf("filtered tail got %q, want only the checkout error", got)
	}
}
