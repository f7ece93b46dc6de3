// Package simulator is a payment provider that needs no account: outcomes
// come from metadata.simulate when given, otherwise at random with a
// configured failure rate, so demos and tests can force every path.
package simulator

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/paymon/paymon/internal/metrics"
	"github.com/paymon/paymon/internal/payment"
)

// Outcomes accepted in metadata.simulate.
const (
	Succeed                  = "succeed"
	Fail                     = "fail"
	Pending                  = "pending"
	DeclineInsufficientFunds = "decline_insufficient_funds"
	Timeout                  = "timeout"
)

// Options tunes the simulator.
type Options struct {
	FailureRate float64 // share of unforced payments that fail (0.05)
	// SettleAfter is how long a pending or timed-out payment stays pending
	// at the "bank" before Retrieve reports its final outcome.
	SettleAfter time.Duration
	Now         func() time.Time
}

// Provider is the simulator.
type Provider struct{ opt Options }

// New returns a simulator.
func New(opt Options) *Provider {
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.SettleAfter == 0 {
		opt.SettleAfter = time.Minute
	}
	return &Provider{opt: opt}
}

// Name implements payment.Provider.
func (*Provider) Name() string { return "simulator" }

func providerID(paymentID string) string {
	return "sim_" + strings.TrimPrefix(paymentID, "pay_")
}

// Create implements payment.Provider.
func (s *Provider) Create(_ context.Context, req payment.ProviderRequest) (_ payment.ProviderResult, err error) {
	defer observe("create", time.Now(), &err)
	res := payment.ProviderResult{ProviderPaymentID: providerID(req.PaymentID)}
	outcome := req.Metadata["simulate"]
	if outcome == "" {
		outcome = Succeed
		if rand.Float64() < s.opt.FailureRate {
			outcome = Fail
		}
	}
	switch outcome {
	case Succeed:
		res.Status = payment.StatusSucceeded
	case Fail:
		return res, &payment.ProviderError{Kind: payment.ProviderDeclined, Reason: "card_declined"}
	case DeclineInsufficientFunds:
		return res, &payment.ProviderError{Kind: payment.ProviderDeclined, Reason: "insufficient_funds"}
	case Pending:
		res.Status = payment.StatusPending
		res.NextAction = &payment.NextAction{Type: "redirect", URL: "https://simulator.invalid/authorize/" + res.ProviderPaymentID}
	case Timeout:
		return payment.ProviderResult{}, &payment.ProviderError{Kind: payment.ProviderRetriable, Reason: "simulated timeout", Err: context.DeadlineExceeded}
	default:
		return res, &payment.ProviderError{Kind: payment.ProviderInvalid, Reason: fmt.Sprintf("unknown simulate outcome %q", outcome)}
	}
	return res, nil
}

// Retrieve implements payment.Provider: a payment that was pending or timed
// out settles once SettleAfter has passed, to metadata.simulate_settle
// (succeed by default, or fail).
func (s *Provider) Retrieve(_ context.Context, p *payment.Payment) (_ payment.ProviderResult, err error) {
	defer observe("retrieve", time.Now(), &err)
	res := payment.ProviderResult{ProviderPaymentID: providerID(p.ID), Status: p.Status}
	if p.Status != payment.StatusPending {
		return res, nil
	}
	if s.opt.Now().Sub(p.CreatedAt) < s.opt.SettleAfter {
		return res, nil
	}
	if p.Metadata["simulate_settle"] == Fail {
		res.Status, res.FailureReason = payment.StatusFailed, "card_declined"
	} else {
		res.Status = payment.StatusSucceeded
	}
	return res, nil
}

// Refund implements payment.Provider; metadata.simulate_refund=fail refuses.
func (*Provider) Refund(_ context.Context, p *payment.Payment, _ int64, _ string) (err error) {
	defer observe("refund", time.Now(), &err)
	if p.Metadata["simulate_refund"] == Fail {
		return &payment.ProviderError{Kind: payment.ProviderDeclined, Reason: "refund_declined"}
	}
	return nil
}

// Cancel implements payment.Provider.
func (*Provider) Cancel(context.Context, *payment.Payment) error {
	observe("cancel", time.Now(), new(error))
	return nil
}

// Confirm implements payment.Confirmer: the customer finished at the
// simulated bank, so the payment settles to metadata.simulate_settle
// (succeed by default, or fail) without waiting for SettleAfter.
func (*Provider) Confirm(_ context.Context, p *payment.Payment, _ string) (_ payment.ProviderResult, err error) {
	defer observe("confirm", time.Now(), &err)
	res := payment.ProviderResult{ProviderPaymentID: providerID(p.ID), Status: p.Status}
	if p.Status != payment.StatusPending {
		return res, nil
	}
	if p.Metadata["simulate_settle"] == Fail {
		return res, &payment.ProviderError{Kind: payment.ProviderDeclined, Reason: "card_declined"}
	}
	res.Status = payment.StatusSucceeded
	return res, nil
}

// observe records each call in paymon_provider_request_duration_seconds,
// labelled as the real providers label theirs, so that a demo or a test
// on the simulator shows provider latency and outcomes like production.
func observe(op string, start time.Time, err *error) {
	outcome := "ok"
	var pe *payment.ProviderError
	switch {
	case errors.As(*err, &pe):
		outcome = string(pe.Kind)
	case *err != nil:
		outcome = "error"
	}
	metrics.ProviderDuration.WithLabelValues("simulator", op, outcome).Observe(time.Since(start).Seconds())
}
