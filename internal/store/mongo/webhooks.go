package mongo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/paymon/paymon/internal/webhook"
)

// WebhookStore implements webhook.Store on the Store's database, shared
// by every instance; the payment writes of the embedded *Store produce its
// events (outbox.go).
//
// Leases are decided by unique inserts, never by conditional updates
// (FerretDB v1 evaluates an update's filter and writes in two steps, see
// AlertStore): to lease an attempt a caller inserts the marker
// {_id: attempt#attempts#lease_gen}; the one whose insert succeeds holds
// the attempt and bumps lease_gen, so the next lease (after this one is
// finished or has expired) has a fresh marker to compete for. Only the
// holder updates the attempt afterwards.
type WebhookStore struct {
	*Store
	endpoints, attempts, leases, deliveries *mongo.Collection
}

// NewWebhookStore returns the webhook store on s's database and creates
// its indexes.
func NewWebhookStore(ctx context.Context, s *Store) (*WebhookStore, error) {
	w := &WebhookStore{Store: s, endpoints: s.db.Collection("webhook_endpoints"), attempts: s.db.Collection("webhook_attempts"),
		leases: s.db.Collection("webhook_leases"), deliveries: s.db.Collection("webhook_deliveries")}
	indexes := []index{
		{s.events(), "created_id", asc("created_at", "_id"), false},
		{s.events(), "dispatched_created", asc("dispatched", "created_at"), false},
		{s.payments, "outbox_pending", asc("outbox_pending"), false},
		{w.attempts, "state_next", asc("state", "next_at"), false},
		{w.attempts, "endpoint", asc("endpoint_id"), false},
		{w.attempts, "event", asc("event_id"), false},
		{w.leases, "at", asc("at"), false},
		{w.deliveries, "endpoint_id", asc("endpoint_id", "_id"), false},
		{w.deliveries, "at", asc("at"), false},
	}
	if err := ensureIndexes(ctx, indexes); err != nil {
		return nil, err
	}
	return w, nil
}

// GetEvent implements webhook.Store.
func (w *WebhookStore) GetEvent(ctx context.Context, id string) (webhook.Event, error) {
	start := time.Now()
	var d eventDoc
	err := w.events().FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		_ = w.done("get_event", start, nil)
		return webhook.Event{}, webhook.ErrNotFound
	}
	if err = w.done("get_event", start, err); err != nil {
		return webhook.Event{}, err
	}
	return d.event(), nil
}

func (w *WebhookStore) findEvents(ctx context.Context, op string, filter bson.D, opts *options.FindOptionsBuilder) ([]webhook.Event, error) {
	start := time.Now()
	cur, err := w.events().Find(ctx, filter, opts)
	if err != nil {
		return nil, w.done(op, start, err)
	}
	var docs []eventDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, w.done(op, start, err)
	}
	out := make([]webhook.Event, len(docs))
	for i, d := range docs {
		out[i] = d.event()
	}
	return out, w.done(op, start, nil)
}

// ListEvents implements webhook.Store.
func (w *WebhookStore) ListEvents(ctx context.Context, f webhook.EventFilter) ([]webhook.Event, bool, error) {
	filter := bson.D{}
	if f.Type != "" {
		filter = append(filter, bson.E{Key: "type", Value: f.Type})
	}
	if f.PaymentID != "" {
		lo := strings.TrimSuffix(webhook.EventID(f.PaymentID, 0), "0")
		filter = append(filter, bson.E{Key: "_id", Value: bson.D{{Key: "$gte", Value: lo}, {Key: "$lt", Value: lo + "~"}}})
	}
	created := bson.D{}
	if !f.CreatedFrom.IsZero() {
		created = append(created, bson.E{Key: "$gte", Value: f.CreatedFrom.UnixNano()})
	}
	if !f.CreatedTo.IsZero() {
		created = append(created, bson.E{Key: "$lt", Value: f.CreatedTo.UnixNano()})
	}
	if len(created) > 0 {
		filter = append(filter, bson.E{Key: "created_at", Value: created})
	}
	if f.After != nil {
		at := f.After.CreatedAt.UnixNano()
		filter = append(filter, bson.E{Key: "$or", Value: bson.A{
			bson.D{{Key: "created_at", Value: bson.D{{Key: "$lt", Value: at}}}},
			bson.D{{Key: "created_at", Value: at}, {Key: "_id", Value: bson.D{{Key: "$lt", Value: f.After.ID}}}},
		}})
	}
	out, err := w.findEvents(ctx, "list_events", filter,
		options.Find().SetSort(bson.D{{Key: "created_at", Value: -1}, {Key: "_id", Value: -1}}).SetLimit(int64(f.Limit)+1))
	if err != nil {
		return nil, false, err
	}
	more := len(out) > f.Limit
	if more {
		out = out[:f.Limit]
	}
	return out, more, nil
}

