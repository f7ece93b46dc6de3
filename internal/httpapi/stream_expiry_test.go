package httpapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/paymon/paymon/internal/auth"
	"github.com/paymon/paymon/internal/realtime"
)

// expiringToken logs a new viewer in with a token that expired 4 s ago:
// still inside the server's 5 s leeway, so it opens a stream that must end
// about a second later.
func (e *streamEnv) expiringToken() string {
	e.t.Helper()
	ctx := context.Background()
	short, err := auth.NewService(ctx, e.db, streamSecret, auth.Options{AccessTTL: -4 * time.Second})
	if err != nil {
		e.t.Fatal(err)
	}
	if _, err := short.CreateUser(ctx, "viewer@example.test", "viewer-password-1", auth.RoleViewer); err != nil {
		e.t.Fatal(err)
	}
	pair, err := short.Login(ctx, "viewer@example.test", "viewer-password-1")
	if err != nil {
		e.t.Fatal(err)
	}
	return pair.AccessToken
}

func TestStreamEndsWhenTheAccessTokenExpires(t *testing.T) {
	e := newStreamEnv(t, realtime.Options{})
	keyed := e.dial(auth.RoleViewer) // an API key has no expiry
	keyed.subscribe("payments", nil)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, e.wsURL(""), &websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + e.expiringToken()}}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	w := &wsConn{t: t, c: c}
	w.subscribe("payments", nil)
	_, _, err = c.Read(ctx)
	var ce websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != websocket.StatusPolicyViolation || ce.Reason != "access token expired" {
		t.Fatalf("read after expiry: %v; want close 1008 \"access token expired\"", err)
	}

	// The API-key stream is still open and served.
	keyed.send(map[string]any{"type": "subscribe", "topic": "alerts"})
	if f := keyed.expect("subscribed", ""); f.Topic != "alerts" {
		t.Fatalf("API-key stream after the other expired: %+v", f)
	}
}

func TestSSEEndsWhenTheAccessTokenExpires(t *testing.T) {
	e := newStreamEnv(t, realtime.Options{})
	req, _ := http.NewRequest("GET", e.srv.URL+"/api/v1/stream/sse?topics=payments", nil)
	req.Header.Set("Authorization", "Bearer "+e.expiringToken())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	ch := readSSE(resp.Body)
	ev := nextSSE(t, ch)
	var fe struct{ Code, Message string }
	if err := json.Unmarshal([]byte(ev.data), &fe); err != nil || ev.event != "error" || fe.Code != "token_expired" || !strings.Contains(fe.Message, "access token expired") {
		t.Fatalf("event %+v; want an error event token_expired", ev)
	}
	select {
	case _, open := <-ch:
		if open {
			t.Fatal("stream went on after token_expired")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("stream not closed after token_expired")
	}
}

func TestStreamsBeyondTheLimitGet503(t *testing.T) {
	e := newStreamEnv(t, realtime.Options{MaxSubscribers: 1})
	first := e.dial(auth.RoleViewer)
	first.subscribe("payments", nil)

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, resp, err := websocket.Dial(ctx, e.wsURL(""), &websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + e.keys[auth.RoleViewer]}}})
	if err == nil || resp == nil || resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("second WebSocket: %v %+v; want 503 with Retry-After", err, resp)
	}
	sse := e.sse("?topics=payments", "")
	sse.Body.Close()
	if sse.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("SSE beyond the limit: %d, want 503", sse.StatusCode)
	}
	// The open stream is unaffected.
	first.send(map[string]any{"type": "subscribe", "topic": "alerts"})
	first.expect("subscribed", "")
}
