package stripe

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	stripego "github.com/stripe/stripe-go/v85"
	"github.com/stripe/stripe-go/v85/webhook"

	"github.com/paymon/paymon/internal/payment"
)

// ParseWebhook implements payment.WebhookReceiver: the Stripe-Signature
// header is checked with the endpoint's signing secret (HMAC-SHA256 over
// "timestamp.body", timestamp within the tolerance), and the event must
// come from the SDK's API release train, as the SDK requires to decode it.
func (s *Provider) ParseWebhook(_ context.Context, h payment.HeaderGetter, body []byte) (payment.WebhookEvent, error) {
	if s.opt.WebhookSecret == "" {
		// Without a secret nothing can be verified: refuse everything
		// rather than trust unsigned events.
		return payment.WebhookEvent{}, fmt.Errorf("%w: PAYMON_STRIPE_WEBHOOK_SECRET is not set", payment.ErrWebhookRejected)
	}
	ev, err := webhook.ConstructEventWithOptions(body, h.Get("Stripe-Signature"), s.opt.WebhookSecret,
		webhook.ConstructEventOptions{Tolerance: s.opt.WebhookTolerance})
	if err != nil {
		return payment.WebhookEvent{}, fmt.Errorf("%w: %s", payment.ErrWebhookRejected, rejection(err))
	}
	out := payment.WebhookEvent{ID: ev.ID, Type: string(ev.Type)}
	if ev.Data == nil {
		return out, fmt.Errorf("%w: event has no data", payment.ErrWebhookRejected)
	}
	switch ev.Type {
	case stripego.EventTypePaymentIntentSucceeded, stripego.EventTypePaymentIntentPaymentFailed, stripego.EventTypePaymentIntentCanceled:
		var pi stripego.PaymentIntent
		if err := json.Unmarshal(ev.Data.Raw, &pi); err != nil || pi.ID == "" {
			return out, fmt.Errorf("%w: data.object is not a payment intent", payment.ErrWebhookRejected)
		}
		out.Action = payment.WebhookSettle
		out.ProviderPaymentID, out.PaymentID = pi.ID, pi.Metadata[MetadataPaymentID]
		out.Result = payment.ProviderResult{ProviderPaymentID: pi.ID}
		switch ev.Type {
		case stripego.EventTypePaymentIntentSucceeded:
			out.Result.Status = payment.StatusSucceeded
		case stripego.EventTypePaymentIntentPaymentFailed:
			out.Result.Status, out.Result.FailureReason = payment.StatusFailed, declineReason(pi.LastPaymentError)
		default:
			out.Result.Status = payment.StatusCanceled
			if pi.CancellationReason != "" {
				out.Result.FailureReason = string(pi.CancellationReason)
			}
		}
	case stripego.EventTypeChargeRefunded:
		var ch stripego.Charge
		if err := json.Unmarshal(ev.Data.Raw, &ch); err != nil {
			return out, fmt.Errorf("%w: data.object is not a charge", payment.ErrWebhookRejected)
		}
		out.Action = payment.WebhookRefundReported
		out.Amount = ch.AmountRefunded
		out.PaymentID = ch.Metadata[MetadataPaymentID]
		if ch.PaymentIntent != nil {
			out.ProviderPaymentID = ch.PaymentIntent.ID
		}
	}
	return out, nil
}

// rejection names why an event was refused without echoing secrets.
func rejection(err error) string {
	switch {
	case errors.Is(err, webhook.ErrNotSigned):
		return "missing Stripe-Signature header"
	case errors.Is(err, webhook.ErrInvalidHeader):
		return "malformed Stripe-Signature header"
	case errors.Is(err, webhook.ErrTooOld):
		return "signature timestamp outside the tolerance"
	case errors.Is(err, webhook.ErrNoValidSignature):
		return "signature does not match"
	}
	return "event not accepted: " + err.Error()
}