// UndispatchedEvents implements webhook.Store.
func (w *WebhookStore) UndispatchedEvents(ctx context.Context, limit int) ([]webhook.Event, error) {
	return w.findEvents(ctx, "undispatched_events", bson.D{{Key: "dispatched", Value: false}},
		options.Find().SetSort(bson.D{{Key: "created_at", Value: 1}}).SetLimit(int64(limit)))
}

type attemptDoc struct {
	ID         string `bson:"_id"`
	EventID    string `bson:"event_id"`
	EndpointID string `bson:"endpoint_id"`
	State      string `bson:"state"`
	Attempts   int    `bson:"attempts"`
	NextAt     int64  `bson:"next_at"`
	FirstAt    int64  `bson:"first_at"`
	LeaseUntil int64  `bson:"lease_until"`
	LeaseGen   int64  `bson:"lease_gen"`
	LastAt     int64  `bson:"last_at"`
}

func nsTime(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.Unix(0, v).UTC()
}

func (d attemptDoc) attempt() webhook.Attempt {
	return webhook.Attempt{ID: d.ID, EventID: d.EventID, EndpointID: d.EndpointID, State: d.State, Attempts: d.Attempts,
		NextAt: nsTime(d.NextAt), FirstAt: nsTime(d.FirstAt), LeaseUntil: nsTime(d.LeaseUntil), LeaseGen: d.LeaseGen, LastAttempt: nsTime(d.LastAt)}
}

// Dispatch implements webhook.Store: attempts first (a repeat is a
// duplicate key, ignored), then the marks, so a crash in between only
// makes the next dispatch insert nothing new.
func (w *WebhookStore) Dispatch(ctx context.Context, eventIDs []string, attempts []webhook.Attempt) error {
	start := time.Now()
	if len(attempts) > 0 {
		docs := make([]any, len(attempts))
		for i, a := range attempts {
			docs[i] = attemptDoc{ID: a.ID, EventID: a.EventID, EndpointID: a.EndpointID, State: a.State, NextAt: a.NextAt.UnixNano(), FirstAt: a.FirstAt.UnixNano()}
		}
		if _, err := w.attempts.InsertMany(ctx, docs, options.InsertMany().SetOrdered(false)); err != nil && !allDuplicates(err) {
			return w.done("dispatch_events", start, err)
		}
	}
	_, err := w.events().UpdateMany(ctx, bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: eventIDs}}}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "dispatched", Value: true}}}})
	return w.done("dispatch_events", start, err)
}

type endpointDoc struct {
	ID  string `bson:"_id"`
	Doc string `bson:"doc"`
}

// CreateEndpoint implements webhook.Store.
func (w *WebhookStore) CreateEndpoint(ctx context.Context, e webhook.Endpoint) error {
	b, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("cannot encode endpoint: %w", err)
	}
	start := time.Now()
	_, err = w.endpoints.InsertOne(ctx, endpointDoc{ID: e.ID, Doc: string(b)})
	return w.done("create_endpoint", start, err)
}

