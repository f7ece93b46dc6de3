package payment

import (
	"context"
	"time"
)

// Store persists payments, idempotency records, webhook receipts and the
// per-minute payment roll-ups. Every adapter passes storetest's conformance
// suite. A write that returns nil is durable.
type Store interface {
	// CreatePayment stores a new payment (ErrDuplicate if the id exists).
	// With a claim, the claim's idempotency key is taken in the same write:
	// if another record already holds the key, nothing is stored and that
	// record is returned. One durable write serves both, which halves the
	// commits on the create path.
	CreatePayment(ctx context.Context, p *Payment, claim *IdempotencyRecord) (*IdempotencyRecord, error)
	GetPayment(ctx context.Context, id string) (*Payment, error)
	GetPaymentByProviderID(ctx context.Context, provider, providerPaymentID string) (*Payment, error)
	// UpdatePayment stores p if the stored version is still expectVersion,
	// and sets p.Version to expectVersion+1; otherwise ErrVersionConflict.
	// The extra writes ride along in the same durable write where the store
	// can (SQLite); where it cannot (MongoDB, no transactions) they follow
	// the payment's update, which is safe because each is idempotent or
	// guarded by the idempotency lease.
	UpdatePayment(ctx context.Context, p *Payment, expectVersion int64, extra Extra) error
	ListPayments(ctx context.Context, f ListFilter) (page []*Payment, hasMore bool, err error)
	// ListPending returns pending payments created before olderThan, oldest first.
	ListPending(ctx context.Context, olderThan time.Time, limit int) ([]*Payment, error)

	// ClaimIdempotency inserts rec if no record has its key and returns
	// (nil, nil); otherwise it returns the existing record.
	ClaimIdempotency(ctx context.Context, rec IdempotencyRecord) (*IdempotencyRecord, error)
	// TakeOverIdempotency extends an unfinished record's lease if it still
	// holds prevLockedUntil, so one instance at a time can resume it.
	TakeOverIdempotency(ctx context.Context, key string, prevLockedUntil, lockedUntil time.Time) (bool, error)
	CompleteIdempotency(ctx context.Context, key string, status int, body []byte) error
	DeleteIdempotency(ctx context.Context, key string) error
	DeleteExpiredIdempotency(ctx context.Context, now time.Time) (int64, error)

	// RecordWebhookEvent returns true the first time (provider, eventID) is seen.
	RecordWebhookEvent(ctx context.Context, provider, eventID string, at time.Time) (bool, error)

	AddPaymentStats(ctx context.Context, incs []StatIncrement) error
	PaymentStats(ctx context.Context, from, to time.Time) ([]StatIncrement, error)
}

// Extra is what UpdatePayment writes besides the payment.
type Extra struct {
	Stats []StatIncrement
	// Complete, when not nil, finishes the idempotency record Complete.Key
	// with Complete.Status and Complete.Body.
	Complete *IdempotencyRecord
}

// ListFilter selects payments, newest first. StartingAfter is the id of
// the last payment of the previous page.
type ListFilter struct {
	Status        Status
	Provider      string
	Currency      string
	CreatedFrom   time.Time // inclusive; zero = unbounded
	CreatedTo     time.Time // exclusive; zero = unbounded
	StartingAfter string
	Limit         int
}

// IdempotencyRecord remembers one Idempotency-Key for 24 hours. PaymentID
// is chosen when the key is claimed so that a request resumed after a
// crash reuses the same payment (and the same provider idempotency key).
type IdempotencyRecord struct {
	Key         string
	RequestHash string
	PaymentID   string
	Status      int    // 0 while in flight
	Body        []byte // the stored response, replayed byte for byte
	LockedUntil time.Time
	CreatedAt   time.Time
	ExpiresAt   time.Time
}

// Done reports whether the first request finished and its response is stored.
func (r *IdempotencyRecord) Done() bool { return r.Status != 0 }

// StatIncrement adds Count payments and Amount minor units to one
// (minute, kind, currency) roll-up cell. Kind is "created" or a status.
type StatIncrement struct {
	Bucket   time.Time
	Kind     string
	Currency string
	Count    int64
	Amount   int64
}

// Cache is the part of the shared cache payments use: a capped list of
// recent ids and a snapshot of each recent payment.
type Cache interface {
	Set(ctx context.Context, key string, val []byte, ttl time.Duration) error
	Del(ctx context.Context, keys ...string) error
	MGet(ctx context.Context, keys ...string) ([][]byte, error)
	ListPush(ctx context.Context, key string, val []byte, max int, ttl time.Duration) error
	ListRange(ctx context.Context, key string, n int) ([][]byte, error)
}

// Publisher announces payment changes to the realtime feed.
type Publisher interface {
	PublishPayment(ctx context.Context, event string, p *Payment)
}

// Provider moves money. Implementations classify their errors with
// ProviderError so the Service can decide without knowing the provider.
type Provider interface {
	Name() string
	Create(ctx context.Context, req ProviderRequest) (ProviderResult, error)
	Retrieve(ctx context.Context, p *Payment) (ProviderResult, error)
	Refund(ctx context.Context, p *Payment, amount int64, refundKey string) error
	Cancel(ctx context.Context, p *Payment) error
}

// Confirmer is a Provider that can finish a payment the customer has
// approved: Stripe confirms the intent with a payment method, PayPal
// captures the approved order. It is optional so that test doubles of
// Provider stay small; the webhook path uses it when a provider has it.
type Confirmer interface {
	Confirm(ctx context.Context, p *Payment, paymentMethod string) (ProviderResult, error)
}

// ProviderRequest is what a provider needs to start a payment. PaymentID is
// Paymon's id; providers use it as their idempotency key so a retried
// create never charges twice.
type ProviderRequest struct {
	PaymentID     string
	Amount        int64
	Currency      string
	Description   string
	Metadata      map[string]string
	PaymentMethod string
	ReturnURL     string
}

// ProviderResult is the provider's view of a payment.
type ProviderResult struct {
	Status            Status
	ProviderPaymentID string
	NextAction        *NextAction
	FailureReason     string
}

// ProviderErrorKind classifies a provider failure once, for every provider.
type ProviderErrorKind string

const (
	ProviderDeclined      ProviderErrorKind = "declined"      // final; the reason reaches the client
	ProviderRetriable     ProviderErrorKind = "retriable"     // network, timeout, 5xx, rate limit
	ProviderInvalid       ProviderErrorKind = "invalid"       // the provider refused the request
	ProviderMisconfigured ProviderErrorKind = "misconfigured" // bad credentials or set-up
)

// ProviderError is a classified provider failure.
type ProviderError struct {
	Kind   ProviderErrorKind
	Reason string
	Err    error
}

func (e *ProviderError) Error() string {
	if e.Err != nil {
		return string(e.Kind) + ": " + e.Reason + ": " + e.Err.Error()
	}
	return string(e.Kind) + ": " + e.Reason
}

func (e *ProviderError) Unwrap() error { return e.Err }
