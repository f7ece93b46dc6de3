// Package apitest builds a complete Paymon (the same app.App that `paymon
// serve` runs, on a real SQLite file in a temp dir) behind a loopback
// httptest server, for scenario tests of the HTTP API.
package apitest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/paymon/paymon/internal/app"
	"github.com/paymon/paymon/internal/config"
)

// AdminEmail and AdminPassword are the first admin of every Env.
const (
	AdminEmail    = "admin@example.test"
	AdminPassword = "correct-horse-battery"
)

// Env is one running Paymon.
type Env struct {
	T          testing.TB
	URL        string
	App        *app.App
	AdminToken string
	Server     *httptest.Server
}

// New starts Paymon with extra PAYMON_* settings ("KEY=value").
func New(t testing.TB, environ ...string) *Env {
	t.Helper()
	base := []string{"PAYMON_DATA_DIR=" + t.TempDir(), "PAYMON_ADMIN_EMAIL=" + AdminEmail, "PAYMON_ADMIN_PASSWORD=" + AdminPassword}
	cfg, err := config.Load(nil, append(base, environ...), io.Discard)
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		logger = slog.New(slog.NewTextHandler(&testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	a, err := app.New(context.Background(), cfg, logger, io.Discard, "test")
	if err != nil {
		t.Fatalf("app: %v", err)
	}
	srv := httptest.NewServer(a.Handler)
	e := &Env{T: t, URL: srv.URL, App: a, Server: srv}
	t.Cleanup(func() {
		srv.CloseClientConnections()
		srv.Close()
		if err := a.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	e.AdminToken = e.Login(AdminEmail, AdminPassword)
	return e
}

type testWriter struct{ t testing.TB }

func (w *testWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(b)))
	return len(b), nil
}

// Login returns an access token for a user.
func (e *Env) Login(email, password string) string {
	e.T.Helper()
	form := url.Values{"grant_type": {"password"}, "username": {email}, "password": {password}}
	resp, err := http.PostForm(e.URL+"/api/v1/auth/token", form)
	if err != nil {
		e.T.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		AccessToken string `json:"access_token"`
	}
	if resp.StatusCode != 200 || json.NewDecoder(resp.Body).Decode(&out) != nil {
		e.T.Fatalf("login %s: %s", email, resp.Status)
	}
	return out.AccessToken
}

// UserToken creates a user with role and returns its access token.
func (e *Env) UserToken(email, role string) string {
	e.T.Helper()
	st, body := e.Do("POST", "/api/v1/users", e.AdminToken, map[string]string{"email": email, "password": "password-" + role, "role": role})
	if st != 201 {
		e.T.Fatalf("create user: %d %s", st, body)
	}
	return e.Login(email, "password-"+role)
}

// Do sends a request. body may be nil, a string/[]byte (sent as is) or a
// value encoded as JSON. headers are "Name: value" pairs.
func (e *Env) Do(method, path, token string, body any, headers ...string) (int, []byte) {
	e.T.Helper()
	resp := e.Request(method, path, token, body, headers...)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.T.Fatal(err)
	}
	return resp.StatusCode, b
}

// Request is Do returning the response, for tests that look at headers.
// The caller closes the body.
func (e *Env) Request(method, path, token string, body any, headers ...string) *http.Response {
	e.T.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = strings.NewReader(b)
	case []byte:
		r = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			e.T.Fatal(err)
		}
		r = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, e.URL+path, r)
	if err != nil {
		e.T.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for _, h := range headers {
		k, v, _ := strings.Cut(h, ":")
		req.Header.Set(strings.TrimSpace(k), strings.TrimSpace(v))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.T.Fatal(err)
	}
	return resp
}

// ErrorCode extracts error.code from an error envelope ("" if none).
func ErrorCode(body []byte) string {
	var env struct {
		Error struct {
			Code      string `json:"code"`
			RequestID string `json:"request_id"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &env) != nil || env.Error.RequestID == "" {
		return ""
	}
	return env.Error.Code
}