// GetEndpoint implements webhook.Store.
func (w *WebhookStore) GetEndpoint(ctx context.Context, id string) (webhook.Endpoint, error) {
	start := time.Now()
	var d endpointDoc
	var e webhook.Endpoint
	err := w.endpoints.FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		_ = w.done("get_endpoint", start, nil)
		return e, webhook.ErrNotFound
	}
	if err = w.done("get_endpoint", start, err); err != nil {
		return e, err
	}
	if err := json.Unmarshal([]byte(d.Doc), &e); err != nil {
		return e, fmt.Errorf("cannot decode stored endpoint: %w", err)
	}
	return e, nil
}

// ListEndpoints implements webhook.Store.
func (w *WebhookStore) ListEndpoints(ctx context.Context) ([]webhook.Endpoint, error) {
	start := time.Now()
	cur, err := w.endpoints.Find(ctx, bson.D{}, options.Find().SetSort(bson.D{{Key: "_id", Value: -1}}))
	if err != nil {
		return nil, w.done("list_endpoints", start, err)
	}
	var docs []endpointDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, w.done("list_endpoints", start, err)
	}
	out := make([]webhook.Endpoint, len(docs))
	for i, d := range docs {
		if err := json.Unmarshal([]byte(d.Doc), &out[i]); err != nil {
			return nil, fmt.Errorf("cannot decode stored endpoint: %w", err)
		}
	}
	return out, w.done("list_endpoints", start, nil)
}

// UpdateEndpoint implements webhook.Store.
func (w *WebhookStore) UpdateEndpoint(ctx context.Context, e webhook.Endpoint) error {
	b, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("cannot encode endpoint: %w", err)
	}
	start := time.Now()
	res, err := w.endpoints.UpdateOne(ctx, bson.D{{Key: "_id", Value: e.ID}}, bson.D{{Key: "$set", Value: bson.D{{Key: "doc", Value: string(b)}}}})
	if err == nil && res.MatchedCount == 0 {
		err = webhook.ErrNotFound
	}
	return w.done("update_endpoint", start, err)
}

// DeleteEndpoint implements webhook.Store.
func (w *WebhookStore) DeleteEndpoint(ctx context.Context, id string) error {
	start := time.Now()
	res, err := w.endpoints.DeleteOne(ctx, bson.D{{Key: "_id", Value: id}})
	if err == nil && res.DeletedCount == 0 {
		err = webhook.ErrNotFound
	}
	if err == nil {
		_, err = w.attempts.DeleteMany(ctx, bson.D{{Key: "endpoint_id", Value: id}})
	}
	return w.done("delete_endpoint", start, err)
}

// LeaseAttempts implements webhook.Store (see WebhookStore for how one
// caller wins each attempt).
func (w *WebhookStore) LeaseAttempts(ctx context.Context, now, until time.Time, limit int) ([]webhook.Attempt, error) {
	start := time.Now()
	cur, err := w.attempts.Find(ctx, bson.D{
		{Key: "state", Value: webhook.StatePending},
		{Key: "next_at", Value: bson.D{{Key: "$lte", Value: now.UnixNano()}}},
		{Key: "lease_until", Value: bson.D{{Key: "$lte", Value: now.UnixNano()}}},
	}, options.Find().SetSort(bson.D{{Key: "next_at", Value: 1}}).SetLimit(int64(limit)))
	if err != nil {
		return nil, w.done("lease_attempts", start, err)
	}
	var docs []attemptDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, w.done("lease_attempts", start, err)
	}
	out := []webhook.Attempt{}
	for _, d := range docs {
		marker := fmt.Sprintf("%s#%d#%d", d.ID, d.Attempts, d.LeaseGen)
		_, err := w.leases.InsertOne(ctx, bson.D{{Key: "_id", Value: marker}, {Key: "at", Value: now.UnixNano()}})
		if isDuplicate(err) {
			continue // another caller holds it
		}
		if err != nil {
			return out, w.done("lease_attempts", start, err)
		}
		d.LeaseGen++
		d.LeaseUntil = until.UnixNano()
		unlock := w.locks.lock("webhook_attempts", d.ID)
		_, err = w.attempts.UpdateOne(ctx, bson.D{{Key: "_id", Value: d.ID}},
			bson.D{{Key: "$set", Value: bson.D{{Key: "lease_until", Value: d.LeaseUntil}, {Key: "lease_gen", Value: d.LeaseGen}}}})
		unlock()
		if err != nil {
			return out, w.done("lease_attempts", start, err)
		}
		out = append(out, d.attempt())
	}
	return out, w.done("lease_attempts", start, nil)
}

