package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/paymon/paymon/internal/alert"
	"github.com/paymon/paymon/internal/apitest"
)

// hookReceiver is the alert webhook endpoint of the scenario, on loopback.
// It verifies each request's signature as a real receiver must.
type hookReceiver struct {
	secret []byte
	mu     sync.Mutex
	got    []alert.Notification
	bad    []string
}

func (h *hookReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	h.mu.Lock()
	defer h.mu.Unlock()
	if err := alert.Verify(h.secret, r.Header.Get(alert.SignatureHeader), body, time.Now(), 5*time.Minute); err != nil {
		h.bad = append(h.bad, err.Error())
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	var n alert.Notification
	if err := json.Unmarshal(body, &n); err != nil {
		h.bad = append(h.bad, err.Error())
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	h.got = append(h.got, n)
}

func (h *hookReceiver) find(rule, typ string) (alert.Notification, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, n := range h.got {
		if n.Alert.Rule == rule && n.Type == typ {
			return n, true
		}
	}
	return alert.Notification{}, false
}

type alertsJSON struct {
	Data []map[string]json.RawMessage `json:"data"`
}

// firing returns the firing alerts of rule, read through the API.
func firing(t *testing.T, e *apitest.Env, rule string) []map[string]json.RawMessage {
	t.Helper()
	st, body := e.Do("GET", "/api/v1/alerts?state=firing", e.AdminToken, nil)
	if st != 200 {
		t.Fatalf("GET /api/v1/alerts: %d %s", st, body)
	}
	var out alertsJSON
	if err := json.Unmarshal(body, &out); err != nil {
		t.Fatal(err)
	}
	var match []map[string]json.RawMessage
	for _, a := range out.Data {
		if string(a["rule"]) == strconv.Quote(rule) {
			match = append(match, a)
		}
	}
	return match
}

// untilRounds polls cond until it holds; it fails once the engine has
// completed rounds evaluations beyond since without cond holding. The
// assertion counts evaluation rounds, not wall time, so a slow machine
// cannot make it flaky.
func untilRounds(t *testing.T, eng *alert.Engine, since int64, rounds int64, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second) // only guards against a stuck engine
	for {
		done := eng.Evaluations()
		if cond() {
			t.Logf("%s after %d evaluation round(s)", what, done-since)
			// The round that made cond true may still be running (it
			// stores alerts before it sets the gauge and calls hooks):
			// wait for it to finish so callers see all of its effects.
			for eng.Evaluations() <= done {
				if time.Now().After(deadline) {
					t.Fatalf("%s: engine stuck at %d rounds", what, done)
				}
				time.Sleep(5 * time.Millisecond)
			}
			return
		}
		if done >= since+rounds {
			t.Fatalf("%s: not true after %d evaluation rounds", what, done-since)
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: engine stuck at %d rounds", what, done)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

var failedTotal = regexp.MustCompile(`(?m)^paymon_payments_total\{currency="EUR",provider="simulator",status="failed"\} (\d+)$`)

func failedCount(t *testing.T, e *apitest.Env) int {
	t.Helper()
	st, body := e.Do("GET", "/metrics", "", nil)
	if st != 200 {
		t.Fatalf("/metrics: %d", st)
	}
	m := failedTotal.FindSubmatch(body)
	if m == nil {
		return 0
	}
	n, _ := strconv.Atoi(string(m[1]))
	return n
}

func createPayments(t *testing.T, e *apitest.Env, n int, outcome string) {
	t.Helper()
	for i := 0; i < n; i++ {
		st, body := e.Do("POST", "/api/v1/payments", e.AdminToken, fmt.Sprintf(`{"amount":%d,"currency":"EUR","metadata":{"simulate":%q}}`, 500+i, outcome))
		var p paymentJSON
		if err := json.Unmarshal(body, &p); err != nil || st >= 500 || p.Status != map[string]string{"fail": "failed", "succeed": "succeeded"}[outcome] {
			t.Fatalf("create %s payment: %d %s", outcome, st, body)
		}
	}
}

func TestFailingPaymentsFireAndResolvePaymentFailureRateHigh(t *testing.T) {
	recv := &hookReceiver{secret: []byte("alert-hook-secret")}
	hook := httptest.NewServer(recv)
	t.Cleanup(hook.Close)
	e := apitest.New(t, "PAYMON_ALERT_WEBHOOK_URL="+hook.URL, "PAYMON_ALERT_WEBHOOK_SECRET=alert-hook-secret")
	eng := e.App.Alerts
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() { defer close(stopped); eng.Run(ctx, 200*time.Millisecond) }()
	t.Cleanup(func() { cancel(); <-stopped })

	if got := firing(t, e, "PaymentFailureRateHigh"); len(got) != 0 {
		t.Fatalf("firing before any payment: %s", got)
	}
	before := failedCount(t, e)
	createPayments(t, e, 30, "fail")
	since := eng.Evaluations()
	if got := failedCount(t, e) - before; got != 30 {
		t.Fatalf("/metrics: paymon_payments_total{status=\"failed\"} rose by %d, want 30", got)
	}

	// A round may already be running with the old figures: the second
	// complete round after the payments must see them.
	untilRounds(t, eng, since, 2, "PaymentFailureRateHigh firing", func() bool {
		return len(firing(t, e, "PaymentFailureRateHigh")) == 1
	})
	a := firing(t, e, "PaymentFailureRateHigh")[0]
	for _, k := range []string{"id", "rule", "severity", "state", "summary", "labels", "started_at", "resolved_at"} {
		if _, ok := a[k]; !ok {
			t.Errorf("alert lacks %q: %v", k, a)
		}
	}
	if string(a["state"]) != `"firing"` || string(a["severity"]) != `"critical"` || string(a["resolved_at"]) != "null" || string(a["labels"]) != "{}" {
		t.Fatalf("alert = %v", a)
	}
	if got := firing(t, e, "PaymentFailureStreak"); len(got) != 1 || !strings.Contains(string(got[0]["labels"]), `"provider":"simulator"`) {
		t.Fatalf("PaymentFailureStreak = %v, want firing for the simulator", got)
	}
	_, metricsBody := e.Do("GET", "/metrics", "", nil)
	if !strings.Contains(string(metricsBody), `paymon_alerts_firing{rule="PaymentFailureRateHigh",severity="critical"} 1`) {
		t.Fatal("/metrics does not show PaymentFailureRateHigh firing")
	}

	// The webhook receives the signed notification (delivery is in the
	// background, so wait for it with a deadline).
	var id string
	json.Unmarshal(a["id"], &id)
	deadline := time.Now().Add(10 * time.Second)
	for {
		n, ok := recv.find("PaymentFailureRateHigh", "alert.fired")
		if ok {
			if n.Alert.ID != id || n.Alert.State != alert.Firing {
				t.Fatalf("notification = %+v, want alert %s firing", n, id)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no verified webhook notification (refused: %v)", recv.bad)
		}
		time.Sleep(20 * time.Millisecond)
	}

	// 130 successes bring the share of failures to 30/160, under 20%.
	createPayments(t, e, 130, "succeed")
	since = eng.Evaluations()
	untilRounds(t, eng, since, 2, "PaymentFailureRateHigh resolved", func() bool {
		return len(firing(t, e, "PaymentFailureRateHigh")) == 0
	})
	st, body := e.Do("GET", "/api/v1/alerts?state=resolved", e.AdminToken, nil)
	var resolved alertsJSON
	json.Unmarshal(body, &resolved)
	found := false
	for _, r := range resolved.Data {
		if string(r["id"]) == strconv.Quote(id) {
			found = string(r["state"]) == `"resolved"` && string(r["resolved_at"]) != "null"
		}
	}
	if st != 200 || !found {
		t.Fatalf("alert %s not listed as resolved: %d %s", id, st, body)
	}
	deadline = time.Now().Add(10 * time.Second)
	for {
		if _, ok := recv.find("PaymentFailureRateHigh", "alert.resolved"); ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no alert.resolved notification (refused: %v)", recv.bad)
		}
		time.Sleep(20 * time.Millisecond)
	}
	recv.mu.Lock()
	defer recv.mu.Unlock()
	if len(recv.bad) != 0 {
		t.Fatalf("receiver refused %d notifications: %v", len(recv.bad), recv.bad)
	}
}

func TestAlertsEndpoint(t *testing.T) {
	e := apitest.New(t)
	viewer := e.UserToken("viewer@example.test", "viewer")
	cases := []struct {
		name, path, token string
		status            int
		code              string
	}{
		{"no token", "/api/v1/alerts", "", 401, "unauthenticated"},
		{"bad state", "/api/v1/alerts?state=pending", viewer, 400, "invalid_parameter"},
		{"bad limit", "/api/v1/alerts?limit=0", viewer, 400, "invalid_parameter"},
		{"huge limit", "/api/v1/alerts?limit=100000", viewer, 400, "invalid_parameter"},
	}
	for _, c := range cases {
		st, body := e.Do("GET", c.path, c.token, nil)
		if st != c.status || apitest.ErrorCode(body) != c.code {
			t.Errorf("%s: %d %s, want %d %s", c.name, st, body, c.status, c.code)
		}
	}
	for _, path := range []string{"/api/v1/alerts", "/api/v1/alerts?state=firing", "/api/v1/alerts?state=resolved&limit=5"} {
		st, body := e.Do("GET", path, viewer, nil)
		if st != 200 || strings.TrimSpace(string(body)) != `{"data":[]}` {
			t.Errorf("%s on a fresh install: %d %s, want an empty list", path, st, body)
		}
	}
}
