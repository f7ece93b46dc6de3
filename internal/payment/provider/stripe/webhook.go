package stripe

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

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
	sig := h.Get("Stripe-Signature")
	// The SDK only refuses old timestamps; one far in the future is as
	// replayable (a signature captured now stays valid until then), so the
	// tolerance applies both ways.
	if t, ok := signatureTime(sig); ok && t.After(time.Now().Add(s.opt.WebhookTolerance)) {
		return payment.WebhookEvent{}, fmt.Errorf("%w: signature timestamp outside the tolerance", payment.ErrWebhookRejected)
	}
	ev, err := webhook.ConstructEventWithOptions(body, sig, s.opt.WebhookSecret,
		webhook.ConstructEventOptions{Tolerance: s.opt.WebhookTolerance})
	if err != nil {
		reason, known := rejection(err)
		if !known {
			// The SDK's own text names its version and suggests code
			// changes: it is for the operator, not the sender.
			s.log.Warn("stripe webhook refused", "reason", reason, "err", err)
		}
		return payment.WebhookEvent{}, fmt.Errorf("%w: %s", payment.ErrWebhookRejected, reason)
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

// rejection names why an event was refused in Paymon's own words, which
// never echo secrets nor the SDK's text; known is false for a cause the
// SDK does not export a sentinel for.
func rejection(err error) (reason string, known bool) {
	switch {
	case errors.Is(err, webhook.ErrNotSigned):
		return "missing Stripe-Signature header", true
	case errors.Is(err, webhook.ErrInvalidHeader):
		return "malformed Stripe-Signature header", true
	case errors.Is(err, webhook.ErrTooOld):
		return "signature timestamp outside the tolerance", true
	case errors.Is(err, webhook.ErrNoValidSignature):
		return "signature does not match", true
	case strings.Contains(err.Error(), "API version"):
		return "the event's API version is not the one this server reads; set the webhook endpoint's API version as docs/providers.md says", false
	}
	return "the body is not a Stripe event this server can read", false
}

// signatureTime reads t=<unix seconds> from a Stripe-Signature header.
func signatureTime(header string) (time.Time, bool) {
	for _, part := range strings.Split(header, ",") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(part), "t="); ok {
			sec, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return time.Time{}, false
			}
			return time.Unix(sec, 0), true
		}
	}
	return time.Time{}, false
}
