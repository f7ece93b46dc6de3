package alert_test

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/paymon/paymon/internal/alert"
)

// receiver is a webhook endpoint on loopback that verifies every request
// as a real receiver would and answers failures first, then statuses[i].
type receiver struct {
	t        *testing.T
	secret   []byte
	statuses []int // answer per attempt; 200 once they run out
	mu       sync.Mutex
	attempts int
	bad      []error
	got      chan alert.Notification
}

func newReceiver(t *testing.T, secret string, statuses ...int) (*receiver, *httptest.Server) {
	r := &receiver{t: t, secret: []byte(secret), statuses: statuses, got: make(chan alert.Notification, 16)}
	srv := httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(srv.Close)
	return r, srv
}

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	i := r.attempts
	r.attempts++
	r.mu.Unlock()
	if i < len(r.statuses) && r.statuses[i] != http.StatusOK {
		w.WriteHeader(r.statuses[i])
		return
	}
	if err := alert.Verify(r.secret, req.Header.Get(alert.SignatureHeader), body, time.Now(), 5*time.Minute); err != nil {
		r.mu.Lock()
		r.bad = append(r.bad, err)
		r.mu.Unlock()
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	var n alert.Notification
	if err := json.Unmarshal(body, &n); err != nil || req.Header.Get("X-Paymon-Delivery") != n.ID || req.Header.Get("X-Paymon-Event") != n.Type {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	w.WriteHeader(http.StatusNoContent)
	r.got <- n
}

func (r *receiver) wait(t *testing.T) alert.Notification {
	t.Helper()
	select {
	case n := <-r.got:
		return n
	case <-time.After(10 * time.Second):
		r.mu.Lock()
		defer r.mu.Unlock()
		t.Fatalf("no verified notification after %d attempts (bad signatures: %v)", r.attempts, r.bad)
		return alert.Notification{}
	}
}

func firingAlert() alert.Alert {
	return alert.Alert{ID: "alt_1", Rule: "PaymentFailureStreak", Severity: alert.Critical, State: alert.Firing,
		Summary: "the last 10 finished payments through stripe all failed", Labels: map[string]string{"provider": "stripe"},
		StartedAt: time.Date(2026, 5, 6, 12, 0, 0, 0, time.UTC)}
}

func TestWebhookSignedNotification(t *testing.T) {
	r, srv := newReceiver(t, "s3cret")
	w := alert.NewWebhook(alert.WebhookOptions{URL: srv.URL, Secret: []byte("s3cret"), BaseDelay: 10 * time.Millisecond})
	t.Cleanup(func() { w.Close() })
	w.Send(firingAlert())
	n := r.wait(t)
	if n.Type != "alert.fired" || n.Alert.ID != "alt_1" || n.Alert.Labels["provider"] != "stripe" || n.Alert.State != alert.Firing {
		t.Fatalf("notification = %+v", n)
	}
}

func TestWebhookRetriesUntilDelivered(t *testing.T) {
	r, srv := newReceiver(t, "s3cret", http.StatusInternalServerError, http.StatusServiceUnavailable)
	w := alert.NewWebhook(alert.WebhookOptions{URL: srv.URL, Secret: []byte("s3cret"), BaseDelay: 10 * time.Millisecond})
	t.Cleanup(func() { w.Close() })
	resolved := firingAlert()
	resolved.State = alert.Resolved
	w.Send(resolved)
	n := r.wait(t)
	r.mu.Lock()
	attempts := r.attempts
	r.mu.Unlock()
	if attempts != 3 || n.Type != "alert.resolved" {
		t.Fatalf("delivered %s on attempt %d, want alert.resolved on the third", n.Type, attempts)
	}
}

func TestWebhookGivesUp(t *testing.T) {
	// A wrong secret on our side: the receiver answers 401, which a retry
	// cannot fix, so it is tried once.
	r, srv := newReceiver(t, "receiver-secret")
	w := alert.NewWebhook(alert.WebhookOptions{URL: srv.URL, Secret: []byte("other"), BaseDelay: 10 * time.Millisecond})
	w.Send(firingAlert())
	if err := w.Close(); err != nil { // waits for the delivery to end
		t.Fatal(err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.attempts != 1 || len(r.bad) != 1 {
		t.Fatalf("attempts = %d, bad signatures = %v; want one refused attempt", r.attempts, r.bad)
	}

	// A receiver that always fails gets exactly Attempts tries.
	r2, srv2 := newReceiver(t, "s", 500, 500, 500, 500, 500, 500, 500)
	w2 := alert.NewWebhook(alert.WebhookOptions{URL: srv2.URL, Secret: []byte("s"), Attempts: 4, BaseDelay: time.Millisecond})
	w2.Send(firingAlert())
	deadline := time.Now().Add(10 * time.Second)
	for {
		r2.mu.Lock()
		n := r2.attempts
		r2.mu.Unlock()
		if n >= 4 || time.Now().After(deadline) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	w2.Close()
	r2.mu.Lock()
	defer r2.mu.Unlock()
	if r2.attempts != 4 {
		t.Fatalf("always-failing receiver got %d attempts, want 4", r2.attempts)
	}
}

func TestVerify(t *testing.T) {
	secret := []byte("k")
	body := []byte(`{"type":"alert.fired"}`)
	now := time.Unix(1_800_000_000, 0)
	sig := alert.Sign(secret, now, body)
	if err := alert.Verify(secret, sig, body, now.Add(time.Minute), 5*time.Minute); err != nil {
		t.Fatalf("valid signature refused: %v", err)
	}
	cases := map[string]struct {
		secret []byte
		header string
		body   []byte
		at     time.Time
	}{
		"tampered body": {secret, sig, []byte(`{"type":"alert.resolved"}`), now},
		"other secret":  {[]byte("x"), sig, body, now},
		"stale":         {secret, sig, body, now.Add(10 * time.Minute)},
		"no timestamp":  {secret, sig[len("t=1800000000,"):], body, now},
		"empty":         {secret, "", body, now},
		"garbage":       {secret, "t=abc,v1=zz", body, now},
	}
	for name, c := range cases {
		if err := alert.Verify(c.secret, c.header, c.body, c.at, 5*time.Minute); !errors.Is(err, alert.ErrBadSignature) {
			t.Errorf("%s: err = %v, want ErrBadSignature", name, err)
		}
	}
}
