package mongo

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/paymon/paymon/internal/payment"
)

// paymentDoc keeps the fields lists filter and sort on at the top level
// (indexed), and the whole payment as its stored JSON in doc, so that every
// field round-trips exactly (nanosecond times, metadata, events).
type paymentDoc struct {
	ID                string `bson:"_id"`
	Status            string `bson:"status"`
	Provider          string `bson:"provider"`
	Currency          string `bson:"currency"`
	ProviderPaymentID string `bson:"provider_payment_id,omitempty"`
	PIDKey            string `bson:"pid_key"`
	CreatedAt         int64  `bson:"created_at"` // Unix nanoseconds: exact range filters
	Version           int64  `bson:"version"`
	Doc               string `bson:"doc"`
	// The webhook events of changes not yet copied out (outbox.go).
	Outbox        []outboxEvent `bson:"outbox,omitempty"`
	OutboxPending bool          `bson:"outbox_pending,omitempty"`
}

func pidKey(p *payment.Payment) string {
	if p.ProviderPaymentID == "" {
		return "none:" + p.ID
	}
	return p.Provider + ":" + p.ProviderPaymentID
}

func toDoc(p *payment.Payment) (paymentDoc, error) {
	b, err := payment.MarshalStored(p)
	if err != nil {
		return paymentDoc{}, fmt.Errorf("cannot encode payment: %w", err)
	}
	return paymentDoc{
		ID: p.ID, Status: string(p.Status), Provider: p.Provider, Currency: p.Currency,
		ProviderPaymentID: p.ProviderPaymentID, PIDKey: pidKey(p), CreatedAt: p.CreatedAt.UnixNano(),
		Version: p.Version, Doc: string(b),
	}, nil
}

// CreatePayment implements payment.Store. Without transactions the claim
// and the payment are two writes: the claim first (the unique key settles
// races between instances), then the payment; if the payment is refused the
// claim is released again. An instance dying between the two leaves a
// claim without a payment, which the lease lets the client's retry resume
// with the same payment id.
func (s *Store) CreatePayment(ctx context.Context, p *payment.Payment, claim *payment.IdempotencyRecord) (*payment.IdempotencyRecord, error) {
	if claim != nil {
		held, err := s.ClaimIdempotency(ctx, *claim)
		if err != nil || held != nil {
			return held, err
		}
	}
	start := time.Now()
	p.Version = 1
	d, err := toDoc(p)
	ev := outboxOf(p)
	if ev != nil {
		d.Outbox, d.OutboxPending = []outboxEvent{*ev}, true
	}
	if err == nil {
		_, err = s.payments.InsertOne(ctx, d)
		if isDuplicate(err) {
			err = payment.ErrDuplicate
		}
	}
	if err != nil && claim != nil {
		// Release with a fresh context: the caller's may be what failed.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		_, _ = s.idempotency.DeleteOne(rctx, bson.D{{Key: "_id", Value: claim.Key}, {Key: "payment_id", Value: claim.PaymentID}, {Key: "status", Value: 0}})
		cancel()
	}
	if err = s.done("create_payment", start, err); err != nil {
		return nil, err
	}
	s.flush(ctx, p.ID, ev)
	return nil, nil
}

// flush copies ev out of payment pid's outbox; on failure the sweep does.
func (s *Store) flush(ctx context.Context, pid string, ev *outboxEvent) {
	if ev == nil {
		return
	}
	start := time.Now()
	_ = s.done("flush_outbox", start, s.flushOutbox(context.WithoutCancel(ctx), pid, []outboxEvent{*ev}))
}

// GetPayment implements payment.Store.
func (s *Store) GetPayment(ctx context.Context, id string) (*payment.Payment, error) {
	return s.getPayment(ctx, "get_payment", bson.D{{Key: "_id", Value: id}})
}

// GetPaymentByProviderID implements payment.Store.
func (s *Store) GetPaymentByProviderID(ctx context.Context, provider, ppid string) (*payment.Payment, error) {
	if ppid == "" {
		return nil, payment.ErrNotFound
	}
	return s.getPayment(ctx, "get_payment_by_provider_id", bson.D{{Key: "pid_key", Value: provider + ":" + ppid}})
}

