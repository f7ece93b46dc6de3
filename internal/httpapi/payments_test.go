package httpapi_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/paymon/paymon/internal/apitest"
)

type paymentJSON struct {
	ID             string            `json:"id"`
	Amount         int64             `json:"amount"`
	Currency       string            `json:"currency"`
	Status         string            `json:"status"`
	AmountRefunded int64             `json:"amount_refunded"`
	Metadata       map[string]string `json:"metadata"`
	Events         []struct {
		Type string `json:"type"`
	} `json:"events"`
}

type listJSON struct {
	Data    []paymentJSON `json:"data"`
	HasMore bool          `json:"has_more"`
}

func TestPaymentErrorsUseTheEnvelope(t *testing.T) {
	e := apitest.New(t)
	tok := e.AdminToken
	big := `{"amount":100,"currency":"EUR","description":"` + strings.Repeat("x", 2<<20) + `"}`
	cases := []struct {
		name, method, path, token string
		body                      any
		status                    int
		code                      string
	}{
		{"no token", "POST", "/api/v1/payments", "", `{"amount":100,"currency":"EUR"}`, 401, "unauthenticated"},
		{"garbage token", "GET", "/api/v1/payments", "not-a-jwt", nil, 401, "unauthenticated"},
		{"malformed json", "POST", "/api/v1/payments", tok, `{"amount":100,`, 400, "malformed_json"},
		{"not an object", "POST", "/api/v1/payments", tok, `[1,2]`, 400, "malformed_json"},
		{"trailing data", "POST", "/api/v1/payments", tok, `{"amount":100,"currency":"EUR"} {}`, 400, "malformed_json"},
		{"unknown field", "POST", "/api/v1/payments", tok, `{"amount":100,"currency":"EUR","card":"4242"}`, 400, "unknown_field"},
		{"empty body", "POST", "/api/v1/payments", tok, ``, 400, "malformed_json"},
		{"negative amount", "POST", "/api/v1/payments", tok, `{"amount":-100,"currency":"EUR"}`, 422, "invalid_request"},
		{"zero amount", "POST", "/api/v1/payments", tok, `{"amount":0,"currency":"EUR"}`, 422, "invalid_request"},
		{"fractional amount", "POST", "/api/v1/payments", tok, `{"amount":10.5,"currency":"EUR"}`, 422, "invalid_request"},
		{"amount as string", "POST", "/api/v1/payments", tok, `{"amount":"100","currency":"EUR"}`, 422, "invalid_request"},
		{"huge amount", "POST", "/api/v1/payments", tok, `{"amount":1e30,"currency":"EUR"}`, 422, "invalid_request"},
		{"unknown currency", "POST", "/api/v1/payments", tok, `{"amount":100,"currency":"XYZ"}`, 422, "invalid_request"},
		{"unconfigured provider", "POST", "/api/v1/payments", tok, `{"amount":100,"currency":"EUR","provider":"stripe"}`, 422, "invalid_request"},
		{"body too large", "POST", "/api/v1/payments", tok, big, 413, "body_too_large"},
		{"unknown id", "GET", "/api/v1/payments/pay_01aaaaaaaaaaaaaaaaaaaaaaaa", tok, nil, 404, "not_found"},
		{"malformed id", "GET", "/api/v1/payments/../../etc", tok, nil, 404, "not_found"},
		{"refund unknown", "POST", "/api/v1/payments/pay_01aaaaaaaaaaaaaaaaaaaaaaaa/refund", tok, `{}`, 404, "not_found"},
		{"bad status filter", "GET", "/api/v1/payments?status=won", tok, nil, 400, "invalid_parameter"},
		{"bad limit", "GET", "/api/v1/payments?limit=0", tok, nil, 400, "invalid_parameter"},
		{"bad cursor", "GET", "/api/v1/payments?starting_after=x", tok, nil, 400, "invalid_parameter"},
		{"bad time", "GET", "/api/v1/payments?created_from=yesterday", tok, nil, 400, "invalid_parameter"},
		{"unknown route", "GET", "/api/v1/nope", tok, nil, 404, "not_found"},
		{"wrong method", "DELETE", "/api/v1/payments", tok, nil, 404, "not_found"},
		{"long idempotency key", "POST", "/api/v1/payments", tok, `{"amount":100,"currency":"EUR"}`, 400, "invalid_idempotency_key"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var hdr []string
			if c.name == "long idempotency key" {
				hdr = append(hdr, "Idempotency-Key: "+strings.Repeat("k", 300))
			}
			st, body := e.Do(c.method, c.path, c.token, c.body, hdr...)
			if st != c.status {
				t.Fatalf("status %d, want %d: %s", st, c.status, body)
			}
			if code := apitest.ErrorCode(body); code != c.code {
				t.Fatalf("code %q, want %q: %s", code, c.code, body)
			}
		})
	}
}

