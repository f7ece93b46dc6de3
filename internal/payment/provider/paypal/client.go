// Package paypal is the PayPal payment provider: a small typed client of
// PayPal's Orders v2, Payments v2 and webhook-verification REST APIs over
// net/http (the community SDKs are stale). The customer approves each order
// at PayPal (next_action redirect); Paymon then captures it, on the
// CHECKOUT.ORDER.APPROVED webhook or when the reconciler finds it approved.
package paypal

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/paymon/paymon/internal/metrics"
	"github.com/paymon/paymon/internal/payment"
	"github.com/paymon/paymon/internal/payment/provider/backoff"
)

// Live and Sandbox are PayPal's API base URLs.
const (
	Live    = "https://api-m.paypal.com"
	Sandbox = "https://api-m.sandbox.paypal.com"
)

// Options configures the provider.
type Options struct {
	ClientID, Secret string
	APIBase          string // Sandbox by default
	WebhookID        string // the webhook's id at PayPal; webhooks are refused without it
	Timeout          time.Duration
	Retry            backoff.Policy
	// TokenMargin renews the OAuth2 token this long before it expires [60s].
	TokenMargin time.Duration
	HTTPClient  *http.Client
	Now         func() time.Time
	// WebhookTolerance bounds how far a webhook's transmission time may
	// be from now, either way [5m]: an older (or post-dated) delivery is
	// refused as a replay.
	WebhookTolerance time.Duration
}

// Provider talks to PayPal.
type Provider struct {
	opt  Options
	base string
	hc   *http.Client

	// tokenMu is held while a token is fetched, so concurrent calls that
	// find no valid token wait for one fetch instead of each making one.
	tokenMu sync.Mutex
	token   string
	expires time.Time
}

// New returns a PayPal provider.
func New(opt Options) (*Provider, error) {
	if opt.ClientID == "" || opt.Secret == "" {
		return nil, errors.New("paypal: a client id and secret are required")
	}
	if opt.APIBase == "" {
		opt.APIBase = Sandbox
	}
	if opt.Timeout == 0 {
		opt.Timeout = 15 * time.Second
	}
	if opt.TokenMargin == 0 {
		opt.TokenMargin = time.Minute
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.WebhookTolerance == 0 {
		opt.WebhookTolerance = 5 * time.Minute
	}
	hc := opt.HTTPClient
	if hc == nil {
		hc = &http.Client{}
	}
	return &Provider{opt: opt, base: strings.TrimRight(opt.APIBase, "/"), hc: hc}, nil
}

// Name implements payment.Provider.
func (*Provider) Name() string { return "paypal" }

// apiError is PayPal's error body.
type apiError struct {
	Name    string `json:"name"`
	Message string `json:"message"`
	DebugID string `json:"debug_id"`
	Details []struct {
		Issue       string `json:"issue"`
		Description string `json:"description"`
	} `json:"details"`
	// OAuth2 errors use these instead.
	OAuthError string `json:"error"`
	OAuthDesc  string `json:"error_description"`
}

// issue is the most specific name PayPal gives the failure.
func (e *apiError) issue() string {
	if len(e.Details) > 0 && e.Details[0].Issue != "" {
		return e.Details[0].Issue
	}
	if e.Name != "" {
		return e.Name
	}
	return e.OAuthError
}

// httpError is a non-2xx answer.
type httpError struct {
	Status int
	Body   apiError
}

func (e *httpError) Error() string {
	return fmt.Sprintf("paypal answered %d %s (debug_id %s)", e.Status, e.Body.issue(), e.Body.DebugID)
}

// classify sorts a failed attempt into Paymon's kinds: only network
// failures, timeouts, 429 and 5xx are retried; a 4xx never is.
func classify(err error) *payment.ProviderError {
	var pe *payment.ProviderError
	if errors.As(err, &pe) {
		return pe
	}
	var he *httpError
	if !errors.As(err, &he) {
		return &payment.ProviderError{Kind: payment.ProviderRetriable, Reason: "paypal unreachable", Err: err}
	}
	reason := strings.ToLower(he.Body.issue())
	switch {
	case he.Status == http.StatusTooManyRequests || he.Status >= 500:
		return &payment.ProviderError{Kind: payment.ProviderRetriable, Reason: reason, Err: err}
	case he.Status == http.StatusUnauthorized || he.Status == http.StatusForbidden:
		return &payment.ProviderError{Kind: payment.ProviderMisconfigured, Reason: "paypal refused the credentials", Err: err}
	case he.Status == http.StatusUnprocessableEntity && declineIssues[he.Body.issue()]:
		return &payment.ProviderError{Kind: payment.ProviderDeclined, Reason: reason, Err: err}
	default:
		return &payment.ProviderError{Kind: payment.ProviderInvalid, Reason: reason, Err: err}
	}
}

// declineIssues are the 422 issues that mean the payer's funding failed.
var declineIssues = map[string]bool{
	"INSTRUMENT_DECLINED": true, "PAYER_CANNOT_PAY": true, "TRANSACTION_REFUSED": true,
	"PAYER_ACCOUNT_RESTRICTED": true, "PAYER_ACCOUNT_LOCKED_OR_CLOSED": true, "MAX_NUMBER_OF_PAYMENT_ATTEMPTS_EXCEEDED": true,
	"REFUND_FAILED_INSUFFICIENT_FUNDS": true, "TRANSACTION_LIMIT_EXCEEDED": true,
}

func isRetriable(err error) bool {
	var pe *payment.ProviderError
	return errors.As(err, &pe) && pe.Kind == payment.ProviderRetriable
}

// accessToken returns a cached OAuth2 token, fetching a new one with the
// client credentials when none is valid for at least TokenMargin more.
func (c *Provider) accessToken(ctx context.Context) (string, error) {
	c.tokenMu.Lock()
	defer c.tokenMu.Unlock()
	if c.token != "" && c.opt.Now().Add(c.opt.TokenMargin).Before(c.expires) {
		return c.token, nil
	}
	ctx, cancel := context.WithTimeout(ctx, c.opt.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+"/v1/oauth2/token",
		strings.NewReader(url.Values{"grant_type": {"client_credentials"}}.Encode()))
	if err != nil {
		return "", fmt.Errorf("cannot build token request: %w", err)
	}
	req.SetBasicAuth(c.opt.ClientID, c.opt.Secret)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	var out struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   int64  `json:"expires_in"`
	}
	if err := c.send(req, &out); err != nil {
		return "", err
	}
	if out.AccessToken == "" {
		return "", &payment.ProviderError{Kind: payment.ProviderMisconfigured, Reason: "paypal returned no access token"}
	}
	c.token, c.expires = out.AccessToken, c.opt.Now().Add(time.Duration(out.ExpiresIn)*time.Second)
	return c.token, nil
}

