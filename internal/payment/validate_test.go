package payment_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/paymon/paymon/internal/payment"
)

// Card data never enters Paymon: a card number in the free text of a
// payment is refused with the field named, in every form the logbook
// would redact (grouped, full-width), and near misses still pass.
func TestCreateRefusesCardNumbers(t *testing.T) {
	s := newService(t, newDB(t), payment.Options{})
	ctx := context.Background()
	bad := []struct {
		field string
		r     payment.CreateRequest
	}{
		{"description", payment.CreateRequest{Description: "card 4242424242424242"}},
		{"description", payment.CreateRequest{Description: "4242 4242 4242 4242"}},
		{"description", payment.CreateRequest{Description: "pan 4242-4242-4242-4242 exp 12/30"}},
		{"description", payment.CreateRequest{Description: "カード ４２４２４２４２４２４２４２４２"}},
		{"metadata.card", payment.CreateRequest{Metadata: map[string]string{"card": "378282246310005"}}},
		{"metadata.note", payment.CreateRequest{Metadata: map[string]string{"note": "paid with ５５５５５５５５５５５５４４４４"}}},
		{"metadata", payment.CreateRequest{Metadata: map[string]string{"4111111111111111": "x"}}},
	}
	for _, tc := range bad {
		tc.r.Amount, tc.r.Currency = 1000, "EUR"
		var inv *payment.InvalidError
		_, _, err := s.Create(ctx, "u", "", tc.r)
		if !errors.As(err, &inv) || inv.Field != tc.field {
			t.Errorf("%+v: err = %v, want InvalidError on %s", tc.r, err, tc.field)
			continue
		}
		if strings.Contains(inv.Error(), "4111111111111111") {
			t.Errorf("the error repeats the card number: %v", inv)
		}
	}
	for _, d := range []string{"order 4242424242424241", "ref ORD4242424242424242", "invoice 2026-11-25 #12345", ""} {
		r := payment.CreateRequest{Amount: 1000, Currency: "EUR", Description: d, Metadata: map[string]string{"order": d}}
		if st, _, err := s.Create(ctx, "u", "", r); err != nil || st != 201 {
			t.Errorf("description %q refused: %d %v", d, st, err)
		}
	}
}
