package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/paymon/paymon/internal/id"
)

// Options tunes token lifetimes.
type Options struct {
	AccessTTL  time.Duration // 15 minutes
	RefreshTTL time.Duration // 30 days
	Now        func() time.Time
	// Hashes bounds concurrent password hashing (nil: one slot per core,
	// DefaultHashWait).
	Hashes *HashLimiter
	Logger *slog.Logger
}

// Service issues and checks credentials.
type Service struct {
	store  Store
	secret []byte
	opt    Options
	// dummyHash makes a login for an unknown email cost as much as one for
	// a known email, so timing does not reveal which emails exist. Made on
	// first need: hashing costs tens of milliseconds at every start.
	dummyOnce sync.Once
	dummyHash string

	// verified remembers access tokens whose signature and claims were
	// checked, keyed by the exact token, until they expire: checking an
	// HS256 token and decoding its claims on every request was 4% of a
	// payment create's CPU. Only the expiry changes with time, and it is
	// checked on every use.
	verifiedMu sync.Mutex
	verified   map[string]Principal

	hashes *HashLimiter
	// rev holds recent revocations (revoke.go); bus spreads new ones.
	rev   revocations
	busMu sync.RWMutex
	bus   Bus
}

// maxVerified bounds the verified-token memory; when full it starts
// again empty (a clean, cheap bound: tokens are re-verified once).
const maxVerified = 4096

// jwtLeeway tolerates clock skew between instances on expiry.
const jwtLeeway = 5 * time.Second

// TokenPair is what the token endpoint returns.
type TokenPair struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int    `json:"expires_in"`
	RefreshToken string `json:"refresh_token,omitempty"`
}

// NewService builds a Service. jwtSecret may be empty: a random one is
// then generated once and kept in the store, shared by every instance.
func NewService(ctx context.Context, store Store, jwtSecret string, opt Options) (*Service, error) {
	if opt.AccessTTL == 0 {
		opt.AccessTTL = 15 * time.Minute
	}
	if opt.RefreshTTL == 0 {
		opt.RefreshTTL = 30 * 24 * time.Hour
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	secret := []byte(jwtSecret)
	if len(secret) == 0 {
		s, err := store.GetOrCreateSecret(ctx, "jwt_secret", randomBytes(32))
		if err != nil {
			return nil, fmt.Errorf("cannot load the JWT secret: %w", err)
		}
		secret = s
	}
	if len(secret) < 32 {
		return nil, errors.New("the JWT secret must be at least 32 bytes")
	}
	if opt.Hashes == nil {
		opt.Hashes = NewHashLimiter(0, 0)
	}
	return &Service{store: store, secret: secret, opt: opt, hashes: opt.Hashes}, nil
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic("crypto/rand failed: " + err.Error())
	}
	return b
}

func randomToken(n int) string { return base64.RawURLEncoding.EncodeToString(randomBytes(n)) }

