// Package authtest is the conformance suite every auth.Store adapter
// passes.
package authtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/paymon/paymon/internal/auth"
	"github.com/paymon/paymon/internal/id"
)

// RunStoreTests runs the suite; newStore must return an empty store that
// the test may use alone.
func RunStoreTests(t *testing.T, newStore func(t *testing.T) auth.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s auth.Store)
	}{
		{"Users", testUsers},
		{"RefreshTokens", testRefreshTokens},
		{"RefreshTokenConcurrentUse", testConcurrentUse},
		{"RefreshTokenSweep", testRefreshSweep},
		{"APIKeys", testAPIKeys},
		{"Secret", testSecret},
		{"UserAdministration", testUserAdministration},
		{"Revocations", testRevocations},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.fn(t, newStore(t))
		})
	}
}

// base is in whole milliseconds: some stores keep milliseconds only.
var base = time.Date(2026, 3, 14, 15, 9, 26, 535_000_000, time.UTC)

func testUsers(t *testing.T, s auth.Store) {
	ctx := context.Background()
	if n, err := s.CountUsers(ctx); err != nil || n != 0 {
		t.Fatalf("CountUsers on an empty store = %d, %v", n, err)
	}
	u := auth.User{ID: id.New("usr"), Email: "ada@example.test", PasswordHash: "$argon2id$x", Role: auth.RoleAdmin, CreatedAt: base}
	if err := s.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	dup := auth.User{ID: id.New("usr"), Email: u.Email, PasswordHash: "h", Role: auth.RoleViewer, CreatedAt: base}
	if err := s.CreateUser(ctx, dup); !errors.Is(err, auth.ErrDuplicate) {
		t.Fatalf("duplicate email: err = %v, want ErrDuplicate", err)
	}
	v := auth.User{ID: id.New("usr"), Email: "bob@example.test", PasswordHash: "h2", Role: auth.RoleViewer, CreatedAt: base.Add(time.Second)}
	if err := s.CreateUser(ctx, v); err != nil {
		t.Fatal(err)
	}
	if n, _ := s.CountUsers(ctx); n != 2 {
		t.Fatalf("CountUsers = %d, want 2", n)
	}
	for _, get := range []func() (auth.User, error){
		func() (auth.User, error) { return s.GetUser(ctx, u.ID) },
		func() (auth.User, error) { return s.GetUserByEmail(ctx, u.Email) },
	} {
		got, err := get()
		if err != nil {
			t.Fatal(err)
		}
		if got.ID != u.ID || got.Email != u.Email || got.PasswordHash != u.PasswordHash || got.Role != u.Role || !got.CreatedAt.Equal(u.CreatedAt) {
			t.Fatalf("user = %+v, want %+v", got, u)
		}
	}
	if _, err := s.GetUser(ctx, "usr_missing"); !errors.Is(err, auth.ErrNotFound) {
		t.Fatalf("GetUser(missing): %v", err)
	}
	if _, err := s.GetUserByEmail(ctx, "nobody@example.test"); !errors.Is(err, auth.ErrNotFound) {
		t.Fatalf("GetUserByEmail(missing): %v", err)
	}
}

func token(family string, exp time.Time) auth.RefreshToken {
	return auth.RefreshToken{Hash: id.New("h"), Family: family, UserID: "usr_1", ExpiresAt: exp, CreatedAt: base}
}

