package payment

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"time"

	"github.com/paymon/paymon/internal/id"
	"github.com/paymon/paymon/internal/money"
)

// Options tunes the Service; zero values take the documented defaults.
type Options struct {
	DefaultProvider  string
	IdempotencyTTL   time.Duration // how long a key is remembered (24h)
	IdempotencyLease time.Duration // how long an unfinished request holds its key before another may resume it (30s)
	IdempotencyWait  time.Duration // how long a duplicate waits for the first request before 409 (10s)
	RecentSize       int           // payments kept in the recent list (100)
	RecentTTL        time.Duration // cache lifetime of recent entries (24h)
	// OperationTimeout bounds a create or refund once started; it runs even
	// if the client goes away, so a started charge is always recorded.
	OperationTimeout time.Duration // 30s
	// Refusal renders a deterministic refusal (invalid request, illegal
	// transition, unknown payment) exactly as the client is answered, so
	// that an idempotent replay repeats those bytes. The transport sets
	// it; the domain keeps the bytes opaque. Default: a bare error object.
	Refusal func(ctx context.Context, err error) (status int, body []byte)
	Logger  *slog.Logger
	Now     func() time.Time
}

// Observer is told about every stored change, after it is durable: the
// realtime feed, metrics and the payment event log all listen here.
type Observer interface {
	PaymentChanged(ctx context.Context, c Change)
}

// Change describes one stored change of a payment.
type Change struct {
	Event    string // payment.created or payment.updated
	Payment  *Payment
	From     Status // status before the change ("" on create)
	Refunded int64  // amount of this change's refund, if any
	// Body is Render(Payment), made once for the response and reused by
	// observers that publish the payment as the API shows it.
	Body []byte
}

// Service implements every payment use case; it is safe for concurrent use
// by many goroutines and by several instances sharing one Store.
type Service struct {
	store     Store
	cache     Cache
	providers map[string]Provider
	observers []Observer
	opt       Options
	log       *slog.Logger
	waits     *waiters
}