func (s *Store) getPayment(ctx context.Context, op string, filter bson.D) (*payment.Payment, error) {
	start := time.Now()
	var d paymentDoc
	err := s.payments.FindOne(ctx, filter, options.FindOne().SetProjection(bson.D{{Key: "doc", Value: 1}})).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		err = payment.ErrNotFound
	}
	if err = s.done(op, start, err); err != nil {
		return nil, err
	}
	return payment.UnmarshalStored([]byte(d.Doc))
}

// UpdatePayment implements payment.Store: the update applies only while the
// stored version is expectVersion, so of two instances updating the same
// payment one wins and the other gets ErrVersionConflict. The extra writes
// follow the payment's (no transactions); if one of them fails the payment
// stays updated, p.Version says so, and the error is returned.
func (s *Store) UpdatePayment(ctx context.Context, p *payment.Payment, expect int64, extra payment.Extra) error {
	start := time.Now()
	next := *p
	next.Version = expect + 1
	d, err := toDoc(&next)
	if err != nil {
		return err
	}
	set := bson.D{
		{Key: "status", Value: d.Status},
		{Key: "provider_payment_id", Value: d.ProviderPaymentID},
		{Key: "pid_key", Value: d.PIDKey},
		{Key: "version", Value: d.Version},
		{Key: "doc", Value: d.Doc},
	}
	update := bson.D{{Key: "$set", Value: set}}
	ev := outboxOf(&next)
	if ev != nil {
		update[0].Value = append(set, bson.E{Key: "outbox_pending", Value: true})
		update = append(update, bson.E{Key: "$push", Value: bson.D{{Key: "outbox", Value: *ev}}})
	}
	unlock := s.locks.lock("payments", p.ID)
	res, err := s.payments.UpdateOne(ctx,
		bson.D{{Key: "_id", Value: p.ID}, {Key: "version", Value: expect}}, update)
	switch {
	case isDuplicate(err):
		err = payment.ErrDuplicate
	case err == nil && res.MatchedCount == 0:
		n, cerr := s.payments.CountDocuments(ctx, bson.D{{Key: "_id", Value: p.ID}})
		switch {
		case cerr != nil:
			err = cerr
		case n == 0:
			err = payment.ErrNotFound
		default:
			err = payment.ErrVersionConflict
		}
	}
	unlock()
	if err = s.done("update_payment", start, err); err != nil {
		return err
	}
	p.Version = next.Version
	s.flush(ctx, p.ID, ev)
	if len(extra.Stats) > 0 {
		if err := s.AddPaymentStats(ctx, extra.Stats); err != nil {
			return err
		}
	}
	if c := extra.Complete; c != nil {
		if err := s.CompleteIdempotency(ctx, c.Key, c.Status, c.Body); err != nil {
			return err
		}
	}
	return nil
}

// ListPayments implements payment.Store.
func (s *Store) ListPayments(ctx context.Context, f payment.ListFilter) ([]*payment.Payment, bool, error) {
	filter := bson.D{}
	if f.Status != "" {
		filter = append(filter, bson.E{Key: "status", Value: string(f.Status)})
	}
	if f.Provider != "" {
		filter = append(filter, bson.E{Key: "provider", Value: f.Provider})
	}
	if f.Currency != "" {
		filter = append(filter, bson.E{Key: "currency", Value: f.Currency})
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
	if f.StartingAfter != "" {
		filter = append(filter, bson.E{Key: "_id", Value: bson.D{{Key: "$lt", Value: f.StartingAfter}}})
	}
	opts := options.Find().SetProjection(bson.D{{Key: "doc", Value: 1}}).
		SetSort(bson.D{{Key: "_id", Value: -1}}).SetLimit(int64(f.Limit) + 1)
	out, err := s.findPayments(ctx, "list_payments", filter, opts)
	if err != nil {
		return nil, false, err
	}
	hasMore := len(out) > f.Limit
	if hasMore {
		out = out[:f.Limit]
	}
	return out, hasMore, nil
}

// ListPending implements payment.Store.
func (s *Store) ListPending(ctx context.Context, olderThan time.Time, limit int) ([]*payment.Payment, error) {
	filter := bson.D{
		{Key: "status", Value: string(payment.StatusPending)},
		{Key: "created_at", Value: bson.D{{Key: "$lt", Value: olderThan.UnixNano()}}},
	}
	opts := options.Find().SetProjection(bson.D{{Key: "doc", Value: 1}}).
		SetSort(bson.D{{Key: "created_at", Value: 1}, {Key: "_id", Value: 1}}).SetLimit(int64(limit))
	return s.findPayments(ctx, "list_pending", filter, opts)
}

func (s *Store) findPayments(ctx context.Context, op string, filter bson.D, opts *options.FindOptionsBuilder) ([]*payment.Payment, error) {
	start := time.Now()
	cur, err := s.payments.Find(ctx, filter, opts)
	if err != nil {
		return nil, s.done(op, start, err)
	}
	var docs []paymentDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, s.done(op, start, err)
	}
	out := make([]*payment.Payment, 0, len(docs))
	for _, d := range docs {
		p, err := payment.UnmarshalStored([]byte(d.Doc))
		if err != nil {
			return nil, fmt.Errorf("cannot decode stored payment %s: %w", d.ID, err)
		}
		out = append(out, p)
	}
	return out, s.done(op, start, nil)
}

