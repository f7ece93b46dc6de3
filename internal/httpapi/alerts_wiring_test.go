package httpapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/paymon/paymon/internal/alert"
	"github.com/paymon/paymon/internal/apitest"
)

type streamFrame struct {
	Type, Topic, Event string
	Data               json.RawMessage
}

// subscribeAlerts opens the live stream as admin and subscribes to the
// alerts topic; it returns a function reading the next frame.
func subscribeAlerts(t *testing.T, e *apitest.Env) func() streamFrame {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	ws, resp, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(e.URL, "http")+"/api/v1/stream",
		&websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + e.AdminToken}}})
	if err != nil {
		t.Fatalf("dial stream: %v (%v)", err, resp)
	}
	ws.SetReadLimit(1 << 20)
	t.Cleanup(func() { _ = ws.CloseNow() })
	read := func() streamFrame {
		t.Helper()
		_, b, err := ws.Read(ctx)
		if err != nil {
			t.Fatalf("read stream: %v", err)
		}
		var f streamFrame
		if err := json.Unmarshal(b, &f); err != nil {
			t.Fatalf("frame %s: %v", b, err)
		}
		return f
	}
	if err := ws.Write(ctx, websocket.MessageText, []byte(`{"type":"subscribe","topic":"alerts"}`)); err != nil {
		t.Fatal(err)
	}
	if f := read(); f.Type != "subscribed" || f.Topic != "alerts" {
		t.Fatalf("first frame = %+v, want subscribed to alerts", f)
	}
	return read
}

// runEngine drives the app's alert engine every 200ms for the test.
func runEngine(t *testing.T, eng *alert.Engine) {
	ctx, stop := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() { defer close(stopped); eng.Run(ctx, 200*time.Millisecond) }()
	t.Cleanup(func() { stop(); <-stopped })
}

// nextAlert reads frames until an alerts event of rule, and returns it.
func nextAlert(t *testing.T, read func() streamFrame, rule string) (string, alert.Alert) {
	t.Helper()
	for {
		f := read()
		if f.Type != "event" || f.Topic != "alerts" {
			continue
		}
		var a alert.Alert
		if err := json.Unmarshal(f.Data, &a); err != nil {
			t.Fatal(err)
		}
		if a.Rule == rule {
			return f.Event, a
		}
	}
}

// Alert transitions reach the live stream's alerts topic as the API
// lists them.
func TestAlertTransitionsAreStreamed(t *testing.T) {
	e := apitest.New(t)
	read := subscribeAlerts(t, e)
	runEngine(t, e.App.Alerts)

	createPayments(t, e, 10, "fail")
	ev, a := nextAlert(t, read, "PaymentFailureStreak")
	if ev != "alert.fired" || a.State != alert.Firing || a.Severity != alert.Critical || a.Labels["provider"] != "simulator" || a.ID == "" {
		t.Fatalf("streamed %s %+v, want alert.fired for the simulator", ev, a)
	}
	listed := firing(t, e, "PaymentFailureStreak")
	if len(listed) != 1 || string(listed[0]["id"]) != `"`+a.ID+`"` {
		t.Fatalf("API lists %v, streamed %s", listed, a.ID)
	}

	createPayments(t, e, 1, "succeed")
	ev, r := nextAlert(t, read, "PaymentFailureStreak")
	if ev != "alert.resolved" || r.ID != a.ID || r.State != alert.Resolved || r.ResolvedAt == nil {
		t.Fatalf("streamed %s %+v, want alert.resolved of %s", ev, r, a.ID)
	}
}
