// Package webhook owns merchant webhooks: the events every payment change
// produces (kept with the change, as an outbox), the endpoints merchants
// register, and the signed, retried, logged delivery of each event to each
// endpoint. The queue of deliveries lives in the store, so any instance
// can deliver and a restart loses nothing. Delivery is at least once and
// unordered: receivers de-duplicate by event id.
package webhook

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/paymon/paymon/internal/payment"
)

// The event types, one per entry of a payment's timeline that a merchant
// acts on.
const (
	PaymentCreated           = "payment.created"
	PaymentSucceeded         = "payment.succeeded"
	PaymentFailed            = "payment.failed"
	PaymentPartiallyRefunded = "payment.partially_refunded"
	PaymentRefunded          = "payment.refunded"
	PaymentCanceled          = "payment.canceled"
)

// EventTypes lists every event type.
var EventTypes = []string{PaymentCreated, PaymentSucceeded, PaymentFailed, PaymentPartiallyRefunded, PaymentRefunded, PaymentCanceled}

// ValidEventType reports whether t is one of EventTypes.
func ValidEventType(t string) bool {
	for _, e := range EventTypes {
		if e == t {
			return true
		}
	}
	return false
}

// Event is one payment change as delivered: Data is the payment exactly as
// the API renders it at that change.
type Event struct {
	ID        string          `json:"id"`
	Type      string          `json:"type"`
	PaymentID string          `json:"payment_id"`
	CreatedAt time.Time       `json:"created_at"`
	Data      json.RawMessage `json:"data"`
	// Dispatched is set once the event's deliveries are queued.
	Dispatched bool `json:"-"`
}

// timelineTypes maps the entries of a payment's timeline to event types;
// entries not listed make no event.
var timelineTypes = map[string]string{
	"created": PaymentCreated, "succeeded": PaymentSucceeded, "failed": PaymentFailed,
	// The reconciler fails a payment left pending past its deadline.
	"expired":  PaymentFailed,
	"canceled": PaymentCanceled, "refunded": PaymentRefunded, "partially_refunded": PaymentPartiallyRefunded,
}

// EventFor is the event the latest change of p produces, if any. Its id is
// derived from the payment id and the position of the timeline entry, so
// writing it again (a retried write, a sweep, an update that added no
// timeline entry) can never make a second event: stores insert it only if
// the id is new. Updates that add no entry a merchant acts on (a provider
// id recorded, an unreachable provider) produce none.
func EventFor(p *payment.Payment) (Event, bool) {
	n := len(p.Events)
	if n == 0 {
		return Event{}, false
	}
	last := p.Events[n-1]
	typ, ok := timelineTypes[last.Type]
	if !ok {
		return Event{}, false
	}
	return Event{
		ID: EventID(p.ID, n), Type: typ, PaymentID: p.ID,
		CreatedAt: last.At.UTC(), Data: payment.Render(p),
	}, true
}

// EventID is the id of the event of the n-th (1-based) timeline entry of
// payment pid.
func EventID(pid string, n int) string {
	return fmt.Sprintf("evt_%s_%d", strings.TrimPrefix(pid, "pay_"), n)
}

// ValidEventID reports whether s has the shape EventID makes.
func ValidEventID(s string) bool {
	rest, ok := strings.CutPrefix(s, "evt_")
	if !ok || len(rest) < 3 || len(rest) > 64 {
		return false
	}
	for _, c := range rest {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c == '_') {
			return false
		}
	}
	return true
}

// Body is the JSON an endpoint receives for e.
func (e Event) Body() []byte {
	b, err := json.Marshal(e)
	if err != nil {
		panic(fmt.Sprintf("cannot encode event: %v", err)) // Data is already valid JSON
	}
	return b
}
