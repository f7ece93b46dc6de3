package mongo

import (
	"context"
	"errors"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/paymon/paymon/internal/auth"
)

type userDoc struct {
	ID           string    `bson:"_id"`
	Email        string    `bson:"email"`
	PasswordHash string    `bson:"password_hash"`
	Role         string    `bson:"role"`
	Disabled     bool      `bson:"disabled,omitempty"`
	CreatedAt    time.Time `bson:"created_at"`
}

func (d userDoc) user() auth.User {
	return auth.User{ID: d.ID, Email: d.Email, PasswordHash: d.PasswordHash, Role: auth.Role(d.Role), Disabled: d.Disabled, CreatedAt: d.CreatedAt.UTC()}
}

// CreateUser implements auth.Store.
func (s *Store) CreateUser(ctx context.Context, u auth.User) error {
	start := time.Now()
	_, err := s.users.InsertOne(ctx, userDoc{ID: u.ID, Email: u.Email, PasswordHash: u.PasswordHash, Role: string(u.Role), Disabled: u.Disabled, CreatedAt: msTime(u.CreatedAt)})
	if isDuplicate(err) {
		err = auth.ErrDuplicate
	}
	return s.done("create_user", start, err)
}

func (s *Store) getUser(ctx context.Context, filter bson.D) (auth.User, error) {
	start := time.Now()
	var d userDoc
	err := s.users.FindOne(ctx, filter).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		err = auth.ErrNotFound
	}
	if err = s.done("get_user", start, err); err != nil {
		return auth.User{}, err
	}
	return d.user(), nil
}

// GetUser implements auth.Store.
func (s *Store) GetUser(ctx context.Context, id string) (auth.User, error) {
	return s.getUser(ctx, bson.D{{Key: "_id", Value: id}})
}

// GetUserByEmail implements auth.Store.
func (s *Store) GetUserByEmail(ctx context.Context, email string) (auth.User, error) {
	return s.getUser(ctx, bson.D{{Key: "email", Value: email}})
}

// CountUsers implements auth.Store.
func (s *Store) CountUsers(ctx context.Context) (int64, error) {
	start := time.Now()
	n, err := s.users.CountDocuments(ctx, bson.D{})
	return n, s.done("count_users", start, err)
}

type tokenDoc struct {
	Hash      string    `bson:"_id"`
	Family    string    `bson:"family"`
	UserID    string    `bson:"user_id"`
	Used      bool      `bson:"used"`
	Revoked   bool      `bson:"revoked"`
	ExpireAt  time.Time `bson:"expire_at"`
	CreatedAt time.Time `bson:"created_at"`
}

func (d tokenDoc) token() auth.RefreshToken {
	return auth.RefreshToken{Hash: d.Hash, Family: d.Family, UserID: d.UserID, Used: d.Used, Revoked: d.Revoked,
		ExpiresAt: d.ExpireAt.UTC(), CreatedAt: d.CreatedAt.UTC()}
}

// CreateRefreshToken implements auth.Store.
func (s *Store) CreateRefreshToken(ctx context.Context, t auth.RefreshToken) error {
	start := time.Now()
	_, err := s.refreshTokens.InsertOne(ctx, tokenDoc{Hash: t.Hash, Family: t.Family, UserID: t.UserID,
		ExpireAt: msTime(t.ExpiresAt), CreatedAt: msTime(t.CreatedAt)})
	return s.done("create_refresh_token", start, err)
}

// UseRefreshToken implements auth.Store. A token is spent by inserting a
// marker whose _id is the token's hash: inserts under a unique key are
// atomic on MongoDB and on FerretDB alike (FerretDB's conditional updates
// are not), so of two instances presenting one token exactly one wins.
func (s *Store) UseRefreshToken(ctx context.Context, hash string) (auth.RefreshToken, error) {
	start := time.Now()
	var d tokenDoc
	err := s.refreshTokens.FindOne(ctx, bson.D{{Key: "_id", Value: hash}}).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return auth.RefreshToken{}, s.done("use_refresh_token", start, auth.ErrNotFound)
	}
	if err != nil {
		return auth.RefreshToken{}, s.done("use_refresh_token", start, err)
	}
	_, err = s.tokenUses.InsertOne(ctx, bson.D{{Key: "_id", Value: hash}, {Key: "expire_at", Value: d.ExpireAt}})
	if isDuplicate(err) {
		d.Used = true
		return d.token(), s.done("use_refresh_token", start, auth.ErrTokenReused)
	}
	if err != nil {
		return auth.RefreshToken{}, s.done("use_refresh_token", start, err)
	}
	// The marker decides; the flag on the token is for people reading the
	// collection, so failing to set it does not undo the use.
	if _, err := s.refreshTokens.UpdateOne(ctx, bson.D{{Key: "_id", Value: hash}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "used", Value: true}}}}); err != nil {
		_ = s.done("mark_refresh_token_used", start, err)
	}
	return d.token(), s.done("use_refresh_token", start, nil)
}

