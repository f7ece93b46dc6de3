// Package stripe is the Stripe payment provider: PaymentIntents, Refunds
// and webhooks through the official stripe-go SDK. Card data never reaches
// Paymon: a payment either names a payment method token (pm_…) made by
// Stripe.js, or comes back pending with the intent's client secret for
// Stripe.js to finish.
package stripe

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	stripego "github.com/stripe/stripe-go/v85"

	"github.com/paymon/paymon/internal/metrics"
	"github.com/paymon/paymon/internal/payment"
	"github.com/paymon/paymon/internal/payment/provider/backoff"
)

// MetadataPaymentID is the intent metadata key that carries Paymon's
// payment id, so webhooks find the payment even before the create call's
// answer is stored.
const MetadataPaymentID = "paymon_payment_id"

// Options configures the provider.
type Options struct {
	SecretKey     string // sk_test_… or sk_live_… (or a restricted rk_…)
	WebhookSecret string // whsec_…; webhooks are refused without it
	// APIBase replaces https://api.stripe.com (tests: stripe-mock).
	APIBase string
	// Timeout bounds each HTTP attempt [15s].
	Timeout time.Duration
	// Retry bounds the retries of retriable failures.
	Retry backoff.Policy
	// WebhookTolerance is the oldest accepted signature timestamp [5m].
	WebhookTolerance time.Duration
	// HTTPClient, when set, replaces the default client (Timeout is then
	// the caller's business).
	HTTPClient *http.Client
	// Logger receives what the operator needs and a webhook sender must
	// not see [slog.Default()].
	Logger *slog.Logger
}

// Provider talks to Stripe.
type Provider struct {
	c   *stripego.Client
	opt Options
	log *slog.Logger
}

// New returns a Stripe provider.
func New(opt Options) (*Provider, error) {
	if opt.SecretKey == "" {
		return nil, errors.New("stripe: a secret key is required")
	}
	if opt.Timeout == 0 {
		opt.Timeout = 15 * time.Second
	}
	if opt.WebhookTolerance == 0 {
		opt.WebhookTolerance = 300 * time.Second
	}
	hc := opt.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: opt.Timeout}
	}
	cfg := &stripego.BackendConfig{
		HTTPClient: hc,
		// Retries are ours (backoff, with our idempotency keys and
		// metrics); the SDK's own would multiply them.
		MaxNetworkRetries: stripego.Int64(0),
		LeveledLogger:     &stripego.LeveledLogger{Level: stripego.LevelNull},
	}
	if opt.APIBase != "" {
		cfg.URL = stripego.String(strings.TrimRight(opt.APIBase, "/"))
	}
	c := stripego.NewClient(opt.SecretKey, stripego.WithBackends(stripego.NewBackendsWithConfig(cfg)))
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	return &Provider{c: c, opt: opt, log: opt.Logger}, nil
}

// Name implements payment.Provider.
func (*Provider) Name() string { return "stripe" }

// call runs one Stripe operation with retries and records each attempt's
// duration and outcome. fn must send the same idempotency key every time.
func (s *Provider) call(ctx context.Context, op string, fn func(ctx context.Context) error) error {
	var last *payment.ProviderError
	err := backoff.Do(ctx, s.opt.Retry, isRetriable, func(ctx context.Context, _ int) error {
		start := time.Now()
		err := fn(ctx)
		outcome := "ok"
		if err != nil {
			last = classify(err)
			outcome = string(last.Kind)
			err = last
		}
		metrics.ProviderDuration.WithLabelValues("stripe", op, outcome).Observe(time.Since(start).Seconds())
		return err
	})
	if err != nil {
		return fmt.Errorf("stripe %s: %w", op, err)
	}
	return nil
}

func isRetriable(err error) bool {
	var pe *payment.ProviderError
	return errors.As(err, &pe) && pe.Kind == payment.ProviderRetriable
}

