package auth_test

import (
	"context"
	"encoding/base64"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/paymon/paymon/internal/auth"
	"github.com/paymon/paymon/internal/store/sqlite"
)

const secret = "test-secret-0123456789abcdef0123456789"

func newAuth(t *testing.T, now func() time.Time) (*auth.Service, *sqlite.DB) {
	t.Helper()
	db, err := sqlite.Open(filepath.Join(t.TempDir(), "a.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	s, err := auth.NewService(context.Background(), db, secret, auth.Options{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateUser(context.Background(), "Ann@Example.test", "right-password", auth.RoleOperator); err != nil {
		t.Fatal(err)
	}
	return s, db
}

func TestLoginAndAuthenticate(t *testing.T) {
	s, _ := newAuth(t, nil)
	ctx := context.Background()
	pair, err := s.Login(ctx, "ann@example.test", "right-password")
	if err != nil {
		t.Fatal(err)
	}
	if pair.TokenType != "Bearer" || pair.ExpiresIn != 900 || pair.RefreshToken == "" {
		t.Fatalf("pair: %+v", pair)
	}
	p, err := s.Authenticate(ctx, pair.AccessToken)
	if err != nil || p.Email != "ann@example.test" || p.Role != auth.RoleOperator {
		t.Fatalf("authenticate: %+v %v", p, err)
	}
	if _, err := s.Login(ctx, "ann@example.test", "wrong-password"); !errors.Is(err, auth.ErrInvalidCredentials) {
		t.Fatalf("bad password: %v", err)
	}
	if _, err := s.Login(ctx, "nobody@example.test", "right-password"); !errors.Is(err, auth.ErrInvalidCredentials) {
		t.Fatalf("unknown user: %v", err)
	}
}

func TestRejectedTokens(t *testing.T) {
	now := time.Now()
	s, _ := newAuth(t, func() time.Time { return now })
	ctx := context.Background()
	pair, err := s.Login(ctx, "ann@example.test", "right-password")
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(pair.AccessToken, ".")
	claims, _ := base64.RawURLEncoding.DecodeString(parts[1])

	// alg: none with the same claims.
	none := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + parts[1] + "."
	// Signed with another key.
	var c jwt.MapClaims
	_, _, _ = jwt.NewParser().ParseUnverified(pair.AccessToken, &c)
	forged, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString([]byte("another-secret-0123456789abcdef0123"))
	// Claims tampered (role upgraded) without re-signing.
	tampered := parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(strings.Replace(string(claims), `"operator"`, `"admin"`, 1))) + "." + parts[2]
	// HS512 with the right key: not the algorithm we issue.
	hs512, _ := jwt.NewWithClaims(jwt.SigningMethodHS512, c).SignedString([]byte(secret))

	// The genuine token works, twice (the second use is answered from the
	// verified-token memory, which must still refuse it once expired).
	for range 2 {
		if p, err := s.Authenticate(ctx, pair.AccessToken); err != nil || p.Email != "ann@example.test" {
			t.Fatalf("genuine token: %+v, %v", p, err)
		}
	}
	for name, tok := range map[string]string{"alg none": none, "wrong signature": forged, "tampered": tampered, "other alg": hs512, "garbage": "a.b.c", "empty": ""} {
		if _, err := s.Authenticate(ctx, tok); !errors.Is(err, auth.ErrInvalidToken) {
			t.Errorf("%s: err = %v", name, err)
		}
	}
	// Still valid within the leeway; expired 15 minutes and the leeway later.
	now = now.Add(15*time.Minute + 4*time.Second)
	if _, err := s.Authenticate(ctx, pair.AccessToken); err != nil {
		t.Errorf("within the leeway: err = %v", err)
	}
	now = now.Add(2 * time.Second)
	if _, err := s.Authenticate(ctx, pair.AccessToken); !errors.Is(err, auth.ErrInvalidToken) {
		t.Errorf("expired: err = %v", err)
	}
}

