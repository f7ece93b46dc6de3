package faults

import (
	"fmt"
	"net/http"
	"net/url"
	"testing"

	"github.com/paymon/paymon/internal/testenv"
)

// TestFerretDBOutage: FerretDB (the MongoDB store of payments, identities
// and logs) stopped and restarted under load, with Redis as cache and bus.
// While it is down every request that needs the store — create, get, log
// ingest and search, a password login — answers 503 with Retry-After (the
// recent lists may still come from the cache), /readyz is 503, and nothing
// answers 500 or hangs. After FerretDB returns, Paymon recovers without a
// restart, no acknowledged payment or log line is lost, and a create
// refused during the outage can be retried with its Idempotency-Key.
func TestFerretDBOutage(t *testing.T) {
	db := testenv.FerretDB(t)
	rdb := testenv.Redis(t)
	p := testenv.StartPaymon(t, "PAYMON_MONGODB_URI="+db.URL(), "PAYMON_REDIS_URL="+rdb.URL())
	a := newAPI(p)
	tok := p.AdminToken()
	_, key := p.APIKey("fault-ferretdb", "ingest")
	service := logService(t.Name())

	l := startLoad(t, a, tok, key, service, func(o op, from, to int32, r reply) error {
		switch {
		case from != to:
			return successOrUnavailable(r)
		case from == phaseDown && (o == opRecent || o == opLogsRecent):
			return successOrUnavailable(r)
		case from == phaseDown:
			return unavailableOK(r)
		case from == phaseUp || from == phaseRecovered:
			if r.err != nil || r.status/100 != 2 {
				return fmt.Errorf("want a 2xx, got %s", r)
			}
		default:
			return successOrUnavailable(r)
		}
		return nil
	})
	n := 0
	outage(t, stopped(db), l, func() {
		rd, r := ready(a)
		if rd.status != http.StatusServiceUnavailable || r.header.Get("Retry-After") == "" || rd.Checks["store"] != "down" {
			t.Errorf("/readyz with the store down: %s, want 503 with Retry-After and store down", r)
		}
		form := url.Values{"grant_type": {"password"}, "username": {testenv.PaymonAdminEmail}, "password": {testenv.PaymonAdminPassword}}
		r = a.do("POST", "/api/v1/auth/token", "", []byte(form.Encode()), "Content-Type", "application/x-www-form-urlencoded")
		if err := unavailableOK(r); err != nil {
			t.Errorf("password login with the store down: %v", err)
		}
	}, func() bool {
		c, r, ok := a.create(tok, fmt.Sprintf("fault-ferretdb-main-%d", n), 900_000+n)
		n++
		if !ok {
			if err := successOrUnavailable(r); err != nil {
				t.Errorf("create while FerretDB comes back: %v", err)
			}
			return false
		}
		l.mu.Lock()
		l.payments = append(l.payments, c)
		l.mu.Unlock()
		if _, ok := a.ingest(key, service, batch{token: fmt.Sprintf("fr%05dz", n), lines: 1}); !ok {
			return false
		}
		rd, _ := ready(a)
		return rd.status == http.StatusOK && rd.Status == "ready"
	})
	// A create refused during the outage may have claimed its key before
	// the store went away; retrying it must settle it, never fail.
	l.payments = append(l.payments, retryCreates(t, a, tok, l.refused[:min(len(l.refused), 20)], outageKey)...)
	checkPayments(t, a, tok, l.payments)
	checkLines(t, p, tok, service, l.batches)
	noPanic(t, p)
}