type idemDoc struct {
	Key         string    `bson:"_id"`
	RequestHash string    `bson:"request_hash"`
	PaymentID   string    `bson:"payment_id"`
	Status      int       `bson:"status"`
	Body        []byte    `bson:"body"`
	LockedUntil time.Time `bson:"locked_until"`
	CreatedAt   time.Time `bson:"created_at"`
	ExpireAt    time.Time `bson:"expire_at"`
}

func (d idemDoc) record() *payment.IdempotencyRecord {
	return &payment.IdempotencyRecord{
		Key: d.Key, RequestHash: d.RequestHash, PaymentID: d.PaymentID, Status: d.Status, Body: d.Body,
		LockedUntil: d.LockedUntil.UTC(), CreatedAt: d.CreatedAt.UTC(), ExpiresAt: d.ExpireAt.UTC(),
	}
}

// ClaimIdempotency implements payment.Store: the key is the document id,
// so of concurrent inserts exactly one succeeds, on any instance.
func (s *Store) ClaimIdempotency(ctx context.Context, rec payment.IdempotencyRecord) (*payment.IdempotencyRecord, error) {
	start := time.Now()
	for attempt := 0; ; attempt++ {
		_, err := s.idempotency.InsertOne(ctx, idemDoc{
			Key: rec.Key, RequestHash: rec.RequestHash, PaymentID: rec.PaymentID, Body: []byte{},
			LockedUntil: msTime(rec.LockedUntil), CreatedAt: msTime(rec.CreatedAt), ExpireAt: msTime(rec.ExpiresAt),
		})
		if err == nil {
			return nil, s.done("claim_idempotency", start, nil)
		}
		if !isDuplicate(err) {
			return nil, s.done("claim_idempotency", start, err)
		}
		var d idemDoc
		err = s.idempotency.FindOne(ctx, bson.D{{Key: "_id", Value: rec.Key}}).Decode(&d)
		if errors.Is(err, mongo.ErrNoDocuments) && attempt < 5 {
			continue // deleted between our insert and read: claim again
		}
		if err != nil {
			return nil, s.done("claim_idempotency", start, err)
		}
		if len(d.Body) == 0 {
			d.Body = nil
		}
		return d.record(), s.done("claim_idempotency", start, nil)
	}
}

// TakeOverIdempotency implements payment.Store.
func (s *Store) TakeOverIdempotency(ctx context.Context, key string, prev, next time.Time) (bool, error) {
	defer s.locks.lock("idempotency", key)()
	start := time.Now()
	res, err := s.idempotency.UpdateOne(ctx,
		bson.D{{Key: "_id", Value: key}, {Key: "status", Value: 0}, {Key: "locked_until", Value: msTime(prev)}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "locked_until", Value: msTime(next)}}}})
	if err != nil {
		return false, s.done("takeover_idempotency", start, err)
	}
	return res.ModifiedCount == 1, s.done("takeover_idempotency", start, nil)
}

// CompleteIdempotency implements payment.Store.
func (s *Store) CompleteIdempotency(ctx context.Context, key string, status int, body []byte) error {
	start := time.Now()
	if body == nil {
		body = []byte{}
	}
	_, err := s.idempotency.UpdateOne(ctx, bson.D{{Key: "_id", Value: key}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "status", Value: status}, {Key: "body", Value: body}}}})
	return s.done("complete_idempotency", start, err)
}