type deliveryDoc struct {
	ID         string `bson:"_id"`
	EndpointID string `bson:"endpoint_id"`
	EventID    string `bson:"event_id"`
	At         int64  `bson:"at"`
	Doc        string `bson:"doc"`
}

// FinishAttempt implements webhook.Store: the log line, then the attempt,
// if the caller still holds it.
func (w *WebhookStore) FinishAttempt(ctx context.Context, a webhook.Attempt, d webhook.Delivery, f webhook.Finish) error {
	b, err := json.Marshal(d)
	if err != nil {
		return fmt.Errorf("cannot encode delivery: %w", err)
	}
	start := time.Now()
	if f.Skip {
		unlock := w.locks.lock("webhook_attempts", a.ID)
		_, err = w.attempts.UpdateOne(ctx, bson.D{{Key: "_id", Value: a.ID}, {Key: "lease_gen", Value: a.LeaseGen}},
			bson.D{{Key: "$set", Value: bson.D{{Key: "next_at", Value: f.NextAt.UnixNano()}, {Key: "lease_until", Value: int64(0)}}}})
		unlock()
		return w.done("finish_attempt", start, err)
	}
	_, err = w.deliveries.InsertOne(ctx, deliveryDoc{ID: d.ID, EndpointID: d.EndpointID, EventID: d.EventID, At: d.At.UnixNano(), Doc: string(b)})
	if err != nil && !isDuplicate(err) {
		return w.done("finish_attempt", start, err)
	}
	unlock := w.locks.lock("webhook_attempts", a.ID)
	_, err = w.attempts.UpdateOne(ctx, bson.D{{Key: "_id", Value: a.ID}, {Key: "lease_gen", Value: a.LeaseGen}},
		bson.D{
			{Key: "$set", Value: bson.D{{Key: "state", Value: f.State}, {Key: "next_at", Value: f.NextAt.UnixNano()}, {Key: "lease_until", Value: int64(0)}, {Key: "last_at", Value: d.At.UnixNano()}}},
			{Key: "$inc", Value: bson.D{{Key: "attempts", Value: 1}}},
		})
	unlock()
	return w.done("finish_attempt", start, err)
}

// Requeue implements webhook.Store.
func (w *WebhookStore) Requeue(ctx context.Context, a webhook.Attempt) error {
	start := time.Now()
	unlock := w.locks.lock("webhook_attempts", a.ID)
	_, err := w.attempts.UpdateOne(ctx, bson.D{{Key: "_id", Value: a.ID}},
		bson.D{
			{Key: "$set", Value: bson.D{{Key: "event_id", Value: a.EventID}, {Key: "endpoint_id", Value: a.EndpointID}, {Key: "state", Value: webhook.StatePending},
				{Key: "next_at", Value: a.NextAt.UnixNano()}, {Key: "first_at", Value: a.FirstAt.UnixNano()}, {Key: "lease_until", Value: int64(0)}}},
			{Key: "$inc", Value: bson.D{{Key: "lease_gen", Value: int64(1)}}},
			{Key: "$setOnInsert", Value: bson.D{{Key: "attempts", Value: 0}, {Key: "last_at", Value: int64(0)}}},
		}, options.UpdateOne().SetUpsert(true))
	unlock()
	return w.done("requeue_attempt", start, err)
}

