package alert

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"

	"github.com/paymon/paymon/internal/id"
	"github.com/paymon/paymon/internal/signature"
)

// SignatureHeader carries "t=<unix seconds>,v1=<hex HMAC-SHA256 of "t.body">".
const SignatureHeader = "X-Paymon-Signature"

// Notification is the JSON body POSTed to the alert webhook.
type Notification struct {
	ID        string    `json:"id"`   // delivery id; the same on every retry, for de-duplication
	Type      string    `json:"type"` // alert.fired or alert.resolved
	CreatedAt time.Time `json:"created_at"`
	Alert     Alert     `json:"alert"`
}

// Sign returns the signature header value for body sent at t (package
// signature: the scheme merchant webhooks use too).
func Sign(secret []byte, t time.Time, body []byte) string {
	return signature.Sign(t, body, secret)
}

// ErrBadSignature is returned by Verify for a missing, malformed, wrong or
// stale signature.
var ErrBadSignature = signature.ErrBad

// Verify checks a signature header as a receiver must: the HMAC matches
// (compared in constant time) and the timestamp is within tolerance of
// now, so a captured request cannot be replayed later.
func Verify(secret []byte, header string, body []byte, now time.Time, tolerance time.Duration) error {
	return signature.Verify(secret, header, body, now, tolerance)
}

// WebhookOptions configures a Webhook; zero values take the defaults.
type WebhookOptions struct {
	URL    string
	Secret []byte
	Client *http.Client // 10s timeout
	// Attempts is how many times a notification is tried (5); the wait
	// between tries starts at BaseDelay (1s) and doubles up to MaxDelay (1m).
	Attempts  int
	BaseDelay time.Duration
	MaxDelay  time.Duration
	// MaxPending bounds notifications queued or being retried (256); past
	// it new ones are dropped and logged, so a dead receiver cannot grow
	// memory without bound.
	MaxPending int
	Logger     *slog.Logger
	Now        func() time.Time
}

// Webhook delivers notifications in the background: Send never blocks
// the engine's evaluation.
type Webhook struct {
	opt     WebhookOptions
	ctx     context.Context
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	mu      sync.Mutex
	pending int
	closed  bool
}

// NewWebhook starts a notifier; Close stops it.
func NewWebhook(opt WebhookOptions) *Webhook {
	if opt.Client == nil {
		opt.Client = &http.Client{Timeout: 10 * time.Second}
	}
	if opt.Attempts <= 0 {
		opt.Attempts = 5
	}
	if opt.BaseDelay <= 0 {
		opt.BaseDelay = time.Second
	}
	if opt.MaxDelay <= 0 {
		opt.MaxDelay = time.Minute
	}
	if opt.MaxPending <= 0 {
		opt.MaxPending = 256
	}
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Webhook{opt: opt, ctx: ctx, cancel: cancel}
}

// Close abandons retries still waiting for their turn and waits for the
// attempts in progress, so a notification sent just before shutdown still
// leaves once.
func (w *Webhook) Close() error {
	w.mu.Lock()
	w.closed = true
	w.mu.Unlock()
	w.cancel()
	w.wg.Wait()
	return nil
}

// Send queues a notification for a.
func (w *Webhook) Send(a Alert) {
	n := Notification{ID: id.New("whn"), Type: a.Event(), CreatedAt: w.opt.Now().UTC(), Alert: a}
	body, err := json.Marshal(n)
	if err != nil {
		w.opt.Logger.Error("cannot encode alert notification", "rule", a.Rule, "err", err)
		return
	}
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		w.opt.Logger.Error("alert webhook closed; notification dropped", "rule", a.Rule, "alert_id", a.ID, "type", n.Type)
		return
	}
	if w.pending >= w.opt.MaxPending {
		w.mu.Unlock()
		w.opt.Logger.Error("alert webhook backlog full; notification dropped", "rule", a.Rule, "alert_id", a.ID, "type", n.Type)
		return
	}
	w.pending++
	w.wg.Add(1) // under mu, so Close never waits while an Add is racing it
	w.mu.Unlock()
	go func() {
		defer w.wg.Done()
		defer func() { w.mu.Lock(); w.pending--; w.mu.Unlock() }()
		w.deliver(n, body)
	}()
}

// deliver tries up to Attempts times with exponential backoff (and a
// little jitter, so instances restarted together do not retry in step).
func (w *Webhook) deliver(n Notification, body []byte) {
	delay := w.opt.BaseDelay
	var last error
	for attempt := 1; attempt <= w.opt.Attempts; attempt++ {
		retry, err := w.post(n, body)
		if err == nil {
			w.opt.Logger.Debug("alert notification delivered", "delivery", n.ID, "attempt", attempt)
			return
		}
		last = err
		if !retry || attempt == w.opt.Attempts {
			break
		}
		wait := delay + time.Duration(rand.Int64N(int64(delay)/10+1))
		w.opt.Logger.Warn("alert notification failed; retrying", "delivery", n.ID, "attempt", attempt, "in", wait, "err", err)
		select {
		case <-time.After(wait):
		case <-w.ctx.Done():
			w.opt.Logger.Error("alert notification abandoned at shutdown", "delivery", n.ID, "rule", n.Alert.Rule, "err", last)
			return
		}
		delay = min(delay*2, w.opt.MaxDelay)
	}
	w.opt.Logger.Error("alert notification not delivered", "delivery", n.ID, "rule", n.Alert.Rule, "type", n.Type, "err", last)
}

// post sends one attempt, signed afresh so the timestamp is current even
// on a late retry. It reports whether a failure is worth retrying:
// network errors, 408, 429 and 5xx are; other answers will not change.
func (w *Webhook) post(n Notification, body []byte) (bool, error) {
	// Not w.ctx: an attempt under way at shutdown is finished (bounded by
	// the client's timeout); only the waits between attempts are cut.
	req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, w.opt.URL, bytes.NewReader(body))
	if err != nil {
		return false, fmt.Errorf("cannot build request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "paymon-alerts")
	req.Header.Set("X-Paymon-Event", n.Type)
	req.Header.Set("X-Paymon-Delivery", n.ID)
	req.Header.Set(SignatureHeader, Sign(w.opt.Secret, w.opt.Now(), body))
	resp, err := w.opt.Client.Do(req)
	if err != nil {
		return true, fmt.Errorf("cannot post: %w", err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		return false, nil
	case resp.StatusCode == http.StatusRequestTimeout, resp.StatusCode == http.StatusTooManyRequests, resp.StatusCode >= 500:
		return true, fmt.Errorf("receiver answered %s", resp.Status)
	}
	return false, fmt.Errorf("receiver answered %s", resp.Status)
}