// RevokeRefreshFamily implements auth.Store.
func (s *Store) RevokeRefreshFamily(ctx context.Context, family string) error {
	start := time.Now()
	_, err := s.refreshTokens.UpdateMany(ctx, bson.D{{Key: "family", Value: family}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "revoked", Value: true}}}})
	return s.done("revoke_refresh_family", start, err)
}

// DeleteExpiredRefreshTokens implements auth.Store (the sweeper).
func (s *Store) DeleteExpiredRefreshTokens(ctx context.Context, now time.Time) (int64, error) {
	start := time.Now()
	expired := bson.D{{Key: "expire_at", Value: bson.D{{Key: "$lte", Value: msTime(now)}}}}
	res, err := s.refreshTokens.DeleteMany(ctx, expired)
	if err != nil {
		return 0, s.done("sweep_refresh_tokens", start, err)
	}
	if _, err := s.tokenUses.DeleteMany(ctx, expired); err != nil {
		return 0, s.done("sweep_refresh_tokens", start, err)
	}
	return res.DeletedCount, s.done("sweep_refresh_tokens", start, nil)
}

type apiKeyDoc struct {
	ID        string     `bson:"_id"`
	Name      string     `bson:"name"`
	Prefix    string     `bson:"prefix"`
	Hash      string     `bson:"hash"`
	Role      string     `bson:"role"`
	CreatedBy string     `bson:"created_by"`
	CreatedAt time.Time  `bson:"created_at"`
	RevokedAt *time.Time `bson:"revoked_at,omitempty"`
}

func (d apiKeyDoc) key() auth.APIKey {
	k := auth.APIKey{ID: d.ID, Name: d.Name, Prefix: d.Prefix, Hash: d.Hash, Role: auth.Role(d.Role), CreatedBy: d.CreatedBy, CreatedAt: d.CreatedAt.UTC()}
	if d.RevokedAt != nil {
		k.RevokedAt = d.RevokedAt.UTC()
	}
	return k
}

// CreateAPIKey implements auth.Store.
func (s *Store) CreateAPIKey(ctx context.Context, k auth.APIKey) error {
	start := time.Now()
	_, err := s.apiKeys.InsertOne(ctx, apiKeyDoc{ID: k.ID, Name: k.Name, Prefix: k.Prefix, Hash: k.Hash, Role: string(k.Role),
		CreatedBy: k.CreatedBy, CreatedAt: msTime(k.CreatedAt)})
	if isDuplicate(err) {
		err = auth.ErrDuplicate
	}
	return s.done("create_api_key", start, err)
}

// GetAPIKeyByHash implements auth.Store.
func (s *Store) GetAPIKeyByHash(ctx context.Context, hash string) (auth.APIKey, error) {
	start := time.Now()
	var d apiKeyDoc
	err := s.apiKeys.FindOne(ctx, bson.D{{Key: "hash", Value: hash}}).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		err = auth.ErrNotFound
	}
	if err = s.done("get_api_key", start, err); err != nil {
		return auth.APIKey{}, err
	}
	return d.key(), nil
}

// ListAPIKeys implements auth.Store.
func (s *Store) ListAPIKeys(ctx context.Context) ([]auth.APIKey, error) {
	start := time.Now()
	cur, err := s.apiKeys.Find(ctx, bson.D{}, options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}))
	if err != nil {
		return nil, s.done("list_api_keys", start, err)
	}
	var docs []apiKeyDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, s.done("list_api_keys", start, err)
	}
	out := make([]auth.APIKey, 0, len(docs))
	for _, d := range docs {
		out = append(out, d.key())
	}
	return out, s.done("list_api_keys", start, nil)
}

// RevokeAPIKey implements auth.Store.
func (s *Store) RevokeAPIKey(ctx context.Context, id string, at time.Time) error {
	defer s.locks.lock("api_keys", id)()
	start := time.Now()
	res, err := s.apiKeys.UpdateOne(ctx,
		bson.D{{Key: "_id", Value: id}, {Key: "revoked_at", Value: bson.D{{Key: "$exists", Value: false}}}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "revoked_at", Value: msTime(at)}}}})
	if err == nil && res.MatchedCount == 0 {
		err = auth.ErrNotFound
	}
	return s.done("revoke_api_key", start, err)
}

// GetOrCreateSecret implements auth.Store: the first insert wins (the name
// is the document id) and everyone reads the winner's value.
func (s *Store) GetOrCreateSecret(ctx context.Context, name string, gen []byte) ([]byte, error) {
	start := time.Now()
	_, err := s.settings.InsertOne(ctx, bson.D{{Key: "_id", Value: name}, {Key: "value", Value: gen}})
	if err != nil && !isDuplicate(err) {
		return nil, s.done("get_or_create_secret", start, err)
	}
	var d struct {
		Value []byte `bson:"value"`
	}
	err = s.settings.FindOne(ctx, bson.D{{Key: "_id", Value: name}}).Decode(&d)
	return d.Value, s.done("get_or_create_secret", start, err)
}
