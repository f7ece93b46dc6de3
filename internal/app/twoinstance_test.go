package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/paymon/paymon/internal/apitest"
	"github.com/paymon/paymon/internal/testenv"
)

type created struct {
	ID     string `json:"id"`
	Status string `json:"status"`
}

type list struct {
	Data []created `json:"data"`
}

func createPayment(t *testing.T, e *apitest.Env, token, key string) (int, []byte) {
	t.Helper()
	hdr := []string{}
	if key != "" {
		hdr = append(hdr, "Idempotency-Key: "+key)
	}
	return e.Do("POST", "/api/v1/payments", token, `{"amount":2500,"currency":"EUR","metadata":{"simulate":"succeed"}}`, hdr...)
}

func decode[T any](t *testing.T, b []byte) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("cannot decode %s: %v", b, err)
	}
	return v
}

func has(l list, id string) bool {
	for _, p := range l.Data {
		if p.ID == id {
			return true
		}
	}
	return false
}

// TestTwoInstances runs instances A and B as two apps on one MongoDB
// (FerretDB) and one Redis, as behind a load balancer.
func TestTwoInstances(t *testing.T) {
	mongo, redis := testenv.FerretDB(t), testenv.Redis(t)
	env := []string{"PAYMON_MONGODB_URI=" + mongo.URL(), "PAYMON_MONGODB_DATABASE=paymon_two", "PAYMON_REDIS_URL=" + redis.URL()}
	a := apitest.New(t, env...)
	b := apitest.New(t, env...)

	// A token issued by A works on B: both read the JWT secret from the
	// shared store.
	if st, body := b.Do("GET", "/api/v1/payments", a.AdminToken, nil); st != 200 {
		t.Fatalf("A's token on B: %d %s", st, body)
	}

	// A WebSocket subscriber on B.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(b.URL, "http")+"/api/v1/stream?access_token="+b.AdminToken,
		&websocket.DialOptions{HTTPHeader: http.Header{"Origin": {b.URL}}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	send(t, c, map[string]any{"type": "subscribe", "topic": "payments"})
	if f := read(t, c); f.Type != "subscribed" {
		t.Fatalf("subscribe: %+v", f)
	}

	// A payment created on A is readable on B, in B's recent list, and
	// reaches B's subscriber.
	st, body := createPayment(t, a, a.AdminToken, "two-1")
	if st != 201 {
		t.Fatalf("create on A: %d %s", st, body)
	}
	p := decode[created](t, body)
	if st, body := b.Do("GET", "/api/v1/payments/"+p.ID, b.AdminToken, nil); st != 200 || decode[created](t, body).ID != p.ID {
		t.Fatalf("get on B: %d %s", st, body)
	}
	st, body = b.Do("GET", "/api/v1/payments/recent", b.AdminToken, nil)
	if st != 200 || !has(decode[list](t, body), p.ID) {
		t.Fatalf("B's recent list lacks %s: %d %s", p.ID, st, body)
	}
	for {
		f := read(t, c)
		if f.Type != "event" {
			continue
		}
		if decode[created](t, f.Data).ID == p.ID {
			break
		}
	}

	// The same Idempotency-Key sent to A and B at once: one payment.
	const n = 8
	var wg sync.WaitGroup
	statuses := make([]int, 2*n)
	bodies := make([][]byte, 2*n)
	for i := range 2 * n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e := a
			if i%2 == 1 {
				e = b
			}
			statuses[i], bodies[i] = createPayment(t, e, a.AdminToken, "two-race")
		}()
	}
	wg.Wait()
	for i := range bodies {
		if statuses[i] != 201 || !bytes.Equal(bodies[i], bodies[0]) {
			t.Fatalf("request %d: %d %s; first: %s", i, statuses[i], bodies[i], bodies[0])
		}
	}
	st, body = a.Do("GET", "/api/v1/payments?limit=100", a.AdminToken, nil)
	if l := decode[list](t, body); st != 200 || len(l.Data) != 2 {
		t.Fatalf("want 2 payments in all (one per key), got %d: %s", len(l.Data), body)
	}
}

type frame struct {
	Type  string          `json:"type"`
	Event string          `json:"event"`
	Data  json.RawMessage `json:"data"`
}

func send(t *testing.T, c *websocket.Conn, v any) {
	t.Helper()
	b, _ := json.Marshal(v)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.Write(ctx, websocket.MessageText, b); err != nil {
		t.Fatal(err)
	}
}

