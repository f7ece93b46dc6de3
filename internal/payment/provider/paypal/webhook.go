package paypal

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/paymon/paymon/internal/payment"
)

// ParseWebhook implements payment.WebhookReceiver. PayPal signs webhooks
// with a certificate; rather than fetch and pin certificates, Paymon asks
// PayPal's verify-webhook-signature API, which checks the transmission
// headers, the body and the webhook id together. A refusal is a 400; an
// unreachable API is an error the provider's redelivery will retry.
func (c *Provider) ParseWebhook(ctx context.Context, h payment.HeaderGetter, body []byte) (payment.WebhookEvent, error) {
	if c.opt.WebhookID == "" {
		return payment.WebhookEvent{}, fmt.Errorf("%w: PAYMON_PAYPAL_WEBHOOK_ID is not set", payment.ErrWebhookRejected)
	}
	hdr := map[string]string{
		"auth_algo":         h.Get("PAYPAL-AUTH-ALGO"),
		"cert_url":          h.Get("PAYPAL-CERT-URL"),
		"transmission_id":   h.Get("PAYPAL-TRANSMISSION-ID"),
		"transmission_sig":  h.Get("PAYPAL-TRANSMISSION-SIG"),
		"transmission_time": h.Get("PAYPAL-TRANSMISSION-TIME"),
	}
	for k, v := range hdr {
		if v == "" {
			return payment.WebhookEvent{}, fmt.Errorf("%w: missing PAYPAL-%s header", payment.ErrWebhookRejected, strings.ToUpper(strings.ReplaceAll(k, "_", "-")))
		}
	}
	// PayPal's verification checks the signature over the transmission
	// time but not its age: a captured delivery would verify forever.
	sent, err := time.Parse(time.RFC3339, hdr["transmission_time"])
	if err != nil {
		return payment.WebhookEvent{}, fmt.Errorf("%w: PAYPAL-TRANSMISSION-TIME is not an RFC 3339 time", payment.ErrWebhookRejected)
	}
	if d := c.opt.Now().Sub(sent); d > c.opt.WebhookTolerance || d < -c.opt.WebhookTolerance {
		return payment.WebhookEvent{}, fmt.Errorf("%w: transmission time %s is more than %s from now; check the clocks, or this is a replay",
			payment.ErrWebhookRejected, sent.UTC().Format(time.RFC3339), c.opt.WebhookTolerance)
	}
	if !json.Valid(body) {
		return payment.WebhookEvent{}, fmt.Errorf("%w: body is not JSON", payment.ErrWebhookRejected)
	}
	if err := c.verify(ctx, hdr, body); err != nil {
		return payment.WebhookEvent{}, err
	}
	var ev struct {
		ID        string          `json:"id"`
		EventType string          `json:"event_type"`
		Resource  json.RawMessage `json:"resource"`
	}
	if err := json.Unmarshal(body, &ev); err != nil || ev.ID == "" {
		return payment.WebhookEvent{}, fmt.Errorf("%w: not a PayPal event", payment.ErrWebhookRejected)
	}
	return translate(ev.ID, ev.EventType, ev.Resource)
}

// verify asks PayPal whether the delivery is genuine. The event goes into
// the request byte for byte: re-encoding it could change what was signed.
func (c *Provider) verify(ctx context.Context, hdr map[string]string, event []byte) error {
	var buf bytes.Buffer
	buf.WriteString("{")
	for _, k := range []string{"auth_algo", "cert_url", "transmission_id", "transmission_sig", "transmission_time"} {
		v, _ := json.Marshal(hdr[k])
		fmt.Fprintf(&buf, "%q:%s,", k, v)
	}
	wid, _ := json.Marshal(c.opt.WebhookID)
	fmt.Fprintf(&buf, `"webhook_id":%s,"webhook_event":`, wid)
	buf.Write(event)
	buf.WriteString("}")
	var out struct {
		VerificationStatus string `json:"verification_status"`
	}
	err := c.do(ctx, "verify_webhook", "POST", "/v1/notifications/verify-webhook-signature", "", buf.Bytes(), &out)
	var pe *payment.ProviderError
	if errors.As(err, &pe) && pe.Kind == payment.ProviderInvalid {
		// PayPal refused to check it (a malformed header, say): not genuine.
		return fmt.Errorf("%w: paypal refused the verification request: %s", payment.ErrWebhookRejected, pe.Reason)
	}
	if err != nil {
		return fmt.Errorf("cannot verify paypal webhook: %w", err)
	}
	if out.VerificationStatus != "SUCCESS" {
		return fmt.Errorf("%w: paypal verification status %q", payment.ErrWebhookRejected, out.VerificationStatus)
	}
	return nil
}

// translate maps the PayPal event types Paymon acts on.
func translate(id, typ string, resource json.RawMessage) (payment.WebhookEvent, error) {
	out := payment.WebhookEvent{ID: id, Type: typ}
	bad := func(what string) (payment.WebhookEvent, error) {
		return out, fmt.Errorf("%w: %s resource is not %s", payment.ErrWebhookRejected, typ, what)
	}
	switch typ {
	case "CHECKOUT.ORDER.APPROVED", "CHECKOUT.ORDER.VOIDED":
		var o Order
		if json.Unmarshal(resource, &o) != nil || o.ID == "" {
			return bad("an order")
		}
		out.ProviderPaymentID = o.ID
		if len(o.PurchaseUnits) > 0 {
			out.PaymentID = o.PurchaseUnits[0].CustomID
		}
		if typ == "CHECKOUT.ORDER.APPROVED" {
			out.Action = payment.WebhookConfirm
		} else {
			out.Action = payment.WebhookSettle
			out.Result = payment.ProviderResult{ProviderPaymentID: o.ID, Status: payment.StatusCanceled, FailureReason: "voided at paypal"}
		}
	case "PAYMENT.CAPTURE.COMPLETED", "PAYMENT.CAPTURE.DENIED", "PAYMENT.CAPTURE.DECLINED":
		var cp Capture
		if json.Unmarshal(resource, &cp) != nil || cp.ID == "" {
			return bad("a capture")
		}
		if cp.SupplementaryData != nil {
			out.ProviderPaymentID = cp.SupplementaryData.RelatedIDs.OrderID
		}
		out.PaymentID = cp.CustomID
		out.Action = payment.WebhookSettle
		status, reason := mapCapture(&cp)
		if typ != "PAYMENT.CAPTURE.COMPLETED" && status != payment.StatusFailed {
			status, reason = payment.StatusFailed, "capture_denied"
		}
		out.Result = payment.ProviderResult{ProviderPaymentID: out.ProviderPaymentID, Status: status, FailureReason: reason}
	case "PAYMENT.CAPTURE.REFUNDED":
		var rf struct {
			ID       string `json:"id"`
			CustomID string `json:"custom_id"`
			Amount   Amount `json:"amount"`
		}
		if json.Unmarshal(resource, &rf) != nil || rf.ID == "" {
			return bad("a refund")
		}
		out.Action = payment.WebhookRefundReported
		out.PaymentID = rf.CustomID
		out.Amount, _ = minorOf(rf.Amount)
	}
	return out, nil
}
