package payment

import (
	"context"
	"errors"
	"fmt"
)

// WebhookAction says what a verified provider event asks of Paymon.
type WebhookAction int

const (
	// WebhookIgnore: an event type Paymon does not act on; acknowledged
	// and logged so the provider stops resending it.
	WebhookIgnore WebhookAction = iota
	// WebhookSettle: the provider reports the payment's outcome (Result).
	WebhookSettle
	// WebhookConfirm: the customer approved the payment and Paymon must
	// finish it at the provider (PayPal: capture the approved order).
	WebhookConfirm
	// WebhookRefundReported: the provider reports a refund. It is
	// recorded in the payment's history only: Paymon's own refunds already
	// counted it, and applying it again could race a refund in flight and
	// count it twice. Refunds made outside Paymon show up in the history.
	WebhookRefundReported
)

// WebhookEvent is a provider event after its signature was verified,
// translated into Paymon's terms by the provider package.
type WebhookEvent struct {
	ID                string // the provider's event id, for de-duplication
	Type              string // the provider's event type, for logs and history
	Action            WebhookAction
	ProviderPaymentID string // pi_… or the PayPal order id
	PaymentID         string // Paymon's id when the provider echoes it (metadata, custom_id)
	Result            ProviderResult
	Amount            int64 // minor units of a reported refund
}

// HeaderGetter is the part of http.Header webhook verification reads.
type HeaderGetter interface {
	Get(key string) string
}

// WebhookReceiver is a Provider that accepts webhooks. ParseWebhook
// verifies the signature first and returns an error wrapping
// ErrWebhookRejected when it or the body is not acceptable; any other
// error means verification could not run (its API was unreachable) and
// the provider should resend.
type WebhookReceiver interface {
	ParseWebhook(ctx context.Context, header HeaderGetter, body []byte) (WebhookEvent, error)
}

var (
	// ErrWebhookRejected: bad or missing signature, stale timestamp or a
	// malformed event (400; nothing changes).
	ErrWebhookRejected = errors.New("webhook rejected")
	// ErrWebhookProvider: the named provider is not configured here or
	// takes no webhooks (404).
	ErrWebhookProvider = errors.New("no webhook receiver for this provider")
)

// WebhookOutcome reports what one delivery did, for the response and logs.
type WebhookOutcome struct {
	EventID   string `json:"event_id"`
	Type      string `json:"type"`
	Duplicate bool   `json:"duplicate"`
	PaymentID string `json:"payment_id,omitempty"` // "" when the event names no known payment
	Status    Status `json:"status,omitempty"`     // the payment's status afterwards
}

// HandleWebhook verifies and applies one webhook delivery. Events are
// de-duplicated by (provider, event id) before anything changes, so a
// redelivered event changes nothing. An event never moves a payment
// backwards: a contradiction of a final status (a late payment_failed after
// succeeded) is recorded in the payment's history, not applied.
//
// The event id is recorded before the payment is updated: if that update
// then fails (store down), the redelivery is answered as a duplicate and
// the reconciler, which re-asks the provider, settles the payment instead.
func (s *Service) HandleWebhook(ctx context.Context, provider string, header HeaderGetter, body []byte) (WebhookOutcome, error) {
	prov, ok := s.providers[provider]
	if !ok {
		return WebhookOutcome{}, ErrWebhookProvider
	}
	rcv, ok := prov.(WebhookReceiver)
	if !ok {
		return WebhookOutcome{}, ErrWebhookProvider
	}
	ev, err := rcv.ParseWebhook(ctx, header, body)
	if err != nil {
		return WebhookOutcome{}, err
	}
	if ev.ID == "" {
		return WebhookOutcome{}, fmt.Errorf("%w: event has no id", ErrWebhookRejected)
	}
	out := WebhookOutcome{EventID: ev.ID, Type: ev.Type}
	first, err := s.store.RecordWebhookEvent(ctx, provider, ev.ID, s.now())
	if err != nil {
		return out, fmt.Errorf("cannot record webhook event %s: %w", ev.ID, err)
	}
	if !first {
		out.Duplicate = true
		s.log.Info("webhook: duplicate event ignored", "provider", provider, "event_id", ev.ID, "type", ev.Type)
		return out, nil
	}
	if ev.Action == WebhookIgnore {
		s.log.Info("webhook: event type not handled", "provider", provider, "event_id", ev.ID, "type", ev.Type)
		return out, nil
	}
	p, err := s.webhookPayment(ctx, provider, ev)
	if errors.Is(err, ErrNotFound) {
		s.log.Warn("webhook: event for an unknown payment", "provider", provider, "event_id", ev.ID, "type", ev.Type,
			"provider_payment_id", ev.ProviderPaymentID, "payment_id", ev.PaymentID)
		return out, nil
	}
	if err != nil {
		return out, err
	}
	out.PaymentID = p.ID
	switch ev.Action {
	case WebhookConfirm:
		p, err = s.confirmFromWebhook(ctx, prov, p, ev)
	case WebhookSettle:
		p, err = s.settleFromWebhook(ctx, p, ev, ev.Result)
	case WebhookRefundReported:
		p, err = s.update(ctx, p.ID, func(q *Payment) error {
			now := s.now()
			q.UpdatedAt = now
			q.Events = append(q.Events, Event{Type: "provider_refund_reported", At: now, Reason: ev.Type, Amount: ev.Amount})
			return nil
		}, 0)
	}
	if err != nil {
		return out, err
	}
	out.Status = p.Status
	return out, nil
}

