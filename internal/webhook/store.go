package webhook

import (
	"context"
	"errors"
	"time"
)

var (
	// ErrNotFound: no such event, endpoint or delivery.
	ErrNotFound = errors.New("not found")
)

// Endpoint is a merchant URL that receives events. Secret signs
// deliveries; PrevSecret still signs until PrevSecretUntil after a
// rotation, so a receiver can switch keys without losing a delivery.
type Endpoint struct {
	ID              string
	URL             string
	EventTypes      []string // "*" for every type
	Enabled         bool
	Description     string
	Secret          string
	PrevSecret      string
	PrevSecretUntil time.Time
	// DisabledReason says why Paymon turned the endpoint off ("" when a
	// person did, or when it is enabled).
	DisabledReason string
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

// Wants reports whether the endpoint subscribes to event type t.
func (e *Endpoint) Wants(t string) bool {
	for _, x := range e.EventTypes {
		if x == "*" || x == t {
			return true
		}
	}
	return false
}

// Attempt states.
const (
	StatePending   = "pending"
	StateDelivered = "delivered"
	StateFailed    = "failed" // gave up after the retry window
)

// Attempt is one queued delivery: one event to one endpoint. Its id is
// the pair, so queueing it twice queues it once.
type Attempt struct {
	ID          string
	EventID     string
	EndpointID  string
	State       string
	Attempts    int       // attempts made so far
	NextAt      time.Time // when it is due
	FirstAt     time.Time // start of the retry window
	LeaseUntil  time.Time
	LeaseGen    int64
	LastAttempt time.Time
}

// AttemptID names the delivery of event to endpoint.
func AttemptID(eventID, endpointID string) string { return eventID + ":" + endpointID }

// Delivery is the log line of one attempt.
type Delivery struct {
	ID         string    `json:"id"`
	EndpointID string    `json:"endpoint_id"`
	EventID    string    `json:"event_id"`
	EventType  string    `json:"event_type"`
	Attempt    int       `json:"attempt"`
	At         time.Time `json:"created_at"`
	Result     string    `json:"result"` // delivered, failed, refused
	Status     int       `json:"status"` // the HTTP status; 0 when there was none
	LatencyMS  int64     `json:"latency_ms"`
	Response   string    `json:"response"` // first 1 KiB of the answer
	Error      string    `json:"error"`
}

// EventFilter selects events, newest first.
type EventFilter struct {
	Type        string
	PaymentID   string
	CreatedFrom time.Time // inclusive
	CreatedTo   time.Time // exclusive
	// After is the last event of the previous page (its id and time).
	After *Event
	Limit int
}

// Finish is what one attempt changes in its queue row. With Skip no
// attempt was made (its endpoint is disabled): the row is only put off to
// NextAt, with no log line and no attempt counted.
type Finish struct {
	State  string
	NextAt time.Time
	Skip   bool
}

// Store keeps events, endpoints, the delivery queue and its log. A write
// that returns nil is durable. The payment stores write events themselves,
// with the payment change they describe (see EventFor).
type Store interface {
	GetEvent(ctx context.Context, id string) (Event, error)
	ListEvents(ctx context.Context, f EventFilter) ([]Event, bool, error)
	// UndispatchedEvents returns events whose deliveries are not queued
	// yet, oldest first.
	UndispatchedEvents(ctx context.Context, limit int) ([]Event, error)
	// Dispatch queues attempts (ignoring those already queued) and marks
	// the events dispatched. Either may be repeated safely.
	Dispatch(ctx context.Context, eventIDs []string, attempts []Attempt) error

	CreateEndpoint(ctx context.Context, e Endpoint) error
	GetEndpoint(ctx context.Context, id string) (Endpoint, error)
	ListEndpoints(ctx context.Context) ([]Endpoint, error)
	// UpdateEndpoint replaces the stored endpoint e.ID (ErrNotFound).
	UpdateEndpoint(ctx context.Context, e Endpoint) error
	// DeleteEndpoint removes the endpoint and its queued attempts; its
	// delivery log stays until retention removes it.
	DeleteEndpoint(ctx context.Context, id string) error

	// LeaseAttempts leases up to limit due, pending attempts until
	// leaseUntil. One attempt is leased to one caller at a time, across
	// every instance; an expired lease (its holder died) can be taken.
	LeaseAttempts(ctx context.Context, now, leaseUntil time.Time, limit int) ([]Attempt, error)
	// FinishAttempt logs d and moves the attempt on (attempts+1, then f).
	FinishAttempt(ctx context.Context, a Attempt, d Delivery, f Finish) error
	// Requeue makes the attempt of event to endpoint due now, with a new
	// retry window, whatever its state (a resend).
	Requeue(ctx context.Context, a Attempt) error
	ListDeliveries(ctx context.Context, endpointID, startingAfter string, limit int) ([]Delivery, bool, error)
	// QueueStats counts pending attempts and returns the start of the
	// retry window of the oldest pending attempt that has failed at least
	// once (zero when none).
	QueueStats(ctx context.Context) (depth int64, oldestFailing time.Time, err error)
	// DeleteEventsBefore removes events created before t, with their
	// queued attempts and delivery log lines.
	DeleteEventsBefore(ctx context.Context, t time.Time) (int64, error)
}

// OutboxSweeper is a store that writes an event after its payment change
// (no transactions) and so must look for changes whose event is missing.
type OutboxSweeper interface {
	SweepOutbox(ctx context.Context, olderThan time.Time) (int, error)
}
