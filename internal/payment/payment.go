// Package payment owns the payments domain: the Payment type, its state
// machine, idempotency rules and the Service the HTTP layer calls. It
// declares the Store, Cache and Provider interfaces it needs; adapters live
// elsewhere and never decide business rules.
package payment

import (
	"encoding/json"
	"time"
)

// Status is where a payment stands. The legal moves between statuses live
// in state.go and nowhere else.
type Status string

const (
	StatusPending   Status = "pending"
	StatusSucceeded Status = "succeeded"
	StatusFailed    Status = "failed"
	StatusRefunded  Status = "refunded"
	StatusCanceled  Status = "canceled"
)

// Valid reports whether s is one of the known statuses.
func (s Status) Valid() bool {
	switch s {
	case StatusPending, StatusSucceeded, StatusFailed, StatusRefunded, StatusCanceled:
		return true
	}
	return false
}

// Event is one entry of a payment's history.
type Event struct {
	Type   string    `json:"type"`
	At     time.Time `json:"at"`
	Reason string    `json:"reason,omitempty"`
	Amount int64     `json:"amount,omitempty"`
}

// NextAction is what the customer must still do to finish a payment.
type NextAction struct {
	Type         string `json:"type"`
	ClientSecret string `json:"client_secret,omitempty"`
	URL          string `json:"url,omitempty"`
}

// Payment is the stored and returned representation of a payment.
type Payment struct {
	ID                string            `json:"id"`
	Amount            int64             `json:"amount"`
	Currency          string            `json:"currency"`
	Status            Status            `json:"status"`
	Provider          string            `json:"provider"`
	ProviderPaymentID string            `json:"provider_payment_id"`
	NextAction        *NextAction       `json:"next_action"`
	Description       string            `json:"description"`
	Metadata          map[string]string `json:"metadata"`
	AmountRefunded    int64             `json:"amount_refunded"`
	FailureReason     string            `json:"failure_reason"`
	CreatedAt         time.Time         `json:"created_at"`
	UpdatedAt         time.Time         `json:"updated_at"`
	Events            []Event           `json:"events"`
	// CreatedBy is the principal that created the payment; kept for audit,
	// not returned to clients.
	CreatedBy string `json:"-"`
	// Version increments on every stored change; stores use it for
	// optimistic concurrency so two instances never overwrite each other.
	Version int64 `json:"-"`
}

// Clone returns a deep copy, so cached or shared payments are never mutated
// in place.
func (p *Payment) Clone() *Payment {
	c := *p
	if p.NextAction != nil {
		na := *p.NextAction
		c.NextAction = &na
	}
	if p.Metadata != nil {
		c.Metadata = make(map[string]string, len(p.Metadata))
		for k, v := range p.Metadata {
			c.Metadata[k] = v
		}
	}
	c.Events = append([]Event(nil), p.Events...)
	return &c
}

// storedPayment carries the fields clients never see but stores must keep.
type storedPayment struct {
	*Payment
	CreatedBy string `json:"created_by,omitempty"`
	Version   int64  `json:"version"`
}

// MarshalStored encodes a payment with its internal fields, for stores and
// caches.
func MarshalStored(p *Payment) ([]byte, error) {
	return json.Marshal(storedPayment{Payment: p, CreatedBy: p.CreatedBy, Version: p.Version})
}

// UnmarshalStored is the inverse of MarshalStored.
func UnmarshalStored(b []byte) (*Payment, error) {
	p := &Payment{}
	sp := storedPayment{Payment: p}
	if err := json.Unmarshal(b, &sp); err != nil {
		return nil, err
	}
	p.CreatedBy, p.Version = sp.CreatedBy, sp.Version
	return p, nil
}