// NewService wires a Service. cache may be nil (no recent cache).
func NewService(store Store, cache Cache, providers []Provider, opt Options) (*Service, error) {
	if opt.IdempotencyTTL == 0 {
		opt.IdempotencyTTL = 24 * time.Hour
	}
	if opt.IdempotencyLease == 0 {
		opt.IdempotencyLease = 30 * time.Second
	}
	if opt.IdempotencyWait == 0 {
		opt.IdempotencyWait = 10 * time.Second
	}
	if opt.RecentSize == 0 {
		opt.RecentSize = 100
	}
	if opt.RecentTTL == 0 {
		opt.RecentTTL = 24 * time.Hour
	}
	if opt.OperationTimeout == 0 {
		opt.OperationTimeout = 30 * time.Second
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Refusal == nil {
		opt.Refusal = errorResponse
	}
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	s := &Service{store: store, cache: cache, providers: map[string]Provider{}, opt: opt, log: opt.Logger, waits: newWaiters()}
	for _, p := range providers {
		s.providers[p.Name()] = p
	}
	if _, ok := s.providers[opt.DefaultProvider]; !ok {
		return nil, fmt.Errorf("default provider %q is not configured", opt.DefaultProvider)
	}
	return s, nil
}

// Observe registers an observer; call before serving.
func (s *Service) Observe(o Observer) { s.observers = append(s.observers, o) }

// Providers lists the configured provider names.
func (s *Service) Providers() []string {
	out := make([]string, 0, len(s.providers))
	for n := range s.providers {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Provider returns the named provider.
func (s *Service) Provider(name string) (Provider, bool) {
	p, ok := s.providers[name]
	return p, ok
}

func (s *Service) now() time.Time { return s.opt.Now().UTC() }

// CreateRequest is the body of POST /payments.
type CreateRequest struct {
	Amount        int64             `json:"amount"`
	Currency      string            `json:"currency"`
	Description   string            `json:"description,omitempty"`
	Metadata      map[string]string `json:"metadata,omitempty"`
	Provider      string            `json:"provider,omitempty"`
	PaymentMethod string            `json:"payment_method,omitempty"`
	ReturnURL     string            `json:"return_url,omitempty"`
}

const (
	maxMetadataKeys   = 50
	maxMetadataKeyLen = 40
	maxMetadataValLen = 500
	maxDescriptionLen = 1000
)

// Validate checks the money and size rules, and that no card number
// hides in the free text; errors are *InvalidError.
func (r *CreateRequest) Validate(providers map[string]Provider) error {
	if r.Amount <= 0 {
		return &InvalidError{Field: "amount", Reason: "must be a positive integer number of minor units"}
	}
	if r.Amount > money.MaxAmount {
		return &InvalidError{Field: "amount", Reason: fmt.Sprintf("must not exceed %d minor units", money.MaxAmount)}
	}
	if _, err := money.Lookup(r.Currency); err != nil {
		return &InvalidError{Field: "currency", Reason: err.Error()}
	}
	if len(r.Description) > maxDescriptionLen {
		return &InvalidError{Field: "description", Reason: fmt.Sprintf("must be at most %d bytes", maxDescriptionLen)}
	}
	if len(r.Metadata) > maxMetadataKeys {
		return &InvalidError{Field: "metadata", Reason: fmt.Sprintf("at most %d keys", maxMetadataKeys)}
	}
	for k, v := range r.Metadata {
		if k == "" || len(k) > maxMetadataKeyLen {
			return &InvalidError{Field: "metadata", Reason: fmt.Sprintf("keys must be 1 to %d bytes", maxMetadataKeyLen)}
		}
		if len(v) > maxMetadataValLen {
			return &InvalidError{Field: "metadata." + k, Reason: fmt.Sprintf("must be at most %d bytes", maxMetadataValLen)}
		}
	}
	if err := refuseCardData(r); err != nil {
		return err
	}
	if _, ok := providers[r.Provider]; !ok {
		return &InvalidError{Field: "provider", Reason: fmt.Sprintf("provider %q is not configured on this server", r.Provider)}
	}
	return nil
}

// hash identifies the request's meaning: JSON of the decoded struct, whose
// field order is fixed and whose map keys encoding/json sorts.
func hashOf(v any) string {
	b, _ := json.Marshal(v)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// Render is the client representation of a payment; idempotent replays
// return these exact bytes.
func Render(p *Payment) []byte {
	q := p.Clone()
	if q.Metadata == nil {
		q.Metadata = map[string]string{}
	}
	if q.Events == nil {
		q.Events = []Event{}
	}
	b, err := json.Marshal(q)
	if err != nil {
		panic(fmt.Sprintf("cannot encode payment: %v", err)) // only plain types inside
	}
	return b
}

// Create starts a payment. principal scopes the idempotency key, so two
// clients cannot collide on one key. It returns the HTTP status and body.
//
// Durable writes on the way: one that stores the pending payment and claims
// the key, then the provider call, then one that stores the outcome, the
// roll-ups and the response for the key. A crash between them leaves the
// key leased; once the lease runs out a retry resumes the same payment, and
// the provider sees the same payment id as its idempotency key.
func (s *Service) Create(ctx context.Context, principal, key string, req CreateRequest) (int, []byte, error) {
	if req.Provider == "" {
		req.Provider = s.opt.DefaultProvider
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.opt.OperationTimeout)
	defer cancel()
	if err := req.Validate(s.providers); err != nil {
		if key == "" {
			return 0, nil, err
		}
		// Under a key a refusal is an answer like any other: a retry gets
		// the same bytes, not a fresh answer with another request id.
		return s.idempotent(ctx, createKey(principal, key), hashOf(req), "", func(context.Context, string) (int, []byte, error) {
			return 0, nil, err
		})
	}
	var hash string
	if key != "" {
		key, hash = createKey(principal, key), hashOf(req)
		defer s.waits.wake(key)
	}
	deadline := time.Now().Add(s.opt.IdempotencyWait)
	for {
		now := s.now()
		p := newPayment(id.New("pay"), req, principal, now)
		var claim *IdempotencyRecord
		if key != "" {
			claim = s.claim(key, hash, p.ID, now)
		}
		existing, err := s.store.CreatePayment(ctx, p, claim)
		if err != nil {
			return 0, nil, fmt.Errorf("cannot store new payment: %w", err)
		}
		if existing == nil {
			return s.finishCreate(ctx, p, req, claim)
		}
		act, st, body, err := s.onExisting(ctx, existing, hash, deadline)
		switch act {
		case answer:
			return st, body, err
		case retry:
			continue
		}
		// Resume the payment whose first request stopped half-way.
		p, err = s.store.GetPayment(ctx, existing.PaymentID)
		if errors.Is(err, ErrNotFound) {
			// A store without transactions claimed the key but the payment
			// write never happened: make it now, with the claimed id.
			p = newPayment(existing.PaymentID, req, principal, now)
			if _, err = s.store.CreatePayment(ctx, p, nil); err != nil {
				return 0, nil, fmt.Errorf("cannot store resumed payment: %w", err)
			}
		} else if err != nil {
			return 0, nil, fmt.Errorf("cannot look up payment %s: %w", existing.PaymentID, err)
		}
		return s.finishCreate(ctx, p, req, existing)
	}
}

// newPayment is the pending payment a create request describes.
func newPayment(pid string, req CreateRequest, principal string, now time.Time) *Payment {
	return &Payment{
		ID: pid, Amount: req.Amount, Currency: req.Currency, Status: StatusPending,
		Provider: req.Provider, Description: req.Description, Metadata: req.Metadata,
		CreatedAt: now, UpdatedAt: now, Events: []Event{{Type: "created", At: now}},
		CreatedBy: principal,
	}
}

func (s *Service) claim(key, hash, pid string, now time.Time) *IdempotencyRecord {
	return &IdempotencyRecord{Key: key, RequestHash: hash, PaymentID: pid, LockedUntil: now.Add(s.opt.IdempotencyLease), CreatedAt: now, ExpiresAt: now.Add(s.opt.IdempotencyTTL)}
}

type existingAction int

const (
	answer existingAction = iota // return the given status, body or error
	retry                        // claim again
	resume                       // this request now holds the key: finish the first one's work
)

// onExisting decides what a request does when its idempotency key is held.
func (s *Service) onExisting(ctx context.Context, existing *IdempotencyRecord, hash string, deadline time.Time) (existingAction, int, []byte, error) {
	now := s.now()
	switch {
	case !existing.ExpiresAt.After(now):
		// Expired but not yet swept: forget it and claim afresh.
		if err := s.store.DeleteIdempotency(ctx, existing.Key); err != nil {
			return answer, 0, nil, fmt.Errorf("cannot drop expired idempotency key: %w", err)
		}
		return retry, 0, nil, nil
	case existing.RequestHash != hash:
		return answer, 0, nil, ErrKeyReused
	case existing.Done():
		return answer, existing.Status, existing.Body, nil
	case existing.LockedUntil.After(now):
		if time.Now().After(deadline) {
			return answer, 0, nil, ErrKeyInFlight
		}
		s.waits.wait(ctx, existing.Key, 25*time.Millisecond)
		return retry, 0, nil, nil
	}
	// The first request's lease ran out (its instance died or stalled).
	ok, err := s.store.TakeOverIdempotency(ctx, existing.Key, existing.LockedUntil, now.Add(s.opt.IdempotencyLease))
	if err != nil {
		return answer, 0, nil, fmt.Errorf("cannot resume idempotency key: %w", err)
	}
	if !ok {
		return retry, 0, nil, nil
	}
	return resume, 0, nil, nil
}

// finishCreate asks the provider and stores its answer together with the
// roll-ups and, under a key, the response to replay.
func (s *Service) finishCreate(ctx context.Context, p *Payment, req CreateRequest, claim *IdempotencyRecord) (int, []byte, error) {
	if p.Status != StatusPending || p.ProviderPaymentID != "" {
		// Resumed after the provider already answered: answer from the store.
		body := Render(p)
		if claim != nil {
			if err := s.store.CompleteIdempotency(ctx, claim.Key, 201, body); err != nil {
				return 0, nil, fmt.Errorf("cannot store idempotent response: %w", err)
			}
		}
		return 201, body, nil
	}
	prov := s.providers[p.Provider]
	res, perr := prov.Create(ctx, ProviderRequest{
		PaymentID: p.ID, Amount: p.Amount, Currency: p.Currency, Description: p.Description,
		Metadata: p.Metadata, PaymentMethod: req.PaymentMethod, ReturnURL: req.ReturnURL,
	})
	// apply writes the provider's answer into a pending payment.
	apply := func(p *Payment, now time.Time) error {
		if perr != nil {
			var pe *ProviderError
			if errors.As(perr, &pe) && pe.Kind != ProviderRetriable {
				return transition(p, StatusFailed, "failed", pe.Reason, now)
			}
			// Unknown outcome: stay pending; the reconciler asks again.
			s.log.Warn("provider outcome unknown; payment left pending", "payment_id", p.ID, "provider", p.Provider, "err", perr)
			p.UpdatedAt = now
			p.Events = append(p.Events, Event{Type: "provider_unreachable", At: now, Reason: "provider did not answer; will reconcile"})
			return nil
		}
		p.ProviderPaymentID = res.ProviderPaymentID
		p.NextAction = res.NextAction
		p.UpdatedAt = now
		if res.Status != StatusPending {
			return transition(p, res.Status, string(res.Status), res.FailureReason, now)
		}
		return nil
	}
	for attempt := 0; ; attempt++ {
		now := s.now()
		stored, from := p.Version, p.Status
		// A webhook may have settled the payment between the provider's
		// answer and this write: then the stored state stands.
		if p.Status == StatusPending && p.ProviderPaymentID == "" {
			if err := apply(p, now); err != nil {
				return 0, nil, err
			}
		}
		extra := Extra{Stats: []StatIncrement{{Bucket: minute(p.CreatedAt), Kind: "created", Currency: p.Currency, Count: 1, Amount: p.Amount}}}
		if p.Status != from {
			extra.Stats = append(extra.Stats, StatIncrement{Bucket: minute(now), Kind: string(p.Status), Currency: p.Currency, Count: 1, Amount: p.Amount})
		}
		body := Render(p)
		if claim != nil {
			extra.Complete = &IdempotencyRecord{Key: claim.Key, Status: 201, Body: body}
		}
		err := s.store.UpdatePayment(ctx, p, stored, extra)
		if errors.Is(err, ErrVersionConflict) && attempt < 5 {
			if p, err = s.store.GetPayment(ctx, p.ID); err != nil {
				return 0, nil, fmt.Errorf("cannot re-read payment after a concurrent change: %w", err)
			}
			continue
		}
		if err != nil {
			return 0, nil, fmt.Errorf("cannot store provider outcome of %s: %w", p.ID, err)
		}
		s.changed(ctx, Change{Event: "payment.created", Payment: p, Body: body})
		return 201, body, nil
	}
}

func minute(t time.Time) time.Time { return t.UTC().Truncate(time.Minute) }

// idempotent runs fn at most once per key while the key is remembered;
// duplicates get the first response, wait for it, or a clear error. It is
// the general form used by refunds; creates fold the claim into their
// first write.
func (s *Service) idempotent(ctx context.Context, key, hash, newID string, fn func(context.Context, string) (int, []byte, error)) (int, []byte, error) {
	defer s.waits.wake(key)
	deadline := time.Now().Add(s.opt.IdempotencyWait)
	for {
		rec := s.claim(key, hash, newID, s.now())
		existing, err := s.store.ClaimIdempotency(ctx, *rec)
		if err != nil {
			return 0, nil, fmt.Errorf("cannot claim idempotency key: %w", err)
		}
		workID := newID
		if existing != nil {
			act, st, body, err := s.onExisting(ctx, existing, hash, deadline)
			switch act {
			case answer:
				return st, body, err
			case retry:
				continue
			}
			workID = existing.PaymentID
		}
		status, body, err := fn(ctx, workID)
		if err != nil {
			var inv *InvalidError
			var te *TransitionError
			var rf *refused
			if !errors.As(err, &inv) && !errors.As(err, &te) && !errors.Is(err, ErrNotFound) && !errors.As(err, &rf) {
				// Transient: the key stays leased so a retry after the lease
				// resumes with the same id (the provider's idempotency key).
				return 0, nil, err
			}
			// A deterministic refusal is a response like any other.
			status, body = s.opt.Refusal(ctx, err)
		}
		if cerr := s.store.CompleteIdempotency(ctx, key, status, body); cerr != nil {
			s.log.Error("cannot store idempotent response", "err", cerr)
		}
		if err != nil {
			return 0, nil, err
		}
		return status, body, nil
	}
}

// Refuse remembers a refusal the transport made before the service saw
// the request (a body that does not decode, say) under its Idempotency-Key:
// a retry of the same bytes gets the same answer, another body under the
// key is ErrKeyReused. refundOf is the payment of a refund, "" for a
// create.
func (s *Service) Refuse(ctx context.Context, principal, key, refundOf string, raw []byte, refusal error) (int, []byte, error) {
	sum := sha256.Sum256(raw)
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.opt.OperationTimeout)
	defer cancel()
	scoped := createKey(principal, key)
	if refundOf != "" {
		scoped = refundKey(principal, refundOf, key)
	}
	return s.idempotent(ctx, scoped, "raw:"+hex.EncodeToString(sum[:]), "", func(context.Context, string) (int, []byte, error) {
		return 0, nil, &refused{refusal}
	})
}

// Keys are scoped by caller and operation, so two clients cannot collide.
func createKey(principal, key string) string { return "payments.create:" + principal + ":" + key }
func refundKey(principal, pid, key string) string {
	return "payments.refund:" + principal + ":" + pid + ":" + key
}

// refused marks a transport's refusal as final, so idempotent stores it.
type refused struct{ err error }

func (r *refused) Error() string { return r.err.Error() }
func (r *refused) Unwrap() error { return r.err }

// changed refreshes the cache and tells observers. Cache failures only
// degrade reads, which fall back to the store.
func (s *Service) changed(ctx context.Context, c Change) {
	if s.cache != nil {
		if b, err := MarshalStored(c.Payment); err == nil {
			if err := s.cache.Set(ctx, cacheKey(c.Payment.ID), b, s.opt.RecentTTL); err != nil {
				s.log.Warn("cannot cache payment", "payment_id", c.Payment.ID, "err", err)
			} else if c.Event == "payment.created" {
				if err := s.cache.ListPush(ctx, recentKey, []byte(c.Payment.ID), s.opt.RecentSize, s.opt.RecentTTL); err != nil {
					s.log.Warn("cannot push recent payment", "payment_id", c.Payment.ID, "err", err)
				}
			}
		}
	}
	for _, o := range s.observers {
		o.PaymentChanged(ctx, c)
	}
}

const (
	recentKey = "payments:recent"
	// recentCompleteKey marks a recent list filled from the store, so a
	// list shorter than asked for is known to be all there is.
	recentCompleteKey = "payments:recent:complete"
)

// dedupe drops repeated ids (two instances refilling at once).
func dedupe(ids [][]byte) [][]byte {
	seen := make(map[string]bool, len(ids))
	out := ids[:0]
	for _, id := range ids {
		if !seen[string(id)] {
			seen[string(id)] = true
			out = append(out, id)
		}
	}
	return out
}

func cacheKey(id string) string { return "payment:" + id }

// Get returns one payment.
func (s *Service) Get(ctx context.Context, id string) (*Payment, error) {
	return s.store.GetPayment(ctx, id)
}

// Recent returns up to n recent payments, newest first, from the cache when
// it can and from the store for whatever the cache lacks.
func (s *Service) Recent(ctx context.Context, n int) ([]*Payment, string, error) {
	if n <= 0 || n > s.opt.RecentSize {
		n = s.opt.RecentSize
	}
	if s.cache != nil {
		ps, err := s.recentFromCache(ctx, n)
		if err == nil && ps != nil {
			return ps, "cache", nil
		}
		if err != nil {
			s.log.Warn("recent payments: cache unavailable, reading the store", "err", err)
		}
	}
	// Read the whole recent window, so the refilled list serves any n.
	ps, _, err := s.store.ListPayments(ctx, ListFilter{Limit: s.opt.RecentSize})
	if err != nil {
		return nil, "", err
	}
	if s.cache != nil {
		s.refill(ctx, ps)
	}
	if len(ps) > n {
		ps = ps[:n]
	}
	return ps, "store", nil
}

func (s *Service) recentFromCache(ctx context.Context, n int) ([]*Payment, error) {
	ids, err := s.cache.ListRange(ctx, recentKey, n)
	if err != nil {
		return nil, err
	}
	if len(ids) < n {
		// A short list is whole only if it was filled from the store: after
		// a cache restart it holds just the payments made since.
		mark, err := s.cache.MGet(ctx, recentCompleteKey)
		if err != nil || mark[0] == nil {
			return nil, err
		}
	}
	ids = dedupe(ids)
	keys := make([]string, len(ids))
	for i, b := range ids {
		keys[i] = cacheKey(string(b))
	}
	vals, err := s.cache.MGet(ctx, keys...)
	if err != nil {
		return nil, err
	}
	out := make([]*Payment, 0, len(ids))
	for i, v := range vals {
		var p *Payment
		if v != nil {
			p, err = UnmarshalStored(v)
		}
		if v == nil || err != nil {
			// Evicted snapshot: the store is the truth.
			p, err = s.store.GetPayment(ctx, string(ids[i]))
			if errors.Is(err, ErrNotFound) {
				continue
			}
			if err != nil {
				return nil, err
			}
		}
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID > out[j].ID })
	return out, nil
}

// refill replaces the cached recent list with the store's, after a cold
// start or a cache restart.
func (s *Service) refill(ctx context.Context, ps []*Payment) {
	if err := s.cache.Del(ctx, recentKey); err != nil {
		return
	}
	for i := len(ps) - 1; i >= 0; i-- {
		b, err := MarshalStored(ps[i])
		if err != nil {
			continue
		}
		if s.cache.Set(ctx, cacheKey(ps[i].ID), b, s.opt.RecentTTL) != nil ||
			s.cache.ListPush(ctx, recentKey, []byte(ps[i].ID), s.opt.RecentSize, s.opt.RecentTTL) != nil {
			return
		}
	}
	_ = s.cache.Set(ctx, recentCompleteKey, []byte("1"), s.opt.RecentTTL)
}

// List returns a page of payments matching f.
func (s *Service) List(ctx context.Context, f ListFilter) ([]*Payment, bool, error) {
	if f.Limit <= 0 {
		f.Limit = 20
	}
	if f.Limit > 100 {
		f.Limit = 100
	}
	return s.store.ListPayments(ctx, f)
}

// RefundRequest is the body of POST /payments/{id}/refund.
type RefundRequest struct {
	// Amount is what to give back, in minor units; nil means whatever is
	// not yet refunded. Zero or less is refused.
	Amount *int64 `json:"amount,omitempty"`
	Reason string `json:"reason,omitempty"`
}

// Refund gives back part or all of a succeeded payment. With a key, a
// retried refund is answered from the first one and refunds once.
func (s *Service) Refund(ctx context.Context, principal, key, pid string, req RefundRequest) (int, []byte, error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.opt.OperationTimeout)
	defer cancel()
	run := func(ctx context.Context, refundID string) (int, []byte, error) {
		p, err := s.refund(ctx, pid, refundID, req)
		if err != nil {
			return 0, nil, err
		}
		return 200, Render(p), nil
	}
	if key == "" {
		return run(ctx, id.New("re"))
	}
	return s.idempotent(ctx, refundKey(principal, pid, key), hashOf(req), id.New("re"), run)
}

func (s *Service) refund(ctx context.Context, pid, refundID string, req RefundRequest) (*Payment, error) {
	// Checked inside the idempotent run, so a retry gets the same refusal.
	if req.Amount != nil && *req.Amount <= 0 {
		return nil, &InvalidError{Field: "amount", Reason: "must be a positive integer number of minor units; omit it to refund the rest"}
	}
	p, err := s.store.GetPayment(ctx, pid)
	if err != nil {
		return nil, err
	}
	amount := p.Amount - p.AmountRefunded
	if req.Amount != nil {
		amount = *req.Amount
	}
	reason := req.Reason
	if reason == "" {
		reason = "requested_by_customer"
	}
	// Check before asking the provider, so an illegal refund never leaves Paymon.
	if err := applyRefund(p.Clone(), amount, reason, s.now()); err != nil {
		return nil, err
	}
	prov, ok := s.providers[p.Provider]
	if !ok {
		return nil, &InvalidError{Field: "provider", Reason: fmt.Sprintf("provider %q of this payment is not configured", p.Provider)}
	}
	if err := prov.Refund(ctx, p, amount, refundID); err != nil {
		var pe *ProviderError
		if errors.As(err, &pe) && (pe.Kind == ProviderDeclined || pe.Kind == ProviderInvalid) {
			return nil, &InvalidError{Field: "amount", Reason: "provider refused the refund: " + pe.Reason}
		}
		return nil, fmt.Errorf("cannot refund %s at %s: %w", pid, p.Provider, err)
	}
	return s.update(ctx, pid, func(p *Payment) error {
		return applyRefund(p, amount, reason, s.now())
	}, amount)
}

// update applies fn to the stored payment with optimistic concurrency,
// re-reading on conflict, then announces the change.
func (s *Service) update(ctx context.Context, pid string, fn func(*Payment) error, refunded int64) (*Payment, error) {
	for attempt := 0; ; attempt++ {
		p, err := s.store.GetPayment(ctx, pid)
		if err != nil {
			return nil, err
		}
		from := p.Status
		version := p.Version
		if err := fn(p); err != nil {
			return nil, err
		}
		var extra Extra
		if p.Status != from {
			extra.Stats = append(extra.Stats, StatIncrement{Bucket: minute(p.UpdatedAt), Kind: string(p.Status), Currency: p.Currency, Count: 1, Amount: p.Amount})
		}
		if refunded > 0 {
			extra.Stats = append(extra.Stats, StatIncrement{Bucket: minute(p.UpdatedAt), Kind: "refund", Currency: p.Currency, Count: 1, Amount: refunded})
		}
		err = s.store.UpdatePayment(ctx, p, version, extra)
		if errors.Is(err, ErrVersionConflict) && attempt < 10 {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("cannot store payment %s: %w", pid, err)
		}
		s.changed(ctx, Change{Event: "payment.updated", Payment: p, From: from, Refunded: refunded, Body: Render(p)})
		return p, nil
	}
}

// Cancel stops a pending payment.
func (s *Service) Cancel(ctx context.Context, pid, reason string) (*Payment, error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.opt.OperationTimeout)
	defer cancel()
	p, err := s.store.GetPayment(ctx, pid)
	if err != nil {
		return nil, err
	}
	if !CanTransition(p.Status, StatusCanceled) {
		return nil, &TransitionError{ID: p.ID, From: p.Status, To: StatusCanceled}
	}
	if reason == "" {
		reason = "requested_by_customer"
	}
	if prov, ok := s.providers[p.Provider]; ok && p.ProviderPaymentID != "" {
		if err := prov.Cancel(ctx, p); err != nil {
			var pe *ProviderError
			if errors.As(err, &pe) && (pe.Kind == ProviderDeclined || pe.Kind == ProviderInvalid) {
				return nil, &TransitionError{ID: p.ID, From: p.Status, To: StatusCanceled}
			}
			return nil, fmt.Errorf("cannot cancel %s at %s: %w", pid, p.Provider, err)
		}
	}
	return s.update(ctx, pid, func(p *Payment) error {
		return transition(p, StatusCanceled, "canceled", reason, s.now())
	}, 0)
}

