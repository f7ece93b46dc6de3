package mongo

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/paymon/paymon/internal/payment"
	"github.com/paymon/paymon/internal/webhook"
)

// The outbox without transactions. A payment write carries its event in
// the payment document itself (outbox, with outbox_pending set), so the
// change and its event are one atomic document write. The event is then
// copied into payment_events under its derived id (an insert that ignores
// a repeat) and taken out of the document. A crash between the two leaves
// the event in the document, where SweepOutbox finds it by
// outbox_pending: nothing is lost, nothing is written twice.

// outboxEvent is an event waiting in its payment document.
type outboxEvent struct {
	ID        string `bson:"id"`
	Type      string `bson:"type"`
	CreatedAt int64  `bson:"created_at"`
	Data      string `bson:"data"`
}

type eventDoc struct {
	ID         string `bson:"_id"`
	Type       string `bson:"type"`
	PaymentID  string `bson:"payment_id"`
	CreatedAt  int64  `bson:"created_at"` // Unix nanoseconds
	Dispatched bool   `bson:"dispatched"`
	Data       string `bson:"data"`
}

func (d eventDoc) event() webhook.Event {
	return webhook.Event{ID: d.ID, Type: d.Type, PaymentID: d.PaymentID, CreatedAt: time.Unix(0, d.CreatedAt).UTC(), Dispatched: d.Dispatched, Data: json.RawMessage(d.Data)}
}

func (s *Store) events() *mongo.Collection { return s.db.Collection("payment_events") }

// outboxOf is the outbox entry of p's latest change, or nil.
func outboxOf(p *payment.Payment) *outboxEvent {
	ev, ok := webhook.EventFor(p)
	if !ok {
		return nil
	}
	return &outboxEvent{ID: ev.ID, Type: ev.Type, CreatedAt: ev.CreatedAt.UnixNano(), Data: string(ev.Data)}
}

// flushOutbox copies the outbox entries of payment pid into
// payment_events and removes them from the document. Errors are left to
// the sweep: the change itself is stored, and its event with it.
func (s *Store) flushOutbox(ctx context.Context, pid string, evs []outboxEvent) error {
	if len(evs) == 0 {
		return nil
	}
	docs := make([]any, len(evs))
	for i, e := range evs {
		docs[i] = eventDoc{ID: e.ID, Type: e.Type, PaymentID: pid, CreatedAt: e.CreatedAt, Data: e.Data}
	}
	if _, err := s.events().InsertMany(ctx, docs, options.InsertMany().SetOrdered(false)); err != nil && !allDuplicates(err) {
		return err
	}
	unlock := s.locks.lock("payments", pid)
	defer unlock()
	// $pullAll matches whole elements: FerretDB v1 ignores a $pull
	// condition on an element's field.
	all := make(bson.A, len(evs))
	for i, e := range evs {
		all[i] = e
	}
	_, err := s.payments.UpdateOne(ctx, bson.D{{Key: "_id", Value: pid}},
		bson.D{{Key: "$pullAll", Value: bson.D{{Key: "outbox", Value: all}}}})
	if err != nil {
		return err
	}
	// Clear the flag only once nothing is left: a newer change may have
	// added its own entry meanwhile.
	_, err = s.payments.UpdateOne(ctx, bson.D{{Key: "_id", Value: pid}, {Key: "outbox", Value: bson.D{{Key: "$size", Value: 0}}}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "outbox_pending", Value: false}}}})
	return err
}

// allDuplicates reports whether every write error of a bulk insert is a
// duplicate key (the rows were there already).
func allDuplicates(err error) bool {
	var bwe mongo.BulkWriteException
	if errors.As(err, &bwe) {
		for _, we := range bwe.WriteErrors {
			if we.Code != 11000 && !isDuplicate(we) {
				return false
			}
		}
		return bwe.WriteConcernError == nil
	}
	return isDuplicate(err)
}

// SweepOutbox implements webhook.OutboxSweeper: it writes the events of
// payment changes whose copy into payment_events was interrupted.
func (s *Store) SweepOutbox(ctx context.Context, _ time.Time) (int, error) {
	start := time.Now()
	cur, err := s.payments.Find(ctx, bson.D{{Key: "outbox_pending", Value: true}},
		options.Find().SetProjection(bson.D{{Key: "outbox", Value: 1}}).SetLimit(500))
	if err != nil {
		return 0, s.done("sweep_outbox", start, err)
	}
	var docs []struct {
		ID     string        `bson:"_id"`
		Outbox []outboxEvent `bson:"outbox"`
	}
	if err := cur.All(ctx, &docs); err != nil {
		return 0, s.done("sweep_outbox", start, err)
	}
	n := 0
	for _, d := range docs {
		if err := s.flushOutbox(ctx, d.ID, d.Outbox); err != nil {
			return n, s.done("sweep_outbox", start, err)
		}
		n += len(d.Outbox)
	}
	return n, s.done("sweep_outbox", start, nil)
}