func read(t *testing.T, c *websocket.Conn) frame {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, b, err := c.Read(ctx)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	return decode[frame](t, b)
}

func readyChecks(t *testing.T, e *apitest.Env) map[string]string {
	t.Helper()
	_, body := e.Do("GET", "/readyz", "", nil)
	return decode[struct {
		Checks map[string]string `json:"checks"`
	}](t, body).Checks
}

// TestRedisDownMidRun: payments keep working from the store while Redis is
// down, /readyz says the cache is down, and all recovers when it returns.
func TestRedisDownMidRun(t *testing.T) {
	mongo, redis := testenv.FerretDB(t), testenv.Redis(t)
	e := apitest.New(t, "PAYMON_MONGODB_URI="+mongo.URL(), "PAYMON_REDIS_URL="+redis.URL())
	if st, body := createPayment(t, e, e.AdminToken, "before"); st != 201 {
		t.Fatalf("create: %d %s", st, body)
	}

	redis.Stop(t)
	st, body := createPayment(t, e, e.AdminToken, "during")
	if st != 201 {
		t.Fatalf("create with Redis down: %d %s", st, body)
	}
	during := decode[created](t, body)
	resp := e.Request("GET", "/api/v1/payments/recent", e.AdminToken, nil)
	var l list
	_ = json.NewDecoder(resp.Body).Decode(&l)
	resp.Body.Close()
	if resp.StatusCode != 200 || !has(l, during.ID) || resp.Header.Get("X-Paymon-Source") != "store" {
		t.Fatalf("recent with Redis down: %d source=%q has=%v", resp.StatusCode, resp.Header.Get("X-Paymon-Source"), has(l, during.ID))
	}
	if c := readyChecks(t, e); c["cache"] != "down" || c["store"] != "ok" {
		t.Fatalf("readyz checks with Redis down: %v", c)
	}
	// Degraded, not unready: a load balancer keeps the instance.
	if st, body := e.Do("GET", "/readyz", "", nil); st != 200 || !strings.Contains(string(body), `"degraded"`) {
		t.Fatalf("readyz with Redis down: %d %s", st, body)
	}

	redis.Start(t)
	deadline := time.Now().Add(20 * time.Second)
	for readyChecks(t, e)["cache"] != "ok" {
		if time.Now().After(deadline) {
			t.Fatal("the cache check did not recover within 20s")
		}
		time.Sleep(200 * time.Millisecond)
	}
	st, body = createPayment(t, e, e.AdminToken, "after")
	if st != 201 {
		t.Fatalf("create after Redis returned: %d %s", st, body)
	}
	after := decode[created](t, body)
	// Redis restarted empty, so its list holds only what was pushed since:
	// the first read is refilled from the store, the next is served from
	// the cache, and both hold the payments from before the restart.
	before := l
	for _, wantSource := range []string{"store", "cache"} {
		resp = e.Request("GET", "/api/v1/payments/recent", e.AdminToken, nil)
		l = list{}
		_ = json.NewDecoder(resp.Body).Decode(&l)
		resp.Body.Close()
		if resp.StatusCode != 200 || !has(l, after.ID) || !has(l, during.ID) || len(l.Data) != len(before.Data)+1 || resp.Header.Get("X-Paymon-Source") != wantSource {
			t.Fatalf("recent after recovery: %d source=%q (want %s) %d payments", resp.StatusCode, resp.Header.Get("X-Paymon-Source"), wantSource, len(l.Data))
		}
	}
}