// classify maps any error of the SDK to Paymon's four kinds, once.
func classify(err error) *payment.ProviderError {
	var se *stripego.Error
	if !errors.As(err, &se) {
		// Network failure, timeout, cancelled context: the request may or
		// may not have reached Stripe; the idempotency key makes a retry safe.
		return &payment.ProviderError{Kind: payment.ProviderRetriable, Reason: "stripe unreachable", Err: err}
	}
	reason := string(se.Code)
	if reason == "" {
		reason = string(se.Type)
	}
	switch {
	case se.Type == stripego.ErrorTypeCard:
		if se.DeclineCode != "" {
			reason = string(se.DeclineCode)
		}
		return &payment.ProviderError{Kind: payment.ProviderDeclined, Reason: reason, Err: err}
	case se.HTTPStatusCode == http.StatusTooManyRequests || se.HTTPStatusCode >= 500 || se.HTTPStatusCode == 0 ||
		se.Type == stripego.ErrorTypeAPI || se.Code == stripego.ErrorCodeLockTimeout ||
		se.Code == stripego.ErrorCodeIdempotencyKeyInUse:
		// 0: the SDK could not read a status (a cut connection).
		return &payment.ProviderError{Kind: payment.ProviderRetriable, Reason: reason, Err: err}
	case se.HTTPStatusCode == http.StatusUnauthorized || se.HTTPStatusCode == http.StatusForbidden:
		return &payment.ProviderError{Kind: payment.ProviderMisconfigured, Reason: "stripe refused the API key", Err: err}
	case se.HTTPStatusCode == http.StatusPaymentRequired:
		return &payment.ProviderError{Kind: payment.ProviderDeclined, Reason: reason, Err: err}
	default:
		return &payment.ProviderError{Kind: payment.ProviderInvalid, Reason: reason, Err: err}
	}
}

// Create implements payment.Provider: one PaymentIntent per Paymon payment,
// created with the payment id as Stripe's idempotency key, so a retried or
// resumed create returns the same intent and never charges twice.
func (s *Provider) Create(ctx context.Context, req payment.ProviderRequest) (payment.ProviderResult, error) {
	md := make(map[string]string, len(req.Metadata)+1)
	for k, v := range req.Metadata {
		md[k] = v
	}
	md[MetadataPaymentID] = req.PaymentID
	params := &stripego.PaymentIntentCreateParams{
		Amount:   stripego.Int64(req.Amount),
		Currency: stripego.String(strings.ToLower(req.Currency)),
		Metadata: md,
	}
	if req.Description != "" {
		params.Description = stripego.String(req.Description)
	}
	confirm := req.PaymentMethod != ""
	if confirm {
		params.Confirm = stripego.Bool(true)
		params.PaymentMethod = stripego.String(req.PaymentMethod)
		if req.ReturnURL != "" {
			params.ReturnURL = stripego.String(req.ReturnURL)
		} else {
			// Without a return URL, Stripe refuses to confirm at once unless
			// redirect-based methods are ruled out.
			params.AutomaticPaymentMethods = &stripego.PaymentIntentCreateAutomaticPaymentMethodsParams{
				Enabled: stripego.Bool(true), AllowRedirects: stripego.String("never"),
			}
		}
	}
	params.SetIdempotencyKey(req.PaymentID)
	var pi *stripego.PaymentIntent
	err := s.call(ctx, "create", func(ctx context.Context) (err error) {
		pi, err = s.c.V1PaymentIntents.Create(ctx, params)
		return err
	})
	if err != nil {
		return payment.ProviderResult{}, err
	}
	return mapIntent(pi, confirm), nil
}

// Confirm implements payment.Confirmer: the intent is confirmed with the
// given payment method (or the one already attached).
func (s *Provider) Confirm(ctx context.Context, p *payment.Payment, paymentMethod string) (payment.ProviderResult, error) {
	if p.ProviderPaymentID == "" {
		return payment.ProviderResult{}, &payment.ProviderError{Kind: payment.ProviderInvalid, Reason: "payment has no Stripe intent yet"}
	}
	params := &stripego.PaymentIntentConfirmParams{}
	if paymentMethod != "" {
		params.PaymentMethod = stripego.String(paymentMethod)
	}
	// A key of its own: Stripe refuses a key reused with other parameters.
	sum := sha256.Sum256([]byte(paymentMethod))
	params.SetIdempotencyKey(p.ID + ":confirm:" + hex.EncodeToString(sum[:8]))
	var pi *stripego.PaymentIntent
	err := s.call(ctx, "confirm", func(ctx context.Context) (err error) {
		pi, err = s.c.V1PaymentIntents.Confirm(ctx, p.ProviderPaymentID, params)
		return err
	})
	if err != nil {
		return payment.ProviderResult{}, err
	}
	return mapIntent(pi, true), nil
}

// Retrieve implements payment.Provider. A payment whose create never got an
// answer has no intent id: the intent may still exist (and, confirmed at
// once, may have charged), so it is looked up by its metadata with the
// Search API. Search lags writes by up to a minute, which the reconciler's
// minimum age covers; no match leaves the payment pending.
func (s *Provider) Retrieve(ctx context.Context, p *payment.Payment) (payment.ProviderResult, error) {
	if p.ProviderPaymentID == "" {
		return s.search(ctx, p)
	}
	var pi *stripego.PaymentIntent
	err := s.call(ctx, "retrieve", func(ctx context.Context) (err error) {
		pi, err = s.c.V1PaymentIntents.Retrieve(ctx, p.ProviderPaymentID, nil)
		return err
	})
	if err != nil {
		return payment.ProviderResult{}, err
	}
	// The intent's last_payment_error tells whether a confirmation was tried.
	return mapIntent(pi, true), nil
}

