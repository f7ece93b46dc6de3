package mongo

import (
	"context"
	"errors"
	"strconv"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/paymon/paymon/internal/auth"
)

// revocations holds one document per revocation (RevokeSubject). Few and
// short-lived (swept after an access token's lifetime): no index beyond
// _id.
func (s *Store) revocations() *mongo.Collection { return s.db.Collection("auth_revocations") }

// ListUsers implements auth.Store.
func (s *Store) ListUsers(ctx context.Context) ([]auth.User, error) {
	start := time.Now()
	cur, err := s.users.Find(ctx, bson.D{}, options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}))
	if err != nil {
		return nil, s.done("list_users", start, err)
	}
	var docs []userDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, s.done("list_users", start, err)
	}
	out := make([]auth.User, 0, len(docs))
	for _, d := range docs {
		out = append(out, d.user())
	}
	return out, s.done("list_users", start, nil)
}

// UpdateUser implements auth.Store.
func (s *Store) UpdateUser(ctx context.Context, id string, role auth.Role, disabled bool) error {
	start := time.Now()
	res, err := s.users.UpdateOne(ctx, bson.D{{Key: "_id", Value: id}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "role", Value: string(role)}, {Key: "disabled", Value: disabled}}}})
	if err == nil && res.MatchedCount == 0 {
		err = auth.ErrNotFound
	}
	return s.done("update_user", start, err)
}

// DeleteUser implements auth.Store.
func (s *Store) DeleteUser(ctx context.Context, id string) error {
	start := time.Now()
	res, err := s.users.DeleteOne(ctx, bson.D{{Key: "_id", Value: id}})
	if err == nil && res.DeletedCount == 0 {
		err = auth.ErrNotFound
	}
	if err != nil {
		return s.done("delete_user", start, err)
	}
	_, err = s.refreshTokens.DeleteMany(ctx, bson.D{{Key: "user_id", Value: id}})
	return s.done("delete_user", start, err)
}

// RevokeUserRefreshTokens implements auth.Store.
func (s *Store) RevokeUserRefreshTokens(ctx context.Context, userID string) error {
	start := time.Now()
	_, err := s.refreshTokens.UpdateMany(ctx, bson.D{{Key: "user_id", Value: userID}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "revoked", Value: true}}}})
	return s.done("revoke_user_refresh_tokens", start, err)
}

// RevokeSubject implements auth.Store with one document per revocation,
// inserted, never updated: FerretDB's conditional updates ($max in an
// upsert) lose concurrent writes, inserts under a unique _id do not.
// Readers take the latest per subject.
func (s *Store) RevokeSubject(ctx context.Context, subject string, at time.Time) error {
	start := time.Now()
	at = msTime(at)
	_, err := s.revocations().InsertOne(ctx, bson.D{
		{Key: "_id", Value: subject + "@" + strconv.FormatInt(at.UnixMilli(), 10)},
		{Key: "subject", Value: subject}, {Key: "at", Value: at}})
	if isDuplicate(err) {
		err = nil // the same revocation, recorded already
	}
	return s.done("revoke_subject", start, err)
}

type revocationDoc struct {
	Subject string    `bson:"subject"`
	At      time.Time `bson:"at"`
}

// RevocationsSince implements auth.Store.
func (s *Store) RevocationsSince(ctx context.Context, since time.Time) ([]auth.Revocation, error) {
	start := time.Now()
	cur, err := s.revocations().Find(ctx, bson.D{{Key: "at", Value: bson.D{{Key: "$gt", Value: msTime(since)}}}})
	if err != nil {
		return nil, s.done("list_revocations", start, err)
	}
	var docs []revocationDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, s.done("list_revocations", start, err)
	}
	out := make([]auth.Revocation, 0, len(docs))
	for _, d := range docs {
		out = append(out, auth.Revocation{Subject: d.Subject, At: d.At.UTC()})
	}
	return out, s.done("list_revocations", start, nil)
}

// DeleteRevocationsBefore implements auth.Store.
func (s *Store) DeleteRevocationsBefore(ctx context.Context, before time.Time) (int64, error) {
	start := time.Now()
	res, err := s.revocations().DeleteMany(ctx, bson.D{{Key: "at", Value: bson.D{{Key: "$lt", Value: msTime(before)}}}})
	if errors.Is(err, mongo.ErrNoDocuments) {
		err = nil
	}
	if err != nil {
		return 0, s.done("sweep_revocations", start, err)
	}
	return res.DeletedCount, s.done("sweep_revocations", start, nil)
}