func TestRefreshRotatesAndDetectsReuse(t *testing.T) {
	s, _ := newAuth(t, nil)
	ctx := context.Background()
	first, _ := s.Login(ctx, "ann@example.test", "right-password")
	second, err := s.Refresh(ctx, first.RefreshToken)
	if err != nil || second.RefreshToken == first.RefreshToken {
		t.Fatalf("rotate: %v", err)
	}
	if _, err := s.Authenticate(ctx, second.AccessToken); err != nil {
		t.Fatal(err)
	}
	// Replaying the spent token revokes the whole family, including the new one.
	if _, err := s.Refresh(ctx, first.RefreshToken); !errors.Is(err, auth.ErrTokenReused) {
		t.Fatalf("reuse: %v", err)
	}
	if _, err := s.Refresh(ctx, second.RefreshToken); !errors.Is(err, auth.ErrInvalidToken) {
		t.Fatalf("family not revoked: %v", err)
	}
	if _, err := s.Refresh(ctx, "pmr_unknown"); !errors.Is(err, auth.ErrInvalidToken) {
		t.Fatalf("unknown: %v", err)
	}
}

func TestRefreshTokenExpires(t *testing.T) {
	now := time.Now()
	s, _ := newAuth(t, func() time.Time { return now })
	ctx := context.Background()
	pair, _ := s.Login(ctx, "ann@example.test", "right-password")
	now = now.Add(31 * 24 * time.Hour)
	if _, err := s.Refresh(ctx, pair.RefreshToken); !errors.Is(err, auth.ErrInvalidToken) {
		t.Fatalf("expired refresh: %v", err)
	}
	if n, err := s.Sweep(ctx); err != nil || n != 1 {
		t.Fatalf("sweep: %d %v", n, err)
	}
}

func TestAPIKeys(t *testing.T) {
	s, _ := newAuth(t, nil)
	ctx := context.Background()
	k, secret, err := s.CreateAPIKey(ctx, "shipper", auth.RoleIngest, "usr_1")
	if err != nil || !strings.HasPrefix(secret, "pmk_") || k.Hash == secret {
		t.Fatalf("create: %v", err)
	}
	p, err := s.Authenticate(ctx, secret)
	if err != nil || p.Role != auth.RoleIngest || p.Kind != "api_key" {
		t.Fatalf("authenticate: %+v %v", p, err)
	}
	if p.Role.Can(auth.PaymentsRead) || !p.Role.Can(auth.LogsWrite) || p.Role.Can(auth.LogsRead) {
		t.Fatal("ingest role grants wrong permissions")
	}
	cc, err := s.ClientCredentials(ctx, k.ID, secret)
	if err != nil {
		t.Fatal(err)
	}
	if p, err := s.Authenticate(ctx, cc.AccessToken); err != nil || p.Role != auth.RoleIngest {
		t.Fatalf("client credentials token: %v", err)
	}
	if err := s.RevokeAPIKey(ctx, k.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Authenticate(ctx, secret); !errors.Is(err, auth.ErrInvalidToken) {
		t.Fatalf("revoked key works: %v", err)
	}
	if _, err := s.Authenticate(ctx, "pmk_"+strings.Repeat("a", 43)); !errors.Is(err, auth.ErrInvalidToken) {
		t.Fatalf("unknown key: %v", err)
	}
}

func TestGeneratedSecretIsSharedThroughTheStore(t *testing.T) {
	db, err := sqlite.Open(filepath.Join(t.TempDir(), "a.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	a, err := auth.NewService(ctx, db, "", auth.Options{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := auth.NewService(ctx, db, "", auth.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.CreateUser(ctx, "x@example.test", "password-x", auth.RoleViewer); err != nil {
		t.Fatal(err)
	}
	pair, err := a.Login(ctx, "x@example.test", "password-x")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Authenticate(ctx, pair.AccessToken); err != nil {
		t.Fatalf("token of instance A refused by B: %v", err)
	}
}

func TestPasswordHash(t *testing.T) {
	h, err := auth.HashPassword("s3cret-pass")
	if err != nil || !strings.HasPrefix(h, "$argon2id$") {
		t.Fatalf("hash %q %v", h, err)
	}
	if !auth.CheckPassword(h, "s3cret-pass") || auth.CheckPassword(h, "s3cret-pasS") || auth.CheckPassword("garbage", "x") {
		t.Fatal("CheckPassword wrong")
	}
}
