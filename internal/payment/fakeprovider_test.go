// This file is a hand-written fake payment provider. It exists because the
// tests of idempotency need to hold a provider call open at a chosen moment
// and count calls exactly, which no real provider (nor the simulator, which
// answers at once) allows. Real providers are tested against stripe-mock.
package payment_test

import (
	"context"
	"sync/atomic"

	"github.com/paymon/paymon/internal/payment"
)

type gatedProvider struct {
	calls   atomic.Int64
	release chan struct{} // Create waits for it when non-nil
	entered chan struct{} // signalled when Create starts
	err     error
	during  func(paymentID string) // runs inside Create, e.g. a webhook racing the answer
}

func (*gatedProvider) Name() string { return "gated" }

func (g *gatedProvider) Create(ctx context.Context, req payment.ProviderRequest) (payment.ProviderResult, error) {
	g.calls.Add(1)
	if g.entered != nil {
		select {
		case g.entered <- struct{}{}:
		default:
		}
	}
	if g.release != nil {
		select {
		case <-g.release:
		case <-ctx.Done():
			return payment.ProviderResult{}, ctx.Err()
		}
	}
	if g.during != nil {
		g.during(req.PaymentID)
	}
	if g.err != nil {
		return payment.ProviderResult{}, g.err
	}
	return payment.ProviderResult{Status: payment.StatusSucceeded, ProviderPaymentID: "g_" + req.PaymentID}, nil
}

func (*gatedProvider) Retrieve(_ context.Context, p *payment.Payment) (payment.ProviderResult, error) {
	return payment.ProviderResult{Status: p.Status}, nil
}

func (*gatedProvider) Refund(context.Context, *payment.Payment, int64, string) error { return nil }
func (*gatedProvider) Cancel(context.Context, *payment.Payment) error                { return nil }