// dropToken forgets a token PayPal refused before its announced expiry.
func (c *Provider) dropToken(tok string) {
	c.tokenMu.Lock()
	if c.token == tok {
		c.token = ""
	}
	c.tokenMu.Unlock()
}

// send performs one HTTP exchange and decodes a 2xx JSON answer into out.
func (c *Provider) send(req *http.Request, out any) error {
	resp, err := c.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		he := &httpError{Status: resp.StatusCode}
		_ = json.Unmarshal(body, &he.Body)
		return he
	}
	if out == nil || len(body) == 0 {
		return nil
	}
	if err := json.Unmarshal(body, out); err != nil {
		return &payment.ProviderError{Kind: payment.ProviderInvalid, Reason: "paypal answered unreadable JSON", Err: err}
	}
	return nil
}

// do calls one API operation with a bearer token, retrying what may be
// temporary with the same PayPal-Request-Id (PayPal's idempotency key),
// and records each attempt's duration and outcome.
func (c *Provider) do(ctx context.Context, op, method, path, requestID string, in, out any) error {
	var payload []byte
	if raw, ok := in.([]byte); ok {
		// Sent as is: json.Marshal would compact a RawMessage, and the
		// webhook verification must carry the event byte for byte.
		payload = raw
	} else if in != nil {
		var err error
		if payload, err = json.Marshal(in); err != nil {
			return fmt.Errorf("cannot encode paypal %s request: %w", op, err)
		}
	}
	refreshed := false
	err := backoff.Do(ctx, c.opt.Retry, isRetriable, func(ctx context.Context, _ int) error {
		start := time.Now()
		err := c.attempt(ctx, method, path, requestID, payload, out, &refreshed)
		outcome := "ok"
		if err != nil {
			pe := classify(err)
			outcome, err = string(pe.Kind), pe
		}
		metrics.ProviderDuration.WithLabelValues("paypal", op, outcome).Observe(time.Since(start).Seconds())
		return err
	})
	if err != nil {
		return fmt.Errorf("paypal %s: %w", op, err)
	}
	return nil
}

func (c *Provider) attempt(ctx context.Context, method, path, requestID string, payload []byte, out any, refreshed *bool) error {
	for {
		tok, err := c.accessToken(ctx)
		if err != nil {
			return err
		}
		actx, cancel := context.WithTimeout(ctx, c.opt.Timeout)
		var body io.Reader
		if payload != nil {
			body = bytes.NewReader(payload)
		}
		req, err := http.NewRequestWithContext(actx, method, c.base+path, body)
		if err != nil {
			cancel()
			return fmt.Errorf("cannot build paypal request: %w", err)
		}
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Accept", "application/json")
		req.Header.Set("Prefer", "return=representation")
		if payload != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		if requestID != "" {
			req.Header.Set("PayPal-Request-Id", requestID)
		}
		err = c.send(req, out)
		cancel()
		var he *httpError
		if errors.As(err, &he) && he.Status == http.StatusUnauthorized && !*refreshed {
			// Revoked or expired early: fetch a fresh token once.
			*refreshed = true
			c.dropToken(tok)
			continue
		}
		return err
	}
}
