package httpapi_test

import (
	"strings"
	"testing"

	"github.com/paymon/paymon/internal/apitest"
)

// Card data never enters Paymon (issue 12): a card number in a payment's
// free text is a 422 naming the field, and the answer does not repeat it.
func TestPaymentWithCardNumberIsRefused(t *testing.T) {
	e := apitest.New(t)
	for body, field := range map[string]string{
		`{"amount":1000,"currency":"EUR","description":"card 4242 4242 4242 4242"}`:                 "description",
		`{"amount":1000,"currency":"EUR","description":"カード ４２４２４２４２４２４２４２４２"}`:                     "description",
		`{"amount":1000,"currency":"EUR","metadata":{"pan":"4242-4242-4242-4242"}}`:                 "metadata.pan",
		`{"amount":1000,"currency":"EUR","metadata":{"4242424242424242":"x","simulate":"succeed"}}`: "metadata",
	} {
		st, resp := e.Do("POST", "/api/v1/payments", e.AdminToken, body)
		if st != 422 || apitest.ErrorCode(resp) != "invalid_request" || !strings.Contains(string(resp), `"field":"`+field+`"`) {
			t.Errorf("%s: %d %s, want 422 invalid_request on %s", body, st, resp, field)
		}
		if strings.Contains(string(resp), "4242424242424242") || strings.Contains(string(resp), "4242 4242") {
			t.Errorf("%s: the answer repeats the card number: %s", body, resp)
		}
	}
	if st, resp := e.Do("POST", "/api/v1/payments", e.AdminToken, `{"amount":1000,"currency":"EUR","description":"order 4242424242424241"}`); st != 201 {
		t.Errorf("a Luhn-invalid order number refused: %d %s", st, resp)
	}
}
