// Package mongo is the production store: payments, identities, logs and alerts in
// MongoDB, shared by every Paymon instance. It uses only what both MongoDB
// and FerretDB v1 (SQLite handler) support — no transactions, no change
// streams, no TTL indexes, no $dateTrunc, one accumulator per $group — so
// the same code runs in tests on FerretDB and in production on a replica
// set. Races between instances are settled by unique indexes and
// conditional updates; expired entries are removed by the sweeps the app
// already runs (DeleteExpired…), on fields called expire_at.
package mongo

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"go.mongodb.org/mongo-driver/v2/mongo/readpref"
	"go.mongodb.org/mongo-driver/v2/mongo/writeconcern"

	"github.com/paymon/paymon/internal/auth"
	"github.com/paymon/paymon/internal/dependency"
	"github.com/paymon/paymon/internal/metrics"
	"github.com/paymon/paymon/internal/payment"
)

// Store implements payment.Store and auth.Store.
type Store struct {
	client *mongo.Client
	db     *mongo.Database

	payments, idempotency, webhooks, paymentStats *mongo.Collection
	users, refreshTokens, apiKeys, settings       *mongo.Collection
	tokenUses                                     *mongo.Collection // one marker per spent refresh token

	locks *keyLocks
}

// serverSelectionTimeout bounds how long a call waits for an unreachable
// server before it fails (and the request gets a 503). The URI's
// serverSelectionTimeoutMS overrides it.
const serverSelectionTimeout = 3 * time.Second

// Open connects to uri, uses database name and creates the indexes. Writes
// are acknowledged by a majority of the replica set and journaled
// (w:majority, j:true), so a nil error means the write survives a failover.
func Open(ctx context.Context, uri, name string) (*Store, error) {
	opts := options.Client().
		SetServerSelectionTimeout(serverSelectionTimeout).
		SetConnectTimeout(5 * time.Second).
		SetAppName("paymon").
		ApplyURI(uri)
	client, err := mongo.Connect(opts)
	if err != nil {
		return nil, fmt.Errorf("cannot configure MongoDB client: %w", err)
	}
	journal := true
	db := client.Database(name, options.Database().SetWriteConcern(&writeconcern.WriteConcern{W: writeconcern.WCMajority, Journal: &journal}))
	s := &Store{
		client:        client,
		db:            db,
		payments:      db.Collection("payments"),
		idempotency:   db.Collection("idempotency"),
		webhooks:      db.Collection("webhook_events"),
		paymentStats:  db.Collection("payment_stats"),
		users:         db.Collection("users"),
		refreshTokens: db.Collection("refresh_tokens"),
		tokenUses:     db.Collection("refresh_token_uses"),
		apiKeys:       db.Collection("api_keys"),
		settings:      db.Collection("settings"),
		locks:         newKeyLocks(),
	}
	if err := s.createIndexes(ctx); err != nil {
		_ = client.Disconnect(context.Background())
		return nil, err
	}
	return s, nil
}

type index struct {
	coll   *mongo.Collection
	name   string
	keys   bson.D
	unique bool
}

func (s *Store) createIndexes(ctx context.Context) error {
	// The list orders are {field, _id}: ids sort by creation time, so a
	// filtered page is one index range scan, as in the SQLite store.
	indexes := []index{
		{s.payments, "status_id", asc("status", "_id"), false},
		{s.payments, "provider_id", asc("provider", "_id"), false},
		{s.payments, "currency_id", asc("currency", "_id"), false},
		{s.payments, "created_at", asc("created_at"), false},
		{s.payments, "status_created_at", asc("status", "created_at"), false},
		// pid_key is provider+provider payment id, or a per-payment
		// placeholder while the provider id is unknown: a plain unique index
		// then does what a partial one would (FerretDB v1 has no partial
		// indexes).
		{s.payments, "pid_key", asc("pid_key"), true},
		{s.idempotency, "expire_at", asc("expire_at"), false},
		{s.paymentStats, "bucket", asc("bucket"), false},
		{s.users, "email", asc("email"), true},
		{s.refreshTokens, "family", asc("family"), false},
		{s.refreshTokens, "expire_at", asc("expire_at"), false},
		{s.tokenUses, "expire_at", asc("expire_at"), false},
		{s.apiKeys, "hash", asc("hash"), true},
	}
	return ensureIndexes(ctx, indexes)
}

// asc is an ascending index on fields, in order.
func asc(fields ...string) bson.D {
	d := bson.D{}
	for _, f := range fields {
		d = append(d, bson.E{Key: f, Value: 1})
	}
	return d
}

// ensureIndexes creates the indexes a store needs at start; creating an
// existing index is a no-op, so every instance runs it.
func ensureIndexes(ctx context.Context, indexes []index) error {
	for _, ix := range indexes {
		_, err := ix.coll.Indexes().CreateOne(ctx, mongo.IndexModel{
			Keys:    ix.keys,
			Options: options.Index().SetName(ix.name).SetUnique(ix.unique),
		})
		if err != nil {
			return unavailable(fmt.Errorf("cannot create index %s.%s: %w", ix.coll.Name(), ix.name, err))
		}
	}
	return nil
}

// Close disconnects from the server.
func (s *Store) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return s.client.Disconnect(ctx)
}

// Ping checks that the primary answers, for /readyz.
func (s *Store) Ping(ctx context.Context) error {
	start := time.Now()
	return s.done("ping", start, s.client.Ping(ctx, readpref.Primary()))
}

// Database returns the database, for other domains' stores built on the
// same connection.
func (s *Store) Database() *mongo.Database { return s.db }

func unavailable(err error) error { return dependency.Unavailable("mongodb", err) }

func isDomainErr(err error) bool {
	return errors.Is(err, payment.ErrNotFound) || errors.Is(err, payment.ErrDuplicate) ||
		errors.Is(err, payment.ErrVersionConflict) || errors.Is(err, auth.ErrNotFound) ||
		errors.Is(err, auth.ErrDuplicate) || errors.Is(err, auth.ErrTokenReused)
}

// done records the call and classifies its error: domain errors pass
// through, anything else from the driver means the database could not do
// its job and becomes dependency.Unavailable (503 with Retry-After).
func (s *Store) done(op string, start time.Time, err error) error {
	metrics.StoreOperationDuration.WithLabelValues("mongodb", op).Observe(time.Since(start).Seconds())
	if err == nil || isDomainErr(err) {
		return err
	}
	metrics.StoreErrors.WithLabelValues("mongodb", op).Inc()
	// The caller gave up: not the database's fault. A deadline, though, is
	// most often the server-selection timeout of an unreachable server.
	if errors.Is(err, context.Canceled) {
		return err
	}
	return unavailable(fmt.Errorf("cannot %s: %w", op, err))
}

// msTime converts to BSON's millisecond precision so values read back compare
// equal to what was written.
func msTime(t time.Time) time.Time { return t.Truncate(time.Millisecond).UTC() }