func TestConcurrentCreatesWithOneKey(t *testing.T) {
	e := apitest.New(t)
	const n = 20
	var wg sync.WaitGroup
	bodies := make([][]byte, n)
	statuses := make([]int, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			statuses[i], bodies[i] = e.Do("POST", "/api/v1/payments", e.AdminToken,
				`{"amount":2500,"currency":"EUR","metadata":{"simulate":"succeed"}}`, "Idempotency-Key: order-42")
		}()
	}
	wg.Wait()
	for i := 0; i < n; i++ {
		if statuses[i] != 201 {
			t.Fatalf("request %d: %d %s", i, statuses[i], bodies[i])
		}
		if !bytes.Equal(bodies[i], bodies[0]) {
			t.Fatalf("request %d body differs:\n%s\n%s", i, bodies[i], bodies[0])
		}
	}
	st, body := e.Do("GET", "/api/v1/payments?limit=100", e.AdminToken, nil)
	var l listJSON
	if st != 200 || json.Unmarshal(body, &l) != nil || len(l.Data) != 1 {
		t.Fatalf("want exactly one payment, got %d: %s", len(l.Data), body)
	}
}

func TestPaymentWalkThrough(t *testing.T) {
	e := apitest.New(t)
	tok := e.AdminToken
	st, body := e.Do("POST", "/api/v1/payments", tok, `{"amount":1999,"currency":"KWD","description":"order 7","metadata":{"simulate":"succeed","order":"7"}}`)
	var p paymentJSON
	if st != 201 || json.Unmarshal(body, &p) != nil || p.Status != "succeeded" || p.Amount != 1999 || p.Metadata["order"] != "7" {
		t.Fatalf("create: %d %s", st, body)
	}
	st, body = e.Do("GET", "/api/v1/payments/"+p.ID, tok, nil)
	if st != 200 || !strings.Contains(string(body), p.ID) {
		t.Fatalf("get: %d %s", st, body)
	}
	// The first read fills the cache from the store (a fresh cache cannot
	// know it holds every recent payment); later reads come from the cache.
	for _, source := range []string{"store", "cache"} {
		resp := e.Request("GET", "/api/v1/payments/recent", tok, nil)
		var l listJSON
		json.NewDecoder(resp.Body).Decode(&l)
		resp.Body.Close()
		if resp.Header.Get("X-Paymon-Source") != source || len(l.Data) != 1 || l.Data[0].ID != p.ID {
			t.Fatalf("recent: %s (want %s) %+v", resp.Header.Get("X-Paymon-Source"), source, l)
		}
	}
	st, body = e.Do("POST", "/api/v1/payments/"+p.ID+"/refund", tok, `{"amount":999}`)
	if st != 200 || json.Unmarshal(body, &p) != nil || p.Status != "succeeded" || p.AmountRefunded != 999 {
		t.Fatalf("partial refund: %d %s", st, body)
	}
	st, body = e.Do("POST", "/api/v1/payments/"+p.ID+"/refund", tok, nil)
	if st != 200 || json.Unmarshal(body, &p) != nil || p.Status != "refunded" || p.AmountRefunded != 1999 {
		t.Fatalf("full refund: %d %s", st, body)
	}
	st, body = e.Do("POST", "/api/v1/payments/"+p.ID+"/refund", tok, `{"amount":1}`)
	if st != 409 || apitest.ErrorCode(body) != "illegal_transition" {
		t.Fatalf("refund of refunded: %d %s", st, body)
	}
	st, body = e.Do("POST", "/api/v1/payments/"+p.ID+"/cancel", tok, nil)
	if st != 409 {
		t.Fatalf("cancel refunded: %d %s", st, body)
	}
	// A pending payment can be cancelled once.
	_, body = e.Do("POST", "/api/v1/payments", tok, `{"amount":5,"currency":"EUR","metadata":{"simulate":"pending"}}`)
	json.Unmarshal(body, &p)
	if st, body = e.Do("POST", "/api/v1/payments/"+p.ID+"/cancel", tok, `{"reason":"customer left"}`); st != 200 || !strings.Contains(string(body), `"canceled"`) {
		t.Fatalf("cancel pending: %d %s", st, body)
	}
	if st, _ = e.Do("POST", "/api/v1/payments/"+p.ID+"/cancel", tok, nil); st != 409 {
		t.Fatalf("second cancel: %d", st)
	}
}

