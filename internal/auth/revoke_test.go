package auth_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/paymon/paymon/internal/auth"
)

func userID(t *testing.T, s *auth.Service, email string) string {
	t.Helper()
	us, err := s.ListUsers(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range us {
		if u.Email == email {
			return u.ID
		}
	}
	t.Fatalf("no user %s", email)
	return ""
}

// TestRevocationVoidsRememberedTokens: a token verified once (and so
// remembered) is refused after its key is revoked or its user disabled or
// re-roled; a token issued after re-enabling works.
func TestRevocationVoidsRememberedTokens(t *testing.T) {
	s, _ := newAuth(t, nil)
	ctx := context.Background()
	_, key, err := s.CreateAPIKey(ctx, "shipper", auth.RoleIngest, "test")
	if err != nil {
		t.Fatal(err)
	}
	cc, err := s.ClientCredentials(ctx, "", key)
	if err != nil {
		t.Fatal(err)
	}
	keyP, err := s.Authenticate(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	ccP, err := s.Authenticate(ctx, cc.AccessToken) // now remembered
	if err != nil {
		t.Fatal(err)
	}
	keyGone, stopKey := s.WatchRevocation(keyP)
	defer stopKey()
	ccGone, stopCC := s.WatchRevocation(ccP)
	defer stopCC()
	if err := s.RevokeAPIKey(ctx, keyP.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Authenticate(ctx, cc.AccessToken); !errors.Is(err, auth.ErrInvalidToken) {
		t.Fatalf("client-credentials token after its key was revoked: %v", err)
	}
	if _, err := s.Authenticate(ctx, key); !errors.Is(err, auth.ErrInvalidToken) {
		t.Fatalf("revoked key: %v", err)
	}
	for name, ch := range map[string]<-chan struct{}{"key": keyGone, "token": ccGone} {
		select {
		case <-ch:
		default:
			t.Fatalf("the %s's stream was not told of the revocation", name)
		}
	}

	pair, err := s.Login(ctx, "ann@example.test", "right-password")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Authenticate(ctx, pair.AccessToken); err != nil {
		t.Fatal(err)
	}
	id := userID(t, s, "ann@example.test")
	viewer := auth.RoleViewer
	if _, err := s.UpdateUser(ctx, id, auth.UserChange{Role: &viewer}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Authenticate(ctx, pair.AccessToken); !errors.Is(err, auth.ErrInvalidToken) {
		t.Fatalf("an operator token after the user became viewer: %v", err)
	}
	// The refresh token still works after a role change, with the new role.
	next, err := s.Refresh(ctx, pair.RefreshToken)
	if err != nil {
		t.Fatal(err)
	}
	if p, err := s.Authenticate(ctx, next.AccessToken); err != nil || p.Role != auth.RoleViewer {
		t.Fatalf("refreshed after the role change: %+v, %v", p, err)
	}

	yes, no := true, false
	if _, err := s.UpdateUser(ctx, id, auth.UserChange{Disabled: &yes}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Authenticate(ctx, next.AccessToken); !errors.Is(err, auth.ErrInvalidToken) {
		t.Fatalf("a disabled user's token: %v", err)
	}
	if _, err := s.Login(ctx, "ann@example.test", "right-password"); !errors.Is(err, auth.ErrInvalidCredentials) {
		t.Fatalf("a disabled user's login: %v", err)
	}
	if _, err := s.Refresh(ctx, next.RefreshToken); err == nil {
		t.Fatal("a disabled user refreshed")
	}
	if _, err := s.UpdateUser(ctx, id, auth.UserChange{Disabled: &no}); err != nil {
		t.Fatal(err)
	}
	again, err := s.Login(ctx, "ann@example.test", "right-password")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Authenticate(ctx, again.AccessToken); err != nil {
		t.Fatalf("a token issued right after re-enabling: %v", err)
	}
	if _, err := s.Refresh(ctx, next.RefreshToken); err == nil {
		t.Fatal("a session from before the disable came back after re-enabling")
	}
}

// TestRevocationReachesAnInstanceWithoutTheBus: instance B shares A's
// store but gets no bus message (lost, or Redis down); it still refuses
// the token once its next read of the store sees the revocation, and ends
// the stream.
func TestRevocationReachesAnInstanceWithoutTheBus(t *testing.T) {
	a, db := newAuth(t, nil)
	ctx := context.Background()
	b, err := auth.NewService(ctx, db, secret, auth.Options{})
	if err != nil {
		t.Fatal(err)
	}
	stop, err := b.Listen(ctx, nil, 20*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	pair, err := a.Login(ctx, "ann@example.test", "right-password")
	if err != nil {
		t.Fatal(err)
	}
	p, err := b.Authenticate(ctx, pair.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	gone, stopWatch := b.WatchRevocation(p)
	defer stopWatch()
	yes := true
	if _, err := a.UpdateUser(ctx, p.ID, auth.UserChange{Disabled: &yes}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-gone:
	case <-time.After(5 * time.Second):
		t.Fatal("B's stream was not ended within 5 s")
	}
	if _, err := b.Authenticate(ctx, pair.AccessToken); !errors.Is(err, auth.ErrInvalidToken) {
		t.Fatalf("B after the revocation: %v", err)
	}

	// A restarted instance learns recent revocations at start.
	c, err := auth.NewService(ctx, db, secret, auth.Options{})
	if err != nil {
		t.Fatal(err)
	}
	stopC, err := c.Listen(ctx, nil, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	defer stopC()
	if _, err := c.Authenticate(ctx, pair.AccessToken); !errors.Is(err, auth.ErrInvalidToken) {
		t.Fatalf("a new instance accepted a revoked token: %v", err)
	}
}