func (s *Provider) search(ctx context.Context, p *payment.Payment) (payment.ProviderResult, error) {
	var found *stripego.PaymentIntent
	err := s.call(ctx, "search", func(ctx context.Context) error {
		list := s.c.V1PaymentIntents.Search(ctx, &stripego.PaymentIntentSearchParams{SearchParams: stripego.SearchParams{
			Query: fmt.Sprintf("metadata['%s']:'%s'", MetadataPaymentID, p.ID), Limit: stripego.Int64(10),
		}})
		if err := list.Err(); err != nil {
			return err
		}
		found = nil
		for _, pi := range list.Data() {
			if pi.Metadata[MetadataPaymentID] == p.ID {
				found = pi
				break
			}
		}
		return nil
	})
	if err != nil {
		return payment.ProviderResult{}, err
	}
	if found == nil {
		return payment.ProviderResult{Status: payment.StatusPending}, nil
	}
	return mapIntent(found, true), nil
}

// Refund implements payment.Provider with the Refunds API; refundKey is
// Stripe's idempotency key, so a retried refund refunds once.
func (s *Provider) Refund(ctx context.Context, p *payment.Payment, amount int64, refundKey string) error {
	if p.ProviderPaymentID == "" {
		return &payment.ProviderError{Kind: payment.ProviderInvalid, Reason: "payment has no Stripe intent"}
	}
	params := &stripego.RefundCreateParams{
		PaymentIntent: stripego.String(p.ProviderPaymentID),
		Amount:        stripego.Int64(amount),
		Metadata:      map[string]string{MetadataPaymentID: p.ID, "paymon_refund_id": refundKey},
	}
	params.SetIdempotencyKey(refundKey)
	var rf *stripego.Refund
	err := s.call(ctx, "refund", func(ctx context.Context) (err error) {
		rf, err = s.c.V1Refunds.Create(ctx, params)
		return err
	})
	if err != nil {
		return err
	}
	if rf.Status == stripego.RefundStatusFailed || rf.Status == stripego.RefundStatusCanceled {
		reason := string(rf.FailureReason)
		if reason == "" {
			reason = "refund_" + string(rf.Status)
		}
		return &payment.ProviderError{Kind: payment.ProviderDeclined, Reason: reason}
	}
	return nil
}

// Cancel implements payment.Provider.
func (s *Provider) Cancel(ctx context.Context, p *payment.Payment) error {
	if p.ProviderPaymentID == "" {
		return nil
	}
	params := &stripego.PaymentIntentCancelParams{}
	params.SetIdempotencyKey(p.ID + ":cancel")
	return s.call(ctx, "cancel", func(ctx context.Context) error {
		_, err := s.c.V1PaymentIntents.Cancel(ctx, p.ProviderPaymentID, params)
		return err
	})
}

// mapIntent turns an intent's status into Paymon's. attempted says a
// confirmation was tried, so requires_payment_method with a
// last_payment_error is a decline rather than "not started yet".
func mapIntent(pi *stripego.PaymentIntent, attempted bool) payment.ProviderResult {
	res := payment.ProviderResult{ProviderPaymentID: pi.ID, Status: payment.StatusPending}
	switch pi.Status {
	case stripego.PaymentIntentStatusSucceeded:
		res.Status = payment.StatusSucceeded
	case stripego.PaymentIntentStatusCanceled:
		res.Status = payment.StatusCanceled
	case stripego.PaymentIntentStatusRequiresPaymentMethod:
		if attempted && pi.LastPaymentError != nil {
			res.Status, res.FailureReason = payment.StatusFailed, declineReason(pi.LastPaymentError)
		}
	}
	if res.Status == payment.StatusPending && pi.ClientSecret != "" {
		// processing, requires_action, requires_confirmation,
		// requires_payment_method: Stripe.js finishes with the client secret.
		res.NextAction = &payment.NextAction{Type: "stripe_client_secret", ClientSecret: pi.ClientSecret}
	}
	return res
}

func declineReason(e *stripego.Error) string {
	switch {
	case e == nil:
		return "payment_failed"
	case e.DeclineCode != "":
		return string(e.DeclineCode)
	case e.Code != "":
		return string(e.Code)
	}
	return "payment_failed"
}