func testRefreshTokens(t *testing.T, s auth.Store) {
	ctx := context.Background()
	a := token("fam_a", base.Add(time.Hour))
	a2 := token("fam_a", base.Add(time.Hour))
	b := token("fam_b", base.Add(time.Hour))
	for _, tok := range []auth.RefreshToken{a, a2, b} {
		if err := s.CreateRefreshToken(ctx, tok); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.UseRefreshToken(ctx, a.Hash)
	if err != nil {
		t.Fatalf("first use: %v", err)
	}
	if got.Hash != a.Hash || got.Family != a.Family || got.UserID != a.UserID || got.Used || got.Revoked ||
		!got.ExpiresAt.Equal(a.ExpiresAt) || !got.CreatedAt.Equal(a.CreatedAt) {
		t.Fatalf("first use returned %+v, want %+v as it was before use", got, a)
	}
	got, err = s.UseRefreshToken(ctx, a.Hash)
	if !errors.Is(err, auth.ErrTokenReused) {
		t.Fatalf("second use: err = %v, want ErrTokenReused", err)
	}
	if got.Family != a.Family || got.UserID != a.UserID || !got.Used {
		t.Fatalf("reuse must return the token so its family can be revoked; got %+v", got)
	}
	if _, err := s.UseRefreshToken(ctx, "missing"); !errors.Is(err, auth.ErrNotFound) {
		t.Fatalf("unknown token: err = %v, want ErrNotFound", err)
	}

	if err := s.RevokeRefreshFamily(ctx, "fam_a"); err != nil {
		t.Fatal(err)
	}
	got, err = s.UseRefreshToken(ctx, a2.Hash)
	if err != nil {
		t.Fatalf("use of a revoked, unused token: %v", err)
	}
	if !got.Revoked {
		t.Fatalf("a token of a revoked family came back with Revoked=false: %+v", got)
	}
	got, err = s.UseRefreshToken(ctx, b.Hash)
	if err != nil || got.Revoked {
		t.Fatalf("another family was touched by the revocation: %+v, %v", got, err)
	}
	if err := s.RevokeRefreshFamily(ctx, "fam_none"); err != nil {
		t.Fatalf("revoking an unknown family: %v", err)
	}
}

func testConcurrentUse(t *testing.T, s auth.Store) {
	ctx := context.Background()
	tok := token("fam_race", base.Add(time.Hour))
	if err := s.CreateRefreshToken(ctx, tok); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok, reused := 0, 0
	for range 12 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := s.UseRefreshToken(ctx, tok.Hash)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				ok++
			case errors.Is(err, auth.ErrTokenReused):
				reused++
			default:
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if ok != 1 || reused != 11 {
		t.Fatalf("concurrent uses: %d succeeded, %d reused; want 1 and 11", ok, reused)
	}
}

func testRefreshSweep(t *testing.T, s auth.Store) {
	ctx := context.Background()
	old := token("f", base.Add(time.Minute))
	edge := token("f", base.Add(time.Hour))
	live := token("f", base.Add(2*time.Hour))
	for _, tok := range []auth.RefreshToken{old, edge, live} {
		if err := s.CreateRefreshToken(ctx, tok); err != nil {
			t.Fatal(err)
		}
	}
	n, err := s.DeleteExpiredRefreshTokens(ctx, base.Add(time.Hour))
	if err != nil || n != 2 {
		t.Fatalf("sweep deleted %d, %v; want 2 (expiry is inclusive)", n, err)
	}
	if _, err := s.UseRefreshToken(ctx, old.Hash); !errors.Is(err, auth.ErrNotFound) {
		t.Fatalf("swept token: %v, want ErrNotFound", err)
	}
	if _, err := s.UseRefreshToken(ctx, live.Hash); err != nil {
		t.Fatalf("live token after sweep: %v", err)
	}
}

func testAPIKeys(t *testing.T, s auth.Store) {
	ctx := context.Background()
	if keys, err := s.ListAPIKeys(ctx); err != nil || len(keys) != 0 || keys == nil {
		t.Fatalf("ListAPIKeys on an empty store = %#v, %v; want an empty slice", keys, err)
	}
	var made []auth.APIKey
	for i := range 3 {
		k := auth.APIKey{ID: id.New("key"), Name: fmt.Sprintf("shipper-%d", i), Prefix: "pmk_abcdef", Hash: fmt.Sprintf("hash-%d", i),
			Role: auth.RoleIngest, CreatedBy: "usr_1", CreatedAt: base.Add(time.Duration(i) * time.Second)}
		if err := s.CreateAPIKey(ctx, k); err != nil {
			t.Fatal(err)
		}
		made = append(made, k)
	}
	dup := made[0]
	dup.ID = id.New("key")
	if err := s.CreateAPIKey(ctx, dup); !errors.Is(err, auth.ErrDuplicate) {
		t.Fatalf("duplicate hash: err = %v, want ErrDuplicate", err)
	}
	got, err := s.GetAPIKeyByHash(ctx, "hash-1")
	if err != nil {
		t.Fatal(err)
	}
	if got != made[1] {
		t.Fatalf("GetAPIKeyByHash = %+v, want %+v", got, made[1])
	}
	if _, err := s.GetAPIKeyByHash(ctx, "nope"); !errors.Is(err, auth.ErrNotFound) {
		t.Fatalf("unknown hash: %v", err)
	}
	at := base.Add(time.Hour)
	if err := s.RevokeAPIKey(ctx, made[1].ID, at); err != nil {
		t.Fatal(err)
	}
	if err := s.RevokeAPIKey(ctx, made[1].ID, at.Add(time.Hour)); !errors.Is(err, auth.ErrNotFound) {
		t.Fatalf("revoking twice: err = %v, want ErrNotFound", err)
	}
	if err := s.RevokeAPIKey(ctx, "key_missing", at); !errors.Is(err, auth.ErrNotFound) {
		t.Fatalf("revoking a missing key: err = %v, want ErrNotFound", err)
	}
	got, _ = s.GetAPIKeyByHash(ctx, "hash-1")
	if !got.RevokedAt.Equal(at) {
		t.Fatalf("RevokedAt = %v, want %v (the first revocation)", got.RevokedAt, at)
	}
	keys, err := s.ListAPIKeys(ctx)
	if err != nil || len(keys) != 3 {
		t.Fatalf("ListAPIKeys = %v, %v", keys, err)
	}
	made[1].RevokedAt = at
	for i := range keys {
		if keys[i] != made[i] {
			t.Fatalf("ListAPIKeys[%d] = %+v, want %+v (ordered by id)", i, keys[i], made[i])
		}
	}
}

func testSecret(t *testing.T, s auth.Store) {
	ctx := context.Background()
	const n = 12
	got := make([][]byte, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			v, err := s.GetOrCreateSecret(ctx, "jwt_secret", []byte(fmt.Sprintf("secret-%02d", i)))
			if err != nil {
				t.Error(err)
			}
			got[i] = v
		}()
	}
	wg.Wait()
	for i := range got {
		if len(got[i]) == 0 || !bytes.Equal(got[i], got[0]) {
			t.Fatalf("instances disagree on the secret: %q vs %q", got[i], got[0])
		}
	}
	again, err := s.GetOrCreateSecret(ctx, "jwt_secret", []byte("later"))
	if err != nil || !bytes.Equal(again, got[0]) {
		t.Fatalf("a later call replaced the secret: %q, %v", again, err)
	}
	other, _ := s.GetOrCreateSecret(ctx, "other", []byte{0, 1, 2, 255})
	if !bytes.Equal(other, []byte{0, 1, 2, 255}) {
		t.Fatalf("binary secret = %v", other)
	}
}