// TestMongoDownMidRun: with MongoDB stopped requests get 503 with
// Retry-After, nothing half-written shows up, and the same instance
// recovers when the server is back.
func TestMongoDownMidRun(t *testing.T) {
	mongo := testenv.FerretDB(t)
	e := apitest.New(t, "PAYMON_MONGODB_URI="+mongo.URL())
	if st, body := createPayment(t, e, e.AdminToken, "before"); st != 201 {
		t.Fatalf("create: %d %s", st, body)
	}

	mongo.Stop(t)
	resp := e.Request("POST", "/api/v1/payments", e.AdminToken, `{"amount":100,"currency":"EUR"}`, "Idempotency-Key: during")
	resp.Body.Close()
	if resp.StatusCode != 503 || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("create with MongoDB down: %d Retry-After=%q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	resp = e.Request("GET", "/api/v1/payments", e.AdminToken, nil)
	resp.Body.Close()
	if resp.StatusCode != 503 || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("list with MongoDB down: %d Retry-After=%q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	if c := readyChecks(t, e); c["store"] != "down" {
		t.Fatalf("readyz checks with MongoDB down: %v", c)
	}

	mongo.Start(t)
	deadline := time.Now().Add(30 * time.Second)
	for {
		st, body := e.Do("GET", "/api/v1/payments?limit=100", e.AdminToken, nil)
		if st == 200 {
			if l := decode[list](t, body); len(l.Data) != 1 {
				t.Fatalf("after recovery: want only the first payment, got %s", body)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no recovery within 30s: %d %s", st, body)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if st, body := createPayment(t, e, e.AdminToken, "during"); st != 201 {
		t.Fatalf("retrying the refused create after recovery: %d %s", st, body)
	}
}

// TestStartWithRedisDown: an instance starts while Redis is down (degraded,
// not dead), serves payments from the store and uses Redis once it is up.
func TestStartWithRedisDown(t *testing.T) {
	mongo, redis := testenv.FerretDB(t), testenv.Redis(t)
	redis.Stop(t)
	e := apitest.New(t, "PAYMON_MONGODB_URI="+mongo.URL(), "PAYMON_REDIS_URL="+redis.URL())
	if st, body := createPayment(t, e, e.AdminToken, "k1"); st != 201 {
		t.Fatalf("create with Redis down since start: %d %s", st, body)
	}
	if c := readyChecks(t, e); c["cache"] != "down" || c["bus"] != "down" {
		t.Fatalf("readyz with Redis down: %v", c)
	}
	redis.Start(t)
	deadline := time.Now().Add(20 * time.Second)
	for c := readyChecks(t, e); c["cache"] != "ok" || c["bus"] != "ok"; c = readyChecks(t, e) {
		if time.Now().After(deadline) {
			t.Fatalf("readyz did not recover: %v", c)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

type logStats struct {
	Total     int64            `json:"total"`
	ByLevel   map[string]int64 `json:"by_level"`
	ByService map[string]int64 `json:"by_service"`
}

type logList struct {
	Data []struct {
		ID, Level, Service, Message string
	} `json:"data"`
}

func postLogs(t *testing.T, e *apitest.Env, service, level string, n int) {
	t.Helper()
	var batch []map[string]any
	for range n {
		batch = append(batch, map[string]any{"level": level, "service": service, "message": "a line from " + e.URL})
	}
	if st, body := e.Do("POST", "/api/v1/logs", e.AdminToken, batch); st/100 != 2 {
		t.Fatalf("ingest on %s: %d %s", e.URL, st, body)
	}
}

// TestTwoInstancesShareLogs checks that logs written on A count in B's
// statistics and appear in B's search, and that counters written by both
// instances add up on either (each instance keeps its own counter
// documents; reads sum them).
func TestTwoInstancesShareLogs(t *testing.T) {
	mongo, redis := testenv.FerretDB(t), testenv.Redis(t)
	env := []string{"PAYMON_MONGODB_URI=" + mongo.URL(), "PAYMON_MONGODB_DATABASE=paymon_two_logs", "PAYMON_REDIS_URL=" + redis.URL()}
	a := apitest.New(t, env...)
	b := apitest.New(t, env...)

	postLogs(t, a, "two-logs", "error", 7)
	postLogs(t, a, "two-logs", "info", 5)
	st, body := b.Do("GET", "/api/v1/logs/stats?service=two-logs", b.AdminToken, nil)
	s := decode[logStats](t, body)
	if st != 200 || s.Total != 12 || s.ByLevel["error"] != 7 || s.ByLevel["info"] != 5 || s.ByService["two-logs"] != 12 {
		t.Fatalf("B's stats of A's logs: %d %s", st, body)
	}
	st, body = b.Do("GET", "/api/v1/logs?service=two-logs&limit=100", b.AdminToken, nil)
	if l := decode[logList](t, body); st != 200 || len(l.Data) != 12 || !strings.Contains(l.Data[0].Message, a.URL) {
		t.Fatalf("B's search of A's logs: %d %s", st, body)
	}

	// Both instances write the same counters at once: every line counts.
	var wg sync.WaitGroup
	for i := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e := a
			if i%2 == 1 {
				e = b
			}
			postLogs(t, e, "two-logs", "error", 10)
		}()
	}
	wg.Wait()
	for _, e := range []*apitest.Env{a, b} {
		st, body := e.Do("GET", "/api/v1/logs/stats?service=two-logs", e.AdminToken, nil)
		if s := decode[logStats](t, body); st != 200 || s.Total != 72 || s.ByLevel["error"] != 67 {
			t.Fatalf("stats on %s after concurrent writes on both: %d %s; want 72 lines, 67 errors", e.URL, st, body)
		}
	}
}

// TestTwoInstancesFireOneAlert drives the alert engines of A and B at the
// same time over error logs written on A only: B sees them through the
// shared log counters, both try to fire ErrorLogSpike, and the shared
// alert store keeps one alert, listed the same on both.
func TestTwoInstancesFireOneAlert(t *testing.T) {
	mongo, redis := testenv.FerretDB(t), testenv.Redis(t)
	env := []string{"PAYMON_MONGODB_URI=" + mongo.URL(), "PAYMON_MONGODB_DATABASE=paymon_two_alerts", "PAYMON_REDIS_URL=" + redis.URL(),
		"PAYMON_ALERT_ERROR_LOG_THRESHOLD=5"}
	a := apitest.New(t, env...)
	b := apitest.New(t, env...)
	postLogs(t, a, "checkout", "error", 8)

	// B alone first: it must see A's errors to fire.
	if err := b.App.Alerts.Evaluate(context.Background()); err != nil {
		t.Fatalf("B's evaluation: %v", err)
	}
	st, body := b.Do("GET", "/api/v1/alerts?rule=ErrorLogSpike", b.AdminToken, nil)
	if l := decode[alertList](t, body); st != 200 || len(l.Data) != 1 || l.Data[0].State != "firing" {
		t.Fatalf("B did not fire ErrorLogSpike over A's error logs: %d %s", st, body)
	}
	first := decode[alertList](t, body).Data[0].ID

	// Then both engines, many rounds at once: still one alert.
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e := a
			if i%2 == 1 {
				e = b
			}
			if err := e.App.Alerts.Evaluate(context.Background()); err != nil {
				t.Errorf("evaluation on %s: %v", e.URL, err)
			}
		}()
	}
	wg.Wait()
	_, onA := a.Do("GET", "/api/v1/alerts?rule=ErrorLogSpike", a.AdminToken, nil)
	_, onB := b.Do("GET", "/api/v1/alerts?rule=ErrorLogSpike", b.AdminToken, nil)
	if l := decode[alertList](t, onA); len(l.Data) != 1 || l.Data[0].ID != first || !bytes.Equal(onA, onB) {
		t.Fatalf("alerts after concurrent evaluations:\nA: %s\nB: %s\nwant the one alert %s on both", onA, onB, first)
	}
}

// TestTwoInstancesRaceToFire starts from nothing firing and evaluates on
// A and B at the same moment, several times over fresh episodes: each
// time exactly one alert is stored.
func TestTwoInstancesRaceToFire(t *testing.T) {
	mongo, redis := testenv.FerretDB(t), testenv.Redis(t)
	env := []string{"PAYMON_MONGODB_URI=" + mongo.URL(), "PAYMON_MONGODB_DATABASE=paymon_two_race", "PAYMON_REDIS_URL=" + redis.URL(),
		"PAYMON_ALERT_ERROR_LOG_THRESHOLD=5"}
	a := apitest.New(t, env...)
	b := apitest.New(t, env...)
	postLogs(t, b, "checkout", "error", 8)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for _, e := range []*apitest.Env{a, b, a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			if err := e.App.Alerts.Evaluate(context.Background()); err != nil {
				t.Errorf("evaluation on %s: %v", e.URL, err)
			}
		}()
	}
	close(start)
	wg.Wait()
	_, onA := a.Do("GET", "/api/v1/alerts?rule=ErrorLogSpike", a.AdminToken, nil)
	_, onB := b.Do("GET", "/api/v1/alerts?rule=ErrorLogSpike", b.AdminToken, nil)
	if l := decode[alertList](t, onA); len(l.Data) != 1 || l.Data[0].State != "firing" || !bytes.Equal(onA, onB) {
		t.Fatalf("alerts after A and B raced to fire:\nA: %s\nB: %s\nwant one firing alert on both", onA, onB)
	}
}

type alertList struct {
	Data []struct {
		ID    string `json:"id"`
		State string `json:"state"`
	} `json:"data"`
}