// ApplyProviderResult settles a payment from a provider's word (a webhook or
// the reconciler). Repeating the same outcome is a no-op; a contradiction
// of a final status is refused with a TransitionError.
func (s *Service) ApplyProviderResult(ctx context.Context, pid string, res ProviderResult, source string) (*Payment, error) {
	p, err := s.update(ctx, pid, func(p *Payment) error {
		if res.Status == p.Status || res.Status == StatusPending {
			return errNoChange
		}
		if p.ProviderPaymentID == "" && res.ProviderPaymentID != "" {
			p.ProviderPaymentID = res.ProviderPaymentID
		}
		reason := res.FailureReason
		if reason == "" {
			reason = source
		}
		return transition(p, res.Status, string(res.Status), reason, s.now())
	}, 0)
	if errors.Is(err, errNoChange) {
		p, err = s.store.GetPayment(ctx, pid)
	}
	return p, err
}

var errNoChange = errors.New("no change")

// PaymentByProviderID finds a payment from a provider's id for webhooks.
func (s *Service) PaymentByProviderID(ctx context.Context, provider, ppid string) (*Payment, error) {
	return s.store.GetPaymentByProviderID(ctx, provider, ppid)
}

// Stats returns the payment roll-ups between from and to.
func (s *Service) Stats(ctx context.Context, from, to time.Time) ([]StatIncrement, error) {
	return s.store.PaymentStats(ctx, from, to)
}

// errorResponse renders a deterministic refusal for idempotent replay. Its
// shape matches the HTTP error envelope minus the request id.
func errorResponse(_ context.Context, err error) (int, []byte) {
	type e struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	}
	var inv *InvalidError
	var te *TransitionError
	var body struct {
		Error e `json:"error"`
	}
	status := 409
	var rf *refused
	switch {
	case errors.As(err, &inv):
		status, body.Error = 422, e{"invalid_request", inv.Error()}
	case errors.As(err, &rf):
		status, body.Error = 400, e{"refused", rf.Error()}
	case errors.As(err, &te):
		body.Error = e{"illegal_transition", te.Error()}
	default:
		status, body.Error = 404, e{"not_found", err.Error()}
	}
	b, _ := json.Marshal(body)
	return status, b
}