func TestListFiltersAndPagination(t *testing.T) {
	e := apitest.New(t)
	tok := e.AdminToken
	var ids []string
	for i := 0; i < 7; i++ {
		cur, sim := "EUR", "succeed"
		if i%2 == 1 {
			cur, sim = "JPY", "fail"
		}
		_, body := e.Do("POST", "/api/v1/payments", tok, fmt.Sprintf(`{"amount":%d,"currency":"%s","metadata":{"simulate":"%s"}}`, 100+i, cur, sim))
		var p paymentJSON
		json.Unmarshal(body, &p)
		ids = append(ids, p.ID)
	}
	list := func(q string) listJSON {
		t.Helper()
		st, body := e.Do("GET", "/api/v1/payments?"+q, tok, nil)
		var l listJSON
		if st != 200 || json.Unmarshal(body, &l) != nil {
			t.Fatalf("%s: %d %s", q, st, body)
		}
		return l
	}
	// Walk all pages of 3: 3 + 3 + 1, newest first, no gap, no duplicate.
	var seen []string
	cursor := ""
	for page := 0; ; page++ {
		q := "limit=3"
		if cursor != "" {
			q += "&starting_after=" + cursor
		}
		l := list(q)
		for _, p := range l.Data {
			seen = append(seen, p.ID)
		}
		if !l.HasMore {
			break
		}
		cursor = l.Data[len(l.Data)-1].ID
		if page > 5 {
			t.Fatal("pagination does not end")
		}
	}
	if len(seen) != 7 {
		t.Fatalf("saw %d payments", len(seen))
	}
	for i := range seen {
		if seen[i] != ids[6-i] {
			t.Fatalf("order: %v vs %v", seen, ids)
		}
	}
	// Exact page size: has_more false.
	if l := list("limit=7"); len(l.Data) != 7 || l.HasMore {
		t.Fatalf("exact page: %d %v", len(l.Data), l.HasMore)
	}
	// Past the end: empty page.
	if l := list("starting_after=" + ids[0]); len(l.Data) != 0 || l.HasMore {
		t.Fatalf("past the end: %+v", l)
	}
	if l := list("status=failed"); len(l.Data) != 3 {
		t.Fatalf("failed: %d", len(l.Data))
	}
	if l := list("currency=JPY&status=succeeded"); len(l.Data) != 0 {
		t.Fatalf("JPY succeeded: %d", len(l.Data))
	}
	if l := list("currency=EUR&provider=simulator"); len(l.Data) != 4 {
		t.Fatalf("EUR: %d", len(l.Data))
	}
	if l := list("created_from=2000-01-01T00:00:00Z&created_to=2001-01-01T00:00:00Z"); len(l.Data) != 0 {
		t.Fatalf("old range: %d", len(l.Data))
	}
}

func TestRolesLimitPayments(t *testing.T) {
	e := apitest.New(t)
	viewer := e.UserToken("viewer@example.test", "viewer")
	if st, body := e.Do("POST", "/api/v1/payments", viewer, `{"amount":100,"currency":"EUR"}`); st != 403 || apitest.ErrorCode(body) != "forbidden" {
		t.Fatalf("viewer create: %d %s", st, body)
	}
	if st, _ := e.Do("GET", "/api/v1/payments", viewer, nil); st != 200 {
		t.Fatalf("viewer list: %d", st)
	}
	if st, _ := e.Do("POST", "/api/v1/api-keys", viewer, `{"name":"x"}`); st != 403 {
		t.Fatalf("viewer creates api key: %d", st)
	}
	operator := e.UserToken("op@example.test", "operator")
	if st, _ := e.Do("POST", "/api/v1/payments", operator, `{"amount":100,"currency":"EUR"}`); st != 201 {
		t.Fatalf("operator create: %d", st)
	}
}

func TestHealthEndpointsArePublic(t *testing.T) {
	e := apitest.New(t)
	if st, _ := e.Do("GET", "/healthz", "", nil); st != 200 {
		t.Fatalf("healthz %d", st)
	}
	if st, body := e.Do("GET", "/readyz", "", nil); st != 200 || !strings.Contains(string(body), `"store":"ok"`) {
		t.Fatalf("readyz %d %s", st, body)
	}
	if st, body := e.Do("GET", "/metrics", "", nil); st != 200 || !strings.Contains(string(body), "paymon_http_requests_total") {
		t.Fatalf("metrics %d", st)
	}
}
