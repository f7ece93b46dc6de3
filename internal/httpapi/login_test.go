package httpapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"testing"
	"time"

	"github.com/paymon/paymon/internal/auth"
	"github.com/paymon/paymon/internal/cache"
	"github.com/paymon/paymon/internal/httpapi"
	"github.com/paymon/paymon/internal/store/sqlite"
)

// loginServer is the real handler over a real SQLite store and the
// in-process cache, with one user ann@example.test / right-password.
func loginServer(t *testing.T, hashes *auth.HashLimiter, throttle httpapi.LoginThrottle) *httptest.Server {
	t.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(filepath.Join(t.TempDir(), "paymon.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	a, err := auth.NewService(ctx, db, streamSecret, auth.Options{Hashes: hashes})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.CreateUser(ctx, "ann@example.test", "right-password", auth.RoleViewer); err != nil {
		t.Fatal(err)
	}
	mem := cache.NewMemory(1000)
	t.Cleanup(func() { _ = mem.Close() })
	srv := httptest.NewServer(httpapi.New(httpapi.Deps{Auth: a, Limiter: mem, LoginThrottle: throttle}))
	t.Cleanup(srv.Close)
	return srv
}

func passwordLogin(t *testing.T, srv *httptest.Server, password string) *http.Response {
	t.Helper()
	resp, err := http.PostForm(srv.URL+"/api/v1/auth/token", url.Values{"grant_type": {"password"}, "username": {"ann@example.test"}, "password": {password}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

// TestRightPasswordWorksAfterABurstOfWrongOnes: more wrong passwords from
// one address than the old per-address limit (30 a minute) allowed; the
// wrong ones are refused as wrong (401), never locked (429), and the right
// password from that same address still logs in.
func TestRightPasswordWorksAfterABurstOfWrongOnes(t *testing.T) {
	srv := loginServer(t, nil, httpapi.LoginThrottle{Base: time.Millisecond, Max: 4 * time.Millisecond})
	for i := range 40 {
		if resp := passwordLogin(t, srv, "wrong-password"); resp.StatusCode != 401 {
			t.Fatalf("wrong password #%d: %s, want 401", i+1, resp.Status)
		}
	}
	resp := passwordLogin(t, srv, "right-password")
	var pair auth.TokenPair
	if resp.StatusCode != 200 || json.NewDecoder(resp.Body).Decode(&pair) != nil || pair.AccessToken == "" {
		t.Fatalf("right password after the burst: %s, want 200 with a token", resp.Status)
	}
}

// TestLoginWhileEveryHashSlotIsTakenIs503: a login that cannot get a
// hashing slot within the wait is answered 503 with Retry-After, in the
// error envelope, and works once a slot is free.
func TestLoginWhileEveryHashSlotIsTakenIs503(t *testing.T) {
	hashes := auth.NewHashLimiter(1, 50*time.Millisecond)
	srv := loginServer(t, hashes, httpapi.LoginThrottle{})
	if err := hashes.Acquire(context.Background()); err != nil {
		t.Fatal(err)
	}
	resp := passwordLogin(t, srv, "right-password")
	var env struct {
		Error struct{ Code, RequestID string } `json:"error"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&env)
	if resp.StatusCode != 503 || resp.Header.Get("Retry-After") == "" || env.Error.Code != "unavailable" {
		t.Fatalf("login with every hash slot taken: %s Retry-After=%q code=%q; want 503 with Retry-After", resp.Status, resp.Header.Get("Retry-After"), env.Error.Code)
	}
	hashes.Release()
	if resp := passwordLogin(t, srv, "right-password"); resp.StatusCode != 200 {
		t.Fatalf("login once a slot is free: %s", resp.Status)
	}
}
