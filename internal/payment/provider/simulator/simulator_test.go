package simulator

import (
	"context"
	"errors"
	"testing"

	"github.com/paymon/paymon/internal/payment"
)

func TestConfirmSettlesPending(t *testing.T) {
	s := New(Options{})
	ctx := context.Background()
	p := &payment.Payment{ID: "pay_1", Status: payment.StatusPending, Metadata: map[string]string{}}
	if res, err := s.Confirm(ctx, p, ""); err != nil || res.Status != payment.StatusSucceeded {
		t.Fatalf("confirm: %+v %v, want succeeded", res, err)
	}
	p.Metadata["simulate_settle"] = Fail
	_, err := s.Confirm(ctx, p, "")
	var pe *payment.ProviderError
	if !errors.As(err, &pe) || pe.Kind != payment.ProviderDeclined {
		t.Fatalf("confirm with simulate_settle=fail: %v, want declined", err)
	}
	done := &payment.Payment{ID: "pay_2", Status: payment.StatusCanceled}
	if res, err := s.Confirm(ctx, done, ""); err != nil || res.Status != payment.StatusCanceled {
		t.Fatalf("confirm of a final payment: %+v %v, want it unchanged", res, err)
	}
}