func hashToken(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// NormalizeEmail lower-cases and trims an email, so logins are not case
// sensitive.
func NormalizeEmail(e string) string { return strings.ToLower(strings.TrimSpace(e)) }

// CreateUser adds a user with a hashed password.
func (s *Service) CreateUser(ctx context.Context, email, password string, role Role) (User, error) {
	email = NormalizeEmail(email)
	if !validEmail(email) {
		return User{}, fmt.Errorf("invalid email %q: want an address like name@example.com", email)
	}
	if len(password) < 8 {
		return User{}, errors.New("password must be at least 8 characters")
	}
	if !role.Valid() {
		return User{}, fmt.Errorf("invalid role %q", role)
	}
	h, err := s.hashPassword(ctx, password)
	if err != nil {
		return User{}, err
	}
	u := User{ID: id.New("usr"), Email: email, PasswordHash: h, Role: role, CreatedAt: s.opt.Now().UTC()}
	if err := s.store.CreateUser(ctx, u); err != nil {
		return User{}, fmt.Errorf("cannot create user %s: %w", email, err)
	}
	return u, nil
}

// EnsureAdmin creates the first admin when the store has no user. With an
// empty password one is generated; generated reports whether it was.
func (s *Service) EnsureAdmin(ctx context.Context, email, password string) (created bool, pw string, err error) {
	n, err := s.store.CountUsers(ctx)
	if err != nil {
		return false, "", fmt.Errorf("cannot count users: %w", err)
	}
	if n > 0 {
		return false, "", nil
	}
	if email == "" {
		email = "admin@paymon.local"
	}
	if password == "" {
		password = randomToken(12)
	}
	if _, err := s.CreateUser(ctx, email, password, RoleAdmin); err != nil {
		if errors.Is(err, ErrDuplicate) {
			return false, "", nil // another instance won the race
		}
		return false, "", err
	}
	return true, password, nil
}

// Login checks a password and returns a fresh token pair.
func (s *Service) Login(ctx context.Context, email, password string) (TokenPair, error) {
	u, err := s.store.GetUserByEmail(ctx, NormalizeEmail(email))
	if errors.Is(err, ErrNotFound) {
		// Made and checked within one hash slot: making it is a hash too.
		if err := s.hashes.Acquire(ctx); err != nil {
			return TokenPair{}, err
		}
		s.dummyOnce.Do(func() {
			s.dummyHash, _ = HashPassword(base64.RawURLEncoding.EncodeToString(randomBytes(16)))
		})
		CheckPassword(s.dummyHash, password)
		s.hashes.Release()
		return TokenPair{}, ErrInvalidCredentials
	}
	if err != nil {
		return TokenPair{}, err
	}
	ok, err := s.checkPassword(ctx, u.PasswordHash, password)
	if err != nil {
		return TokenPair{}, err
	}
	if !ok {
		return TokenPair{}, ErrInvalidCredentials
	}
	// Read again after the hash, which takes a while: a user disabled,
	// deleted or re-roled meanwhile must not get a token issued after
	// the revocation that was meant to end its access.
	u, err = s.store.GetUser(ctx, u.ID)
	if errors.Is(err, ErrNotFound) {
		return TokenPair{}, ErrInvalidCredentials
	}
	if err != nil {
		return TokenPair{}, err
	}
	// A disabled user's right password is refused like a wrong one,
	// after the same work, so it does not tell who is disabled.
	if u.Disabled {
		return TokenPair{}, ErrInvalidCredentials
	}
	return s.issue(ctx, u, id.New("fam"))
}

// Refresh rotates a refresh token: the old one is spent, a new pair comes
// back. Presenting a spent token revokes the whole family, because it
// means the token was stolen or replayed.
func (s *Service) Refresh(ctx context.Context, refreshToken string) (TokenPair, error) {
	rt, err := s.store.UseRefreshToken(ctx, hashToken(refreshToken))
	if errors.Is(err, ErrTokenReused) {
		_ = s.store.RevokeRefreshFamily(ctx, rt.Family)
		return TokenPair{}, ErrTokenReused
	}
	if errors.Is(err, ErrNotFound) {
		return TokenPair{}, ErrInvalidToken
	}
	if err != nil {
		return TokenPair{}, err
	}
	if rt.Revoked || !rt.ExpiresAt.After(s.opt.Now()) {
		return TokenPair{}, ErrInvalidToken
	}
	u, err := s.store.GetUser(ctx, rt.UserID)
	if errors.Is(err, ErrNotFound) {
		return TokenPair{}, ErrInvalidToken
	}
	if err != nil {
		return TokenPair{}, err
	}
	if u.Disabled {
		return TokenPair{}, ErrInvalidToken
	}
	return s.issue(ctx, u, rt.Family)
}

func (s *Service) issue(ctx context.Context, u User, family string) (TokenPair, error) {
	access, err := s.accessToken(Principal{ID: u.ID, Email: u.Email, Role: u.Role, Kind: "user"})
	if err != nil {
		return TokenPair{}, err
	}
	refresh := "pmr_" + randomToken(32)
	now := s.opt.Now().UTC()
	if err := s.store.CreateRefreshToken(ctx, RefreshToken{Hash: hashToken(refresh), Family: family, UserID: u.ID, ExpiresAt: now.Add(s.opt.RefreshTTL), CreatedAt: now}); err != nil {
		return TokenPair{}, fmt.Errorf("cannot store refresh token: %w", err)
	}
	return TokenPair{AccessToken: access, TokenType: "Bearer", ExpiresIn: int(s.opt.AccessTTL.Seconds()), RefreshToken: refresh}, nil
}

type claims struct {
	Email string `json:"email,omitempty"`
	Role  Role   `json:"role"`
	Kind  string `json:"kind"`
	// IssuedMS is the issue time in milliseconds: iat has whole seconds,
	// too coarse to tell a token issued just before a revocation from one
	// issued just after it (a user re-enabled and logging in again).
	IssuedMS int64 `json:"iat_ms,omitempty"`
	jwt.RegisteredClaims
}

// issuedAt is when the token was issued; for a token without iat_ms, the
// start of its iat second, so that a revocation in that second voids it.
func (c *claims) issuedAt() time.Time {
	if c.IssuedMS > 0 {
		return time.UnixMilli(c.IssuedMS)
	}
	if c.IssuedAt != nil {
		return c.IssuedAt.Time
	}
	return time.Time{}
}

const issuer = "paymon"

func (s *Service) accessToken(p Principal) (string, error) {
	now := s.opt.Now()
	c := claims{Email: p.Email, Role: p.Role, Kind: p.Kind, IssuedMS: now.UnixMilli(), RegisteredClaims: jwt.RegisteredClaims{
		Issuer: issuer, Subject: p.ID, IssuedAt: jwt.NewNumericDate(now),
		ExpiresAt: jwt.NewNumericDate(now.Add(s.opt.AccessTTL)), ID: randomToken(9),
	}}
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(s.secret)
	if err != nil {
		return "", fmt.Errorf("cannot sign token: %w", err)
	}
	return tok, nil
}

// ClientCredentials exchanges an API key (as client secret) for a short
// access token with the key's role, for services that speak OAuth2.
func (s *Service) ClientCredentials(ctx context.Context, clientID, clientSecret string) (TokenPair, error) {
	k, err := s.apiKey(ctx, clientSecret)
	if err != nil || (clientID != "" && clientID != k.ID) {
		return TokenPair{}, ErrInvalidCredentials
	}
	access, err := s.accessToken(Principal{ID: k.ID, Role: k.Role, Kind: "client"})
	if err != nil {
		return TokenPair{}, err
	}
	return TokenPair{AccessToken: access, TokenType: "Bearer", ExpiresIn: int(s.opt.AccessTTL.Seconds())}, nil
}

// APIKeyPrefix starts every API key, so they are recognisable in logs and
// secret scanners.
const APIKeyPrefix = "pmk_"

// Authenticate checks a bearer credential: a JWT access token or an API key.
func (s *Service) Authenticate(ctx context.Context, bearer string) (Principal, error) {
	now := s.opt.Now()
	if strings.HasPrefix(bearer, APIKeyPrefix) {
		// now is taken before the store is read, so a revocation that
		// lands during the read still ends a stream opened with the key.
		k, err := s.apiKey(ctx, bearer)
		if err != nil {
			return Principal{}, err
		}
		return Principal{ID: k.ID, Role: k.Role, Kind: "api_key", IssuedAt: now}, nil
	}
	s.verifiedMu.Lock()
	p, ok := s.verified[bearer]
	s.verifiedMu.Unlock()
	if ok && now.Before(p.Expires) {
		if s.rev.revoked(p.ID, p.IssuedAt) {
			s.verifiedMu.Lock()
			delete(s.verified, bearer)
			s.verifiedMu.Unlock()
			return Principal{}, ErrInvalidToken
		}
		return p, nil
	}
	var c claims
	_, err := jwt.ParseWithClaims(bearer, &c, func(*jwt.Token) (any, error) { return s.secret, nil },
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithIssuer(issuer), jwt.WithExpirationRequired(), jwt.WithTimeFunc(s.opt.Now),
		jwt.WithLeeway(jwtLeeway))
	if err != nil || !c.Role.Valid() || c.Subject == "" {
		return Principal{}, ErrInvalidToken
	}
	p = Principal{ID: c.Subject, Email: c.Email, Role: c.Role, Kind: c.Kind, Expires: c.ExpiresAt.Add(jwtLeeway), IssuedAt: c.issuedAt()}
	if s.rev.revoked(p.ID, p.IssuedAt) {
		return Principal{}, ErrInvalidToken
	}
	if c.NotBefore == nil || !c.NotBefore.After(now) {
		s.verifiedMu.Lock()
		if s.verified == nil || len(s.verified) >= maxVerified {
			s.verified = make(map[string]Principal)
		}
		s.verified[bearer] = p
		s.verifiedMu.Unlock()
	}
	return p, nil
}

func (s *Service) apiKey(ctx context.Context, secret string) (APIKey, error) {
	if !strings.HasPrefix(secret, APIKeyPrefix) {
		return APIKey{}, ErrInvalidToken
	}
	k, err := s.store.GetAPIKeyByHash(ctx, hashToken(secret))
	if errors.Is(err, ErrNotFound) {
		return APIKey{}, ErrInvalidToken
	}
	if err != nil {
		return APIKey{}, err
	}
	if !k.RevokedAt.IsZero() {
		return APIKey{}, ErrInvalidToken
	}
	return k, nil
}

// CreateAPIKey makes a key; the secret is returned once and only its hash
// is stored.
func (s *Service) CreateAPIKey(ctx context.Context, name string, role Role, createdBy string) (APIKey, string, error) {
	if name == "" || len(name) > 100 {
		return APIKey{}, "", errors.New("name must be 1 to 100 characters")
	}
	if !role.Valid() {
		return APIKey{}, "", fmt.Errorf("invalid role %q", role)
	}
	secret := APIKeyPrefix + randomToken(32)
	k := APIKey{ID: id.New("key"), Name: name, Prefix: secret[:len(APIKeyPrefix)+6], Hash: hashToken(secret), Role: role, CreatedBy: createdBy, CreatedAt: s.opt.Now().UTC()}
	if err := s.store.CreateAPIKey(ctx, k); err != nil {
		return APIKey{}, "", fmt.Errorf("cannot store API key: %w", err)
	}
	return k, secret, nil
}

// ListAPIKeys lists keys without secrets.
func (s *Service) ListAPIKeys(ctx context.Context) ([]APIKey, error) { return s.store.ListAPIKeys(ctx) }

// RevokeAPIKey stops a key from working, with every token obtained from
// it and every stream opened with it, on every instance.
func (s *Service) RevokeAPIKey(ctx context.Context, id string) error {
	return s.revokeAround(ctx, id, func() error { return s.store.RevokeAPIKey(ctx, id, s.opt.Now().UTC()) })
}

// Sweep deletes expired refresh tokens and revocations too old to matter.
func (s *Service) Sweep(ctx context.Context) (int64, error) {
	n, err := s.store.DeleteExpiredRefreshTokens(ctx, s.opt.Now())
	if err != nil {
		return n, err
	}
	if _, err := s.store.DeleteRevocationsBefore(ctx, s.opt.Now().Add(-s.revocationWindow())); err != nil {
		return n, fmt.Errorf("cannot sweep revocations: %w", err)
	}
	return n, nil
}