func testUserAdministration(t *testing.T, s auth.Store) {
	ctx := context.Background()
	if us, err := s.ListUsers(ctx); err != nil || us == nil || len(us) != 0 {
		t.Fatalf("ListUsers on an empty store = %#v, %v; want an empty slice", us, err)
	}
	a := auth.User{ID: id.New("usr"), Email: "a@example.test", PasswordHash: "h", Role: auth.RoleAdmin, CreatedAt: base}
	b := auth.User{ID: id.New("usr"), Email: "b@example.test", PasswordHash: "h", Role: auth.RoleViewer, CreatedAt: base}
	for _, u := range []auth.User{a, b} {
		if err := s.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.UpdateUser(ctx, b.ID, auth.RoleOperator, true); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetUserByEmail(ctx, b.Email)
	if err != nil || got.Role != auth.RoleOperator || !got.Disabled {
		t.Fatalf("after update: %+v, %v; want operator, disabled", got, err)
	}
	us, err := s.ListUsers(ctx)
	if err != nil || len(us) != 2 || us[0].ID != a.ID || us[1].ID != b.ID || us[0].Disabled || !us[1].Disabled {
		t.Fatalf("ListUsers = %+v, %v", us, err)
	}
	if err := s.UpdateUser(ctx, b.ID, auth.RoleOperator, false); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.GetUser(ctx, b.ID); got.Disabled {
		t.Fatal("still disabled after re-enabling")
	}
	if err := s.UpdateUser(ctx, "usr_missing", auth.RoleViewer, false); !errors.Is(err, auth.ErrNotFound) {
		t.Fatalf("UpdateUser(missing): %v", err)
	}

	rt := token("fam_b", base.Add(time.Hour))
	rt.UserID = b.ID
	if err := s.CreateRefreshToken(ctx, rt); err != nil {
		t.Fatal(err)
	}
	other := token("fam_a", base.Add(time.Hour))
	other.UserID = a.ID
	if err := s.CreateRefreshToken(ctx, other); err != nil {
		t.Fatal(err)
	}
	if err := s.RevokeUserRefreshTokens(ctx, b.ID); err != nil {
		t.Fatal(err)
	}
	if got, err := s.UseRefreshToken(ctx, rt.Hash); err != nil || !got.Revoked {
		t.Fatalf("b's token after RevokeUserRefreshTokens: %+v, %v; want revoked", got, err)
	}
	if got, err := s.UseRefreshToken(ctx, other.Hash); err != nil || got.Revoked {
		t.Fatalf("a's token after revoking b's: %+v, %v; want untouched", got, err)
	}

	rt2 := token("fam_b2", base.Add(time.Hour))
	rt2.UserID = b.ID
	if err := s.CreateRefreshToken(ctx, rt2); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteUser(ctx, b.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetUser(ctx, b.ID); !errors.Is(err, auth.ErrNotFound) {
		t.Fatalf("GetUser after delete: %v", err)
	}
	if _, err := s.UseRefreshToken(ctx, rt2.Hash); !errors.Is(err, auth.ErrNotFound) {
		t.Fatalf("a deleted user's refresh token: %v, want ErrNotFound", err)
	}
	if err := s.DeleteUser(ctx, b.ID); !errors.Is(err, auth.ErrNotFound) {
		t.Fatalf("deleting twice: %v", err)
	}
	// The email is free again.
	b.ID = id.New("usr")
	if err := s.CreateUser(ctx, b); err != nil {
		t.Fatalf("re-creating a deleted user's email: %v", err)
	}
	if got, _ := s.GetUser(ctx, b.ID); got.Disabled {
		t.Fatal("a new user with a deleted user's email is disabled")
	}
}

func testRevocations(t *testing.T, s auth.Store) {
	ctx := context.Background()
	if rs, err := s.RevocationsSince(ctx, base.Add(-time.Hour)); err != nil || rs == nil || len(rs) != 0 {
		t.Fatalf("RevocationsSince on an empty store = %#v, %v; want an empty slice", rs, err)
	}
	for _, r := range []auth.Revocation{
		{Subject: "usr_1", At: base},
		{Subject: "key_1", At: base.Add(time.Minute)},
		{Subject: "usr_1", At: base.Add(2 * time.Minute)},
		{Subject: "usr_1", At: base.Add(time.Second)}, // earlier: the latest stays
		{Subject: "usr_old", At: base.Add(-time.Hour)},
	} {
		if err := s.RevokeSubject(ctx, r.Subject, r.At); err != nil {
			t.Fatal(err)
		}
	}
	rs, err := s.RevocationsSince(ctx, base.Add(-time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	got := latest(rs)
	if len(got) != 2 || !got["usr_1"].Equal(base.Add(2*time.Minute)) || !got["key_1"].Equal(base.Add(time.Minute)) {
		t.Fatalf("RevocationsSince = %+v; want usr_1 at +2m and key_1 at +1m", rs)
	}
	if _, err := s.DeleteRevocationsBefore(ctx, base.Add(90*time.Second)); err != nil {
		t.Fatal(err)
	}
	rs, _ = s.RevocationsSince(ctx, base.Add(-2*time.Hour))
	if got := latest(rs); len(got) != 1 || !got["usr_1"].Equal(base.Add(2*time.Minute)) {
		t.Fatalf("after the sweep: %+v; want usr_1 at +2m only", rs)
	}
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.RevokeSubject(ctx, "usr_race", base.Add(time.Duration(i)*time.Second)); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	rs, _ = s.RevocationsSince(ctx, base.Add(-2*time.Hour))
	if at := latest(rs)["usr_race"]; !at.Equal(base.Add(7 * time.Second)) {
		t.Fatalf("concurrent revocations: latest %v, want %v", at, base.Add(7*time.Second))
	}
}

// latest is the latest revocation time per subject.
func latest(rs []auth.Revocation) map[string]time.Time {
	m := map[string]time.Time{}
	for _, r := range rs {
		if r.At.After(m[r.Subject]) {
			m[r.Subject] = r.At
		}
	}
	return m
}