// webhookPayment finds the payment an event is about: by the provider's
// id first, then by the Paymon id the provider echoes, which also covers an
// event that overtakes the create call's own answer.
func (s *Service) webhookPayment(ctx context.Context, provider string, ev WebhookEvent) (*Payment, error) {
	if ev.ProviderPaymentID != "" {
		p, err := s.store.GetPaymentByProviderID(ctx, provider, ev.ProviderPaymentID)
		if err == nil || !errors.Is(err, ErrNotFound) {
			return p, err
		}
	}
	if ev.PaymentID == "" {
		return nil, ErrNotFound
	}
	p, err := s.store.GetPayment(ctx, ev.PaymentID)
	if err != nil {
		return nil, err
	}
	if p.Provider != provider || (p.ProviderPaymentID != "" && ev.ProviderPaymentID != "" && p.ProviderPaymentID != ev.ProviderPaymentID) {
		return nil, ErrNotFound
	}
	return p, nil
}

// confirmFromWebhook finishes an approved payment at the provider. A
// retriable failure is returned so the provider resends; the reconciler
// also finishes approved payments, so nothing is lost if it never does.
func (s *Service) confirmFromWebhook(ctx context.Context, prov Provider, p *Payment, ev WebhookEvent) (*Payment, error) {
	if p.Status != StatusPending {
		return p, nil
	}
	conf, ok := prov.(Confirmer)
	if !ok {
		return p, nil
	}
	res, err := conf.Confirm(ctx, p, "")
	if err != nil {
		var pe *ProviderError
		if !errors.As(err, &pe) || pe.Kind == ProviderRetriable {
			return nil, fmt.Errorf("cannot confirm %s at %s: %w", p.ID, p.Provider, err)
		}
		res = ProviderResult{Status: StatusFailed, FailureReason: pe.Reason}
	}
	if res.ProviderPaymentID == "" {
		res.ProviderPaymentID = ev.ProviderPaymentID
	}
	return s.settleFromWebhook(ctx, p, ev, res)
}

// settleFromWebhook applies a provider outcome; a contradiction of a final
// status is kept in the history instead of being applied.
func (s *Service) settleFromWebhook(ctx context.Context, p *Payment, ev WebhookEvent, res ProviderResult) (*Payment, error) {
	if res.ProviderPaymentID == "" {
		res.ProviderPaymentID = ev.ProviderPaymentID
	}
	q, err := s.ApplyProviderResult(ctx, p.ID, res, "webhook "+ev.Type)
	var te *TransitionError
	if !errors.As(err, &te) {
		return q, err
	}
	s.log.Warn("webhook: event contradicts the payment's final status; recorded, not applied",
		"payment_id", p.ID, "event_id", ev.ID, "type", ev.Type, "from", te.From, "to", te.To)
	return s.update(ctx, p.ID, func(q *Payment) error {
		now := s.now()
		q.UpdatedAt = now
		q.Events = append(q.Events, Event{Type: "provider_event_ignored", At: now,
			Reason: fmt.Sprintf("%s reported %s after %s", ev.Type, res.Status, q.Status)})
		return nil
	}, 0)
}
