package faults

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/paymon/paymon/internal/testenv"
)

// readiness is GET /readyz's answer.
type readiness struct {
	status int
	Status string            `json:"status"`
	Checks map[string]string `json:"checks"`
}

func ready(a *api) (readiness, reply) {
	r := a.do("GET", "/readyz", "", nil)
	var rd readiness
	if r.err == nil {
		rd.status = r.status
		_ = json.Unmarshal(r.body, &rd)
	}
	return rd, r
}

// recentIDs is GET /api/v1/payments/recent: the ids and where they came
// from (X-Paymon-Source: cache or store).
func recentIDs(a *api, token string) ([]string, string, reply) {
	r := a.do("GET", "/api/v1/payments/recent?limit=100", token, nil)
	if r.err != nil || r.status != http.StatusOK {
		return nil, "", r
	}
	var page struct {
		Data []struct {
			ID string `json:"id"`
		} `json:"data"`
	}
	if err := json.Unmarshal(r.body, &page); err != nil {
		r.err = fmt.Errorf("cannot decode the recent list: %w", err)
		return nil, "", r
	}
	ids := make([]string, len(page.Data))
	for i, p := range page.Data {
		ids[i] = p.ID
	}
	return ids, r.header.Get("X-Paymon-Source"), r
}

// TestRedisOutage: redis-server (cache, rate limits, event bus) stopped and
// restarted under load, with the embedded SQLite store. Redis is on no
// request's required path, so while it is down every request still
// succeeds — creates, reads, the recent lists of payments and logs (from
// the store), log ingest and search, a password login (the rate limit is not counted) — and
// /readyz says degraded. After Redis returns, Paymon recovers without a
// restart: /readyz is ready, the recent list is served from the cache
// again, and an SSE stream opened before the outage receives new payments.
// No acknowledged payment or log line is lost.
func TestRedisOutage(t *testing.T) { redisOutage(t, stopped) }

// TestRedisHang is TestRedisOutage with redis-server frozen (SIGSTOP)
// instead of stopped: connections stay open and nothing answers, as with a
// hung Redis or a network partition. Every request must still succeed,
// within the bound, on Paymon's own Redis timeouts.
func TestRedisHang(t *testing.T) { redisOutage(t, paused) }

func redisOutage(t *testing.T, kind func(*testenv.Server) fault) {
	rdb := testenv.Redis(t)
	p := testenv.StartPaymon(t, "PAYMON_REDIS_URL="+rdb.URL())
	a := newAPI(p)
	tok := p.AdminToken()
	_, key := p.APIKey("fault-redis", "ingest")
	service := logService(t.Name())
	stream := openSSE(t, a, tok)

	// The stream works before the outage, so its silence later means
	// something.
	var extra []createdPayment
	mustCreate := func(n int) createdPayment {
		t.Helper()
		c, r, ok := a.create(tok, fmt.Sprintf("fault-redis-main-%d", n), n)
		if !ok {
			t.Fatalf("create %d: %s", n, r)
		}
		extra = append(extra, c)
		return c
	}
	if ok, err := stream.wait(mustCreate(0).id, 10*time.Second); !ok {
		t.Fatalf("the SSE stream did not deliver a payment with Redis up (stream error: %v)", err)
	}

	l := startLoad(t, a, tok, key, service, func(o op, from, to int32, r reply) error {
		if r.err != nil || r.status/100 != 2 {
			return fmt.Errorf("want a 2xx (Redis is on no request's required path), got %s", r)
		}
		if (o == opRecent || o == opLogsRecent) && from == phaseDown && to == phaseDown {
			if src := r.header.Get("X-Paymon-Source"); src != "store" {
				return fmt.Errorf("%s with Redis down came from %q, want the store", o, src)
			}
		}
		return nil
	})
	n := 1
	outage(t, kind(rdb), l, func() {
		rd, r := ready(a)
		if rd.status != http.StatusOK || rd.Status != "degraded" || rd.Checks["cache"] != "down" || rd.Checks["bus"] != "down" || rd.Checks["store"] != "ok" {
			t.Errorf("/readyz with Redis down: %s, want 200 degraded with cache and bus down", r)
		}
		p.Token(testenv.PaymonAdminEmail, testenv.PaymonAdminPassword)
		// A stream opened while Redis is down is accepted, and the
		// instance's own payments reach its own subscribers.
		during := openSSE(t, a, tok)
		c := mustCreate(n)
		n++
		for name, s := range map[string]*sse{"opened before the outage": stream, "opened during it": during} {
			if ok, err := s.wait(c.id, 5*time.Second); !ok {
				t.Errorf("SSE stream %s: payment %s created while Redis was down not delivered (stream error: %v)", name, c.id, err)
			}
		}
	}, func() bool {
		if rd, _ := ready(a); rd.status != http.StatusOK || rd.Status != "ready" {
			return false
		}
		c := mustCreate(n)
		n++
		if ok, err := stream.wait(c.id, time.Second); !ok {
			if err != nil {
				t.Fatalf("the SSE stream opened before the outage ended: %v", err)
			}
			return false
		}
		ids, src, r := recentIDs(a, tok)
		if r.err != nil || r.status != http.StatusOK {
			t.Errorf("recent list after Redis returned: %s", r)
			return false
		}
		if src != "cache" {
			return false
		}
		if !slices.Contains(ids, c.id) {
			t.Errorf("recent list from the cache lacks payment %s created just before", c.id)
		}
		return true
	})
	if len(l.refused) > 0 {
		t.Errorf("%d creates refused; with Redis down every create must succeed", len(l.refused))
	}
	checkPayments(t, a, tok, append(l.payments, extra...))
	checkLines(t, p, tok, service, l.batches)
	noPanic(t, p)
}
