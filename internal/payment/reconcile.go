package payment

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// ReconcileResult counts what one reconciliation pass did.
type ReconcileResult struct {
	Checked, Settled, Expired, Errors int
	PendingByProvider                 map[string]int
}

// Reconcile asks providers about payments pending for longer than minAge:
// an outcome that never reached us (lost webhook, timeout) settles the
// payment; a payment still pending after deadline is failed as expired,
// after a last attempt to cancel it at the provider.
func (s *Service) Reconcile(ctx context.Context, minAge, deadline time.Duration, limit int) (ReconcileResult, error) {
	res := ReconcileResult{PendingByProvider: map[string]int{}}
	now := s.now()
	ps, err := s.store.ListPending(ctx, now.Add(-minAge), limit)
	if err != nil {
		return res, fmt.Errorf("cannot list pending payments: %w", err)
	}
	for _, p := range ps {
		res.Checked++
		prov, ok := s.providers[p.Provider]
		if !ok {
			res.Errors++
			continue
		}
		pr, err := prov.Retrieve(ctx, p)
		if err == nil && pr.Status != StatusPending {
			if _, err := s.ApplyProviderResult(ctx, p.ID, pr, "reconciled"); err != nil {
				var te *TransitionError
				if !errors.As(err, &te) {
					res.Errors++
				}
				continue
			}
			res.Settled++
			continue
		}
		if err != nil {
			s.log.Warn("reconcile: provider lookup failed", "payment_id", p.ID, "provider", p.Provider, "err", err)
		}
		if now.Sub(p.CreatedAt) < deadline {
			res.PendingByProvider[p.Provider]++
			continue
		}
		if p.ProviderPaymentID != "" {
			if err := prov.Cancel(ctx, p); err != nil {
				s.log.Warn("reconcile: cannot cancel expired payment at provider", "payment_id", p.ID, "err", err)
			}
		}
		_, err = s.update(ctx, p.ID, func(q *Payment) error {
			return transition(q, StatusFailed, "expired", "expired: no final outcome from the provider within the deadline", s.now())
		}, 0)
		if err != nil {
			var te *TransitionError
			if !errors.As(err, &te) {
				res.Errors++
			}
			continue
		}
		res.Expired++
	}
	return res, nil
}

// Sweep deletes idempotency records past their 24 hours.
func (s *Service) Sweep(ctx context.Context) (int64, error) {
	return s.store.DeleteExpiredIdempotency(ctx, s.now())
}
