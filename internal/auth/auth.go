// Package auth owns identities: users with argon2id password hashes, JWT
// access tokens, rotating refresh tokens and API keys for log shippers. It
// knows nothing of HTTP; the httpapi package adapts it.
package auth

import (
	"context"
	"errors"
	"time"
)

// Role is what a principal may do.
type Role string

const (
	RoleAdmin    Role = "admin"    // everything, including users and API keys
	RoleOperator Role = "operator" // payments (create, refund, cancel), logs, alerts
	RoleViewer   Role = "viewer"   // read only
	RoleIngest   Role = "ingest"   // write logs only (log shippers)
)

// Valid reports whether r is a known role.
func (r Role) Valid() bool {
	switch r {
	case RoleAdmin, RoleOperator, RoleViewer, RoleIngest:
		return true
	}
	return false
}

// Permission is one thing a route needs.
type Permission string

const (
	PaymentsRead  Permission = "payments:read"
	PaymentsWrite Permission = "payments:write"
	LogsRead      Permission = "logs:read"
	LogsWrite     Permission = "logs:write"
	AlertsRead    Permission = "alerts:read"
	AdminAll      Permission = "admin"
	// WebhooksOperate reads webhook deliveries and resends events;
	// managing endpoints is AdminAll.
	WebhooksOperate Permission = "webhooks:operate"
)

var grants = map[Role][]Permission{
	RoleAdmin:    {PaymentsRead, PaymentsWrite, LogsRead, LogsWrite, AlertsRead, AdminAll, WebhooksOperate},
	RoleOperator: {PaymentsRead, PaymentsWrite, LogsRead, LogsWrite, AlertsRead, WebhooksOperate},
	RoleViewer:   {PaymentsRead, LogsRead, AlertsRead},
	RoleIngest:   {LogsWrite},
}

// Can reports whether role r holds permission p.
func (r Role) Can(p Permission) bool {
	for _, g := range grants[r] {
		if g == p {
			return true
		}
	}
	return false
}

// Principal is who is calling.
type Principal struct {
	ID    string // user id or API key id
	Email string // empty for API keys
	Role  Role
	Kind  string // "user", "api_key" or "client"
	// Expires is when the credential stops being accepted (an access
	// token's expiry and its leeway); zero for API keys, which last until
	// revoked. Long-lived connections (streams) end then.
	Expires time.Time
	// IssuedAt is when the credential was obtained (an access token's
	// issue time; for an API key, the moment it was checked): a
	// revocation of ID at or after it ends the credential.
	IssuedAt time.Time
}

// User is a person who logs in.
type User struct {
	ID           string
	Email        string
	PasswordHash string
	Role         Role
	// Disabled users cannot log in or refresh; their tokens are revoked.
	Disabled  bool
	CreatedAt time.Time
}

// RefreshToken is stored by hash; a family is the chain of rotations from
// one login, revoked whole when a used token is presented again.
type RefreshToken struct {
	Hash      string
	Family    string
	UserID    string
	Used      bool
	Revoked   bool
	ExpiresAt time.Time
	CreatedAt time.Time
}

// APIKey is a long-lived credential for machines, stored by hash.
type APIKey struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Prefix    string    `json:"prefix"`
	Hash      string    `json:"-"`
	Role      Role      `json:"role"`
	CreatedBy string    `json:"created_by"`
	CreatedAt time.Time `json:"created_at"`
	RevokedAt time.Time `json:"revoked_at,omitzero"`
}

var (
	ErrNotFound           = errors.New("not found")
	ErrDuplicate          = errors.New("already exists")
	ErrInvalidCredentials = errors.New("invalid credentials")
	ErrInvalidToken       = errors.New("invalid or expired token")
	ErrTokenReused        = errors.New("refresh token reused; session revoked")
	// ErrBusy means every password-hashing slot stayed taken for the
	// whole wait: the caller should retry shortly.
	ErrBusy = errors.New("too many password checks in progress")
)

// Store persists identities. Every adapter passes authtest's suite.
type Store interface {
	CreateUser(ctx context.Context, u User) error // ErrDuplicate on email
	GetUser(ctx context.Context, id string) (User, error)
	GetUserByEmail(ctx context.Context, email string) (User, error)
	CountUsers(ctx context.Context) (int64, error)
	ListUsers(ctx context.Context) ([]User, error) // ordered by id, never nil
	// UpdateUser sets a user's role and disabled flag (ErrNotFound).
	UpdateUser(ctx context.Context, id string, role Role, disabled bool) error
	// DeleteUser removes a user and its refresh tokens (ErrNotFound).
	DeleteUser(ctx context.Context, id string) error
	// RevokeUserRefreshTokens revokes every refresh token of a user.
	RevokeUserRefreshTokens(ctx context.Context, userID string) error

	// RevokeSubject records that every credential of subject obtained at
	// or before at is void; a later call with an earlier at does not
	// undo a later revocation.
	RevokeSubject(ctx context.Context, subject string, at time.Time) error
	// RevocationsSince lists the revocations whose time is after since;
	// a subject may come more than once, and its latest time counts.
	RevocationsSince(ctx context.Context, since time.Time) ([]Revocation, error)
	DeleteRevocationsBefore(ctx context.Context, before time.Time) (int64, error)

	CreateRefreshToken(ctx context.Context, t RefreshToken) error
	// UseRefreshToken atomically marks an unused token used and returns it.
	// A token already used comes back with ErrTokenReused so the caller can
	// revoke its family.
	UseRefreshToken(ctx context.Context, hash string) (RefreshToken, error)
	RevokeRefreshFamily(ctx context.Context, family string) error
	DeleteExpiredRefreshTokens(ctx context.Context, now time.Time) (int64, error)

	CreateAPIKey(ctx context.Context, k APIKey) error
	GetAPIKeyByHash(ctx context.Context, hash string) (APIKey, error)
	ListAPIKeys(ctx context.Context) ([]APIKey, error)
	RevokeAPIKey(ctx context.Context, id string, at time.Time) error

	// GetOrCreateSecret returns the stored secret called name, storing gen
	// first if there is none, so every instance sharing a store agrees.
	GetOrCreateSecret(ctx context.Context, name string, gen []byte) ([]byte, error)
}