// ListDeliveries implements webhook.Store.
func (w *WebhookStore) ListDeliveries(ctx context.Context, endpointID, after string, limit int) ([]webhook.Delivery, bool, error) {
	start := time.Now()
	filter := bson.D{{Key: "endpoint_id", Value: endpointID}}
	if after != "" {
		filter = append(filter, bson.E{Key: "_id", Value: bson.D{{Key: "$lt", Value: after}}})
	}
	cur, err := w.deliveries.Find(ctx, filter, options.Find().SetSort(bson.D{{Key: "_id", Value: -1}}).SetLimit(int64(limit)+1))
	if err != nil {
		return nil, false, w.done("list_deliveries", start, err)
	}
	var docs []deliveryDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, false, w.done("list_deliveries", start, err)
	}
	out := make([]webhook.Delivery, len(docs))
	for i, d := range docs {
		if err := json.Unmarshal([]byte(d.Doc), &out[i]); err != nil {
			return nil, false, fmt.Errorf("cannot decode stored delivery: %w", err)
		}
	}
	more := len(out) > limit
	if more {
		out = out[:limit]
	}
	return out, more, w.done("list_deliveries", start, nil)
}

// QueueStats implements webhook.Store.
func (w *WebhookStore) QueueStats(ctx context.Context) (int64, time.Time, error) {
	start := time.Now()
	n, err := w.attempts.CountDocuments(ctx, bson.D{{Key: "state", Value: webhook.StatePending}})
	if err != nil {
		return 0, time.Time{}, w.done("queue_stats", start, err)
	}
	var d attemptDoc
	err = w.attempts.FindOne(ctx, bson.D{{Key: "state", Value: webhook.StatePending}, {Key: "attempts", Value: bson.D{{Key: "$gt", Value: 0}}}},
		options.FindOne().SetSort(bson.D{{Key: "first_at", Value: 1}})).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return n, time.Time{}, w.done("queue_stats", start, nil)
	}
	if err != nil {
		return 0, time.Time{}, w.done("queue_stats", start, err)
	}
	return n, nsTime(d.FirstAt), w.done("queue_stats", start, nil)
}

// DeleteEventsBefore implements webhook.Store, a bounded batch per call.
func (w *WebhookStore) DeleteEventsBefore(ctx context.Context, t time.Time) (int64, error) {
	start := time.Now()
	cut := t.UnixNano()
	cur, err := w.events().Find(ctx, bson.D{{Key: "created_at", Value: bson.D{{Key: "$lt", Value: cut}}}},
		options.Find().SetProjection(bson.D{{Key: "_id", Value: 1}}).SetLimit(5000))
	if err != nil {
		return 0, w.done("sweep_events", start, err)
	}
	var docs []struct {
		ID string `bson:"_id"`
	}
	if err := cur.All(ctx, &docs); err != nil {
		return 0, w.done("sweep_events", start, err)
	}
	var n int64
	if len(docs) > 0 {
		ids := make([]string, len(docs))
		for i, d := range docs {
			ids[i] = d.ID
		}
		in := bson.D{{Key: "$in", Value: ids}}
		if _, err := w.attempts.DeleteMany(ctx, bson.D{{Key: "event_id", Value: in}}); err != nil {
			return 0, w.done("sweep_events", start, err)
		}
		res, err := w.events().DeleteMany(ctx, bson.D{{Key: "_id", Value: in}})
		if err != nil {
			return 0, w.done("sweep_events", start, err)
		}
		n = res.DeletedCount
	}
	before := bson.D{{Key: "at", Value: bson.D{{Key: "$lt", Value: cut}}}}
	if _, err := w.deliveries.DeleteMany(ctx, before); err != nil {
		return n, w.done("sweep_events", start, err)
	}
	_, err = w.leases.DeleteMany(ctx, before)
	return n, w.done("sweep_events", start, err)
}
