package httpapi_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/paymon/paymon/internal/apitest"
)

// Issue 12, item 1: only an omitted amount refunds the rest.
func TestRefundAmountZeroOrNullIsRefused(t *testing.T) {
	e := apitest.New(t)
	tok := e.AdminToken
	st, body := e.Do("POST", "/api/v1/payments", tok, `{"amount":1000,"currency":"EUR","metadata":{"simulate":"succeed"}}`)
	var p paymentJSON
	if st != 201 || json.Unmarshal(body, &p) != nil {
		t.Fatalf("create: %d %s", st, body)
	}
	for _, b := range []string{`{"amount":0}`, `{"amount":null}`, `{"amount":-5}`, `{"amount":2.5}`, `{"amount":"100"}`, `{"amount":1e3}`, `{"amount":true}`} {
		st, body := e.Do("POST", "/api/v1/payments/"+p.ID+"/refund", tok, b)
		if st != 422 || apitest.ErrorCode(body) != "invalid_request" {
			t.Errorf("refund %s: %d %s, want 422 invalid_request", b, st, body)
		}
	}
	st, body = e.Do("GET", "/api/v1/payments/"+p.ID, tok, nil)
	if st != 200 || json.Unmarshal(body, &p) != nil || p.AmountRefunded != 0 || p.Status != "succeeded" {
		t.Fatalf("after refused refunds: %d %s", st, body)
	}
	// Omitted amount, and an empty body, still mean "the rest".
	st, body = e.Do("POST", "/api/v1/payments/"+p.ID+"/refund", tok, `{"amount":300}`)
	if st != 200 || json.Unmarshal(body, &p) != nil || p.AmountRefunded != 300 {
		t.Fatalf("partial refund: %d %s", st, body)
	}
	st, body = e.Do("POST", "/api/v1/payments/"+p.ID+"/refund", tok, `{"reason":"duplicate"}`)
	if st != 200 || json.Unmarshal(body, &p) != nil || p.AmountRefunded != 1000 || p.Status != "refunded" {
		t.Fatalf("refund of the rest: %d %s", st, body)
	}
}

// Issue 12, item 2: times no response can hold are a 400, not a 500.
func TestOutOfRangeTimesAre400(t *testing.T) {
	e := apitest.New(t)
	for _, q := range []string{
		"/api/v1/logs/stats?to=9999-12-31T23:59:59Z",
		"/api/v1/logs/stats?from=9999-01-01T00:00:00Z",
		"/api/v1/logs?from=0001-01-01T00:00:00Z",
		"/api/v1/payments?created_to=9999-12-31T23:59:59Z",
	} {
		st, body := e.Do("GET", q, e.AdminToken, nil)
		if st != 400 || apitest.ErrorCode(body) != "invalid_parameter" {
			t.Errorf("%s: %d %s, want 400 invalid_parameter", q, st, body)
		}
	}
}

// Issue 12, item 3: duplicate keys (in any letter case) and invalid UTF-8
// are refused, so the amount charged is never one the sender did not see.
func TestDuplicateKeysAndInvalidUTF8Are400(t *testing.T) {
	e := apitest.New(t)
	tok := e.AdminToken
	cases := []struct {
		name, path, body, code string
	}{
		{"same key twice", "/api/v1/payments", `{"amount":1,"amount":777,"currency":"EUR"}`, "duplicate_key"},
		{"key in another case", "/api/v1/payments", `{"amount":5,"AMOUNT":778,"currency":"EUR"}`, "duplicate_key"},
		{"kelvin sign folds to k", "/api/v1/payments", `{"amount":5,"currency":"EUR","metadata":{"k":"1","\u212a":"2"}}`, "duplicate_key"},
		{"nested duplicate", "/api/v1/payments", `{"amount":5,"currency":"EUR","metadata":{"a":"1","A":"2"}}`, "duplicate_key"},
		{"invalid utf-8", "/api/v1/payments", "{\"amount\":5,\"currency\":\"EUR\",\"description\":\"\xff\xfe\"}", "invalid_utf8"},
		{"refund duplicate", "/api/v1/payments/pay_01aaaaaaaaaaaaaaaaaaaaaaaa/refund", `{"amount":1,"Amount":2}`, "duplicate_key"},
		{"user duplicate", "/api/v1/users", `{"email":"a@example.com","password":"12345678","role":"viewer","role":"admin"}`, "duplicate_key"},
		{"api key invalid utf-8", "/api/v1/api-keys", "{\"name\":\"\xc3\x28\"}", "invalid_utf8"},
	}
	for _, c := range cases {
		st, body := e.Do("POST", c.path, tok, c.body)
		if st != 400 || apitest.ErrorCode(body) != c.code {
			t.Errorf("%s: %d %s, want 400 %s", c.name, st, body, c.code)
		}
	}
	// Distinct keys in one object, and the same key in sibling objects, are fine.
	st, body := e.Do("POST", "/api/v1/payments", tok, `{"amount":5,"currency":"EUR","metadata":{"a":"1","b":"2","simulate":"succeed"}}`)
	if st != 201 {
		t.Fatalf("distinct keys: %d %s", st, body)
	}
	var list listJSON
	st, body = e.Do("GET", "/api/v1/payments", tok, nil)
	if st != 200 || json.Unmarshal(body, &list) != nil || len(list.Data) != 1 || list.Data[0].Amount != 5 {
		t.Fatalf("only the valid payment may exist: %d %s", st, body)
	}
}

// Issue 12, item 3: a user's email must be an address.
func TestUserEmailIsValidated(t *testing.T) {
	e := apitest.New(t)
	for _, email := range []string{"@", "a@", "@b.c", "a@b", "a b@c.d", "Bob <bob@example.com>", "a@b..c", "a@-b.c", strings.Repeat("a", 250) + "@b.cd"} {
		body := `{"email":` + jsonString(email) + `,"password":"12345678","role":"viewer"}`
		st, resp := e.Do("POST", "/api/v1/users", e.AdminToken, body)
		if st != 422 {
			t.Errorf("email %q: %d %s, want 422", email, st, resp)
		}
	}
	if st, resp := e.Do("POST", "/api/v1/users", e.AdminToken, `{"email":"ops@example.com","password":"12345678","role":"viewer"}`); st != 201 {
		t.Fatalf("valid email: %d %s", st, resp)
	}
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
