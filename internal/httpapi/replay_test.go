package httpapi_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/paymon/paymon/internal/apitest"
)

// Issue 13: a request repeated with its Idempotency-Key gets the bytes of
// the first answer, refusals included (they used to come back in another
// shape, without details or request id).
func TestIdempotentRetriesGetTheFirstAnswerByteForByte(t *testing.T) {
	e := apitest.New(t)
	tok := e.AdminToken
	st, body := e.Do("POST", "/api/v1/payments", tok, `{"amount":1000,"currency":"EUR","metadata":{"simulate":"succeed"}}`)
	var p paymentJSON
	if st != 201 || json.Unmarshal(body, &p) != nil {
		t.Fatalf("create: %d %s", st, body)
	}
	refunds := "/api/v1/payments/" + p.ID + "/refund"
	cases := []struct {
		name, path, body string
		status           int
	}{
		// Refusals the payment logic makes.
		{"negative amount", "/api/v1/payments", `{"amount":-100,"currency":"EUR"}`, 422},
		{"zero amount", "/api/v1/payments", `{"amount":0,"currency":"EUR"}`, 422},
		{"unknown currency", "/api/v1/payments", `{"amount":100,"currency":"XYZ"}`, 422},
		{"unconfigured provider", "/api/v1/payments", `{"amount":100,"currency":"EUR","provider":"stripe"}`, 422},
		{"refund unknown", "/api/v1/payments/pay_01aaaaaaaaaaaaaaaaaaaaaaaa/refund", `{}`, 404},
		{"refund malformed id", "/api/v1/payments/nope/refund", `{}`, 404},
		{"refund too much", refunds, `{"amount":5000}`, 422},
		{"refund zero", refunds, `{"amount":0}`, 422},
		{"refund null", refunds, `{"amount":null}`, 422},
		// Refusals of bodies that do not decode.
		{"malformed json", "/api/v1/payments", `{"amount":100,`, 400},
		{"not an object", "/api/v1/payments", `[1,2]`, 400},
		{"trailing data", "/api/v1/payments", `{"amount":100,"currency":"EUR"} {}`, 400},
		{"unknown field", "/api/v1/payments", `{"amount":100,"currency":"EUR","card":"4242"}`, 400},
		{"fractional amount", "/api/v1/payments", `{"amount":10.5,"currency":"EUR"}`, 422},
		{"amount as string", "/api/v1/payments", `{"amount":"100","currency":"EUR"}`, 422},
		{"duplicate key", "/api/v1/payments", `{"amount":1,"amount":777,"currency":"EUR"}`, 400},
		{"refund fractional", refunds, `{"amount":2.5}`, 422},
		// Successes.
		{"create", "/api/v1/payments", `{"amount":700,"currency":"EUR","metadata":{"simulate":"succeed"}}`, 201},
		{"partial refund", refunds, `{"amount":100}`, 200},
	}
	for i, c := range cases {
		key := fmt.Sprintf("Idempotency-Key: replay-%d", i)
		st1, b1 := e.Do("POST", c.path, tok, c.body, key)
		st2, b2 := e.Do("POST", c.path, tok, c.body, key)
		if st1 != c.status {
			t.Errorf("%s: first answer %d %s, want %d", c.name, st1, b1, c.status)
			continue
		}
		if st2 != st1 || !bytes.Equal(b1, b2) {
			t.Errorf("%s: the retry got other bytes:\n%d %s\n%d %s", c.name, st1, b1, st2, b2)
		}
		// Another body under the same key is refused, not answered anew.
		if st3, b3 := e.Do("POST", c.path, tok, `{"amount":1,"currency":"EUR"}`, key); st3 != 422 || apitest.ErrorCode(b3) != "idempotency_key_reused" {
			t.Errorf("%s: another body under the key: %d %s", c.name, st3, b3)
		}
	}
	// Only the successful refund moved money, once.
	st, body = e.Do("GET", "/api/v1/payments/"+p.ID, tok, nil)
	if st != 200 || json.Unmarshal(body, &p) != nil || p.AmountRefunded != 100 {
		t.Fatalf("after the retries: %d %s", st, body)
	}
}