// DeleteIdempotency implements payment.Store.
func (s *Store) DeleteIdempotency(ctx context.Context, key string) error {
	start := time.Now()
	_, err := s.idempotency.DeleteOne(ctx, bson.D{{Key: "_id", Value: key}})
	return s.done("delete_idempotency", start, err)
}

// DeleteExpiredIdempotency implements payment.Store; it is the sweeper
// that stands in for a TTL index.
func (s *Store) DeleteExpiredIdempotency(ctx context.Context, now time.Time) (int64, error) {
	start := time.Now()
	res, err := s.idempotency.DeleteMany(ctx, bson.D{{Key: "expire_at", Value: bson.D{{Key: "$lte", Value: msTime(now)}}}})
	if err != nil {
		return 0, s.done("sweep_idempotency", start, err)
	}
	return res.DeletedCount, s.done("sweep_idempotency", start, nil)
}

// RecordWebhookEvent implements payment.Store.
func (s *Store) RecordWebhookEvent(ctx context.Context, provider, eventID string, at time.Time) (bool, error) {
	start := time.Now()
	_, err := s.webhooks.InsertOne(ctx, bson.D{
		{Key: "_id", Value: provider + ":" + eventID},
		{Key: "provider", Value: provider},
		{Key: "event_id", Value: eventID},
		{Key: "received_at", Value: msTime(at)},
	})
	if isDuplicate(err) {
		return false, s.done("record_webhook_event", start, nil)
	}
	return err == nil, s.done("record_webhook_event", start, err)
}

type statDoc struct {
	Bucket   time.Time `bson:"bucket"`
	Kind     string    `bson:"kind"`
	Currency string    `bson:"currency"`
	Count    int64     `bson:"count"`
	Amount   int64     `bson:"amount"`
}

// AddPaymentStats implements payment.Store with one $inc upsert per cell.
func (s *Store) AddPaymentStats(ctx context.Context, incs []payment.StatIncrement) error {
	start := time.Now()
	for _, in := range incs {
		b := msTime(in.Bucket)
		id := fmt.Sprintf("%d:%s:%s", b.UnixMilli(), in.Kind, in.Currency)
		update := bson.D{
			{Key: "$inc", Value: bson.D{{Key: "count", Value: in.Count}, {Key: "amount", Value: in.Amount}}},
			{Key: "$setOnInsert", Value: bson.D{{Key: "bucket", Value: b}, {Key: "kind", Value: in.Kind}, {Key: "currency", Value: in.Currency}}},
		}
		// Two instances upserting a new cell at once: one inserts, the
		// other may get a duplicate key error; its retry then updates.
		var err error
		unlock := s.locks.lock("payment_stats", id)
		for range 5 {
			_, err = s.paymentStats.UpdateOne(ctx, bson.D{{Key: "_id", Value: id}}, update, options.UpdateOne().SetUpsert(true))
			if !isDuplicate(err) {
				break
			}
		}
		unlock()
		if err != nil {
			return s.done("add_payment_stats", start, err)
		}
	}
	return s.done("add_payment_stats", start, nil)
}

// PaymentStats implements payment.Store.
func (s *Store) PaymentStats(ctx context.Context, from, to time.Time) ([]payment.StatIncrement, error) {
	start := time.Now()
	cur, err := s.paymentStats.Find(ctx,
		bson.D{{Key: "bucket", Value: bson.D{{Key: "$gte", Value: msTime(from)}, {Key: "$lt", Value: msTime(to)}}}},
		options.Find().SetSort(bson.D{{Key: "bucket", Value: 1}, {Key: "kind", Value: 1}, {Key: "currency", Value: 1}}))
	if err != nil {
		return nil, s.done("payment_stats", start, err)
	}
	var docs []statDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, s.done("payment_stats", start, err)
	}
	var out []payment.StatIncrement
	for _, d := range docs {
		out = append(out, payment.StatIncrement{Bucket: d.Bucket.UTC(), Kind: d.Kind, Currency: d.Currency, Count: d.Count, Amount: d.Amount})
	}
	return out, s.done("payment_stats", start, nil)
}
