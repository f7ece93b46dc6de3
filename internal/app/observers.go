package app

import (
	"context"

	"github.com/paymon/paymon/internal/metrics"
	"github.com/paymon/paymon/internal/money"
	"github.com/paymon/paymon/internal/payment"
)

// metricsObserver turns payment changes into Prometheus counters.
type metricsObserver struct{}

func (metricsObserver) PaymentChanged(_ context.Context, c payment.Change) {
	p := c.Payment
	if c.Event == "payment.created" {
		metrics.PaymentsCreated.WithLabelValues(p.Provider, p.Currency).Inc()
		if cur, err := money.Lookup(p.Currency); err == nil {
			metrics.PaymentAmount.WithLabelValues(p.Currency).Observe(cur.Major(p.Amount))
		}
		metrics.Payments.WithLabelValues(p.Provider, string(payment.StatusPending), p.Currency).Inc()
	}
	if p.Status != c.From && p.Status != payment.StatusPending {
		metrics.Payments.WithLabelValues(p.Provider, string(p.Status), p.Currency).Inc()
	}
	if c.Refunded > 0 {
		metrics.Refunds.WithLabelValues(p.Provider, p.Currency).Inc()
	}
}
