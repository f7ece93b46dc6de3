package paypal

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/paymon/paymon/internal/money"
	"github.com/paymon/paymon/internal/payment"
)

// Amount is PayPal's money: a decimal string in major units.
type Amount struct {
	CurrencyCode string `json:"currency_code"`
	Value        string `json:"value"`
}

func amountOf(minor int64, currency string) (Amount, error) {
	cur, err := money.Lookup(currency)
	if err != nil {
		return Amount{}, &payment.ProviderError{Kind: payment.ProviderInvalid, Reason: err.Error()}
	}
	return Amount{CurrencyCode: currency, Value: cur.Format(minor)}, nil
}

// minorOf parses PayPal's decimal string back into minor units with
// integer arithmetic; ok is false for anything that is not a plain
// non-negative decimal with at most the currency's exponent of decimals.
func minorOf(a Amount) (int64, bool) {
	cur, err := money.Lookup(a.CurrencyCode)
	if err != nil || a.Value == "" {
		return 0, false
	}
	whole, frac, _ := strings.Cut(a.Value, ".")
	if len(frac) > cur.Exponent || whole == "" {
		return 0, false
	}
	frac += strings.Repeat("0", cur.Exponent-len(frac))
	var n int64
	for _, c := range whole + frac {
		if c < '0' || c > '9' || n > money.MaxAmount {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

// Order is the part of an Orders v2 order Paymon reads.
type Order struct {
	ID            string         `json:"id"`
	Status        string         `json:"status"` // CREATED, SAVED, APPROVED, VOIDED, COMPLETED, PAYER_ACTION_REQUIRED
	PurchaseUnits []PurchaseUnit `json:"purchase_units"`
	Links         []Link         `json:"links"`
}

// PurchaseUnit is one unit of an order; Paymon makes exactly one.
type PurchaseUnit struct {
	ReferenceID string  `json:"reference_id,omitempty"`
	CustomID    string  `json:"custom_id,omitempty"`
	Description string  `json:"description,omitempty"`
	Amount      *Amount `json:"amount,omitempty"`
	Payments    *struct {
		Captures []Capture `json:"captures"`
	} `json:"payments,omitempty"`
}

// Capture is money taken for an approved order.
type Capture struct {
	ID            string  `json:"id"`
	Status        string  `json:"status"` // COMPLETED, DECLINED, PARTIALLY_REFUNDED, PENDING, REFUNDED, FAILED
	Amount        *Amount `json:"amount,omitempty"`
	CustomID      string  `json:"custom_id,omitempty"`
	StatusDetails *struct {
		Reason string `json:"reason"`
	} `json:"status_details,omitempty"`
	SupplementaryData *struct {
		RelatedIDs struct {
			OrderID string `json:"order_id"`
		} `json:"related_ids"`
	} `json:"supplementary_data,omitempty"`
}

// Link is a HATEOAS link of an order.
type Link struct {
	Href   string `json:"href"`
	Rel    string `json:"rel"`
	Method string `json:"method"`
}

func (o *Order) capture() *Capture {
	for _, pu := range o.PurchaseUnits {
		if pu.Payments != nil && len(pu.Payments.Captures) > 0 {
			return &pu.Payments.Captures[len(pu.Payments.Captures)-1]
		}
	}
	return nil
}

func (o *Order) approveURL() string {
	for _, l := range o.Links {
		if l.Rel == "approve" || l.Rel == "payer-action" {
			return l.Href
		}
	}
	return ""
}

// Create implements payment.Provider: an order with intent CAPTURE, the
// payment id as PayPal-Request-Id (so a retried create returns the same
// order) and as custom_id (so webhooks name the payment). The customer
// approves it at the returned redirect URL.
func (c *Provider) Create(ctx context.Context, req payment.ProviderRequest) (payment.ProviderResult, error) {
	amt, err := amountOf(req.Amount, req.Currency)
	if err != nil {
		return payment.ProviderResult{}, err
	}
	pu := PurchaseUnit{ReferenceID: req.PaymentID, CustomID: req.PaymentID, Amount: &amt}
	if d := req.Description; d != "" {
		if len(d) > 127 { // PayPal's limit, cut on a character boundary
			d = d[:127]
			for !utf8.ValidString(d) {
				d = d[:len(d)-1]
			}
		}
		pu.Description = d
	}
	body := map[string]any{"intent": "CAPTURE", "purchase_units": []PurchaseUnit{pu}}
	if req.ReturnURL != "" {
		body["payment_source"] = map[string]any{"paypal": map[string]any{"experience_context": map[string]any{
			"return_url": req.ReturnURL, "cancel_url": req.ReturnURL, "user_action": "PAY_NOW",
		}}}
	}
	var o Order
	if err := c.do(ctx, "create", "POST", "/v2/checkout/orders", req.PaymentID, body, &o); err != nil {
		return payment.ProviderResult{}, err
	}
	res := mapOrder(&o)
	if res.Status == payment.StatusPending {
		if u := o.approveURL(); u != "" {
			res.NextAction = &payment.NextAction{Type: "redirect", URL: u}
		}
	}
	return res, nil
}

// Confirm implements payment.Confirmer: it captures the approved order.
// The request id is fixed per payment, so a repeated capture (webhook and
// reconciler at once, or a retry) captures once.
func (c *Provider) Confirm(ctx context.Context, p *payment.Payment, _ string) (payment.ProviderResult, error) {
	if p.ProviderPaymentID == "" {
		return payment.ProviderResult{}, &payment.ProviderError{Kind: payment.ProviderInvalid, Reason: "payment has no PayPal order"}
	}
	var o Order
	err := c.do(ctx, "capture", "POST", "/v2/checkout/orders/"+url.PathEscape(p.ProviderPaymentID)+"/capture", "capture-"+p.ID, map[string]any{}, &o)
	var pe *payment.ProviderError
	if errors.As(err, &pe) {
		switch pe.Reason {
		case "order_not_approved":
			// The customer has not approved it yet: still pending.
			return payment.ProviderResult{Status: payment.StatusPending, ProviderPaymentID: p.ProviderPaymentID}, nil
		case "order_already_captured":
			res, err := c.retrieveOrder(ctx, p)
			return res.ProviderResult, err
		}
	}
	if err != nil {
		return payment.ProviderResult{}, err
	}
	return mapOrder(&o), nil
}

// Retrieve implements payment.Provider. An order the customer approved
// but nobody captured (its webhook was lost) is captured here, so the
// reconciler finishes it.
func (c *Provider) Retrieve(ctx context.Context, p *payment.Payment) (payment.ProviderResult, error) {
	if p.ProviderPaymentID == "" {
		return payment.ProviderResult{Status: payment.StatusPending}, nil
	}
	res, err := c.retrieveOrder(ctx, p)
	if err == nil && res.Status == payment.StatusPending && res.approved {
		cres, err := c.Confirm(ctx, p, "")
		var pe *payment.ProviderError
		if errors.As(err, &pe) && pe.Kind == payment.ProviderDeclined {
			// The capture is the payment's outcome: declined is final.
			return payment.ProviderResult{ProviderPaymentID: p.ProviderPaymentID, Status: payment.StatusFailed, FailureReason: pe.Reason}, nil
		}
		return cres, err
	}
	return res.ProviderResult, err
}

type orderResult struct {
	payment.ProviderResult
	approved bool
}

func (c *Provider) retrieveOrder(ctx context.Context, p *payment.Payment) (orderResult, error) {
	var o Order
	if err := c.do(ctx, "retrieve", "GET", "/v2/checkout/orders/"+url.PathEscape(p.ProviderPaymentID), "", nil, &o); err != nil {
		return orderResult{}, err
	}
	return orderResult{ProviderResult: mapOrder(&o), approved: o.Status == "APPROVED"}, nil
}

// mapOrder turns an order (and its capture, once there is one) into
// Paymon's status.
func mapOrder(o *Order) payment.ProviderResult {
	res := payment.ProviderResult{ProviderPaymentID: o.ID, Status: payment.StatusPending}
	switch o.Status {
	case "VOIDED":
		res.Status = payment.StatusCanceled
	case "COMPLETED":
		cp := o.capture()
		if cp == nil {
			res.Status = payment.StatusSucceeded
			break
		}
		res.Status, res.FailureReason = mapCapture(cp)
	}
	return res
}

// mapCapture: a refunded capture still succeeded as a payment; Paymon
// tracks refunds itself.
func mapCapture(cp *Capture) (payment.Status, string) {
	switch cp.Status {
	case "COMPLETED", "PARTIALLY_REFUNDED", "REFUNDED":
		return payment.StatusSucceeded, ""
	case "DECLINED", "FAILED":
		reason := "capture_" + strings.ToLower(cp.Status)
		if cp.StatusDetails != nil && cp.StatusDetails.Reason != "" {
			reason = strings.ToLower(cp.StatusDetails.Reason)
		}
		return payment.StatusFailed, reason
	}
	return payment.StatusPending, ""
}

// Refund implements payment.Provider: a partial or full refund of the
// order's capture, with refundKey as PayPal-Request-Id so a retried refund
// refunds once.
func (c *Provider) Refund(ctx context.Context, p *payment.Payment, amount int64, refundKey string) error {
	if p.ProviderPaymentID == "" {
		return &payment.ProviderError{Kind: payment.ProviderInvalid, Reason: "payment has no PayPal order"}
	}
	var o Order
	if err := c.do(ctx, "retrieve", "GET", "/v2/checkout/orders/"+url.PathEscape(p.ProviderPaymentID), "", nil, &o); err != nil {
		return err
	}
	cp := o.capture()
	if cp == nil {
		return &payment.ProviderError{Kind: payment.ProviderInvalid, Reason: "order has no capture to refund"}
	}
	amt, err := amountOf(amount, p.Currency)
	if err != nil {
		return err
	}
	var out struct {
		ID     string `json:"id"`
		Status string `json:"status"` // CANCELLED, FAILED, PENDING, COMPLETED
	}
	body := map[string]any{"amount": amt, "custom_id": p.ID, "invoice_id": refundKey}
	if err := c.do(ctx, "refund", "POST", "/v2/payments/captures/"+url.PathEscape(cp.ID)+"/refund", refundKey, body, &out); err != nil {
		return err
	}
	if out.Status == "FAILED" || out.Status == "CANCELLED" {
		return &payment.ProviderError{Kind: payment.ProviderDeclined, Reason: "refund_" + strings.ToLower(out.Status)}
	}
	return nil
}

// Cancel implements payment.Provider. Orders v2 has no call to void an
// order that was created but never approved; such an order simply expires
// at PayPal, and it can no longer be captured by Paymon once the payment is
// canceled here (capture only happens for pending payments).
func (*Provider) Cancel(context.Context, *payment.Payment) error { return nil }
