package app_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/paymon/paymon/internal/apitest"
	"github.com/paymon/paymon/internal/testenv"
)

// revocationDeadline is the promise: revoking a key or disabling a
// user ends its access everywhere within 5 s.
const revocationDeadline = 5 * time.Second

// TestRevocationEndsAccess: on one instance, revoking an API key ends the
// client-credentials token obtained from it and the WebSocket and SSE
// streams opened with it; disabling a user ends its token and streams.
func TestRevocationEndsAccess(t *testing.T) {
	e := apitest.New(t)
	revocationScenario(t, e, e)
}

// TestRevocationEndsAccessOnEveryInstance: the revocation is made on A;
// the token and the streams are used on B (one FerretDB, one Redis).
func TestRevocationEndsAccessOnEveryInstance(t *testing.T) {
	mongo, redis := testenv.FerretDB(t), testenv.Redis(t)
	env := []string{"PAYMON_MONGODB_URI=" + mongo.URL(), "PAYMON_MONGODB_DATABASE=paymon_revoke", "PAYMON_REDIS_URL=" + redis.URL()}
	a := apitest.New(t, env...)
	b := apitest.New(t, env...)
	revocationScenario(t, a, b)
}

// revocationScenario revokes on admin's instance and checks on via.
func revocationScenario(t *testing.T, admin, via *apitest.Env) {
	st, body := admin.Do("POST", "/api/v1/api-keys", admin.AdminToken, map[string]string{"name": "shipper", "role": "operator"})
	if st != 201 {
		t.Fatalf("create key: %d %s", st, body)
	}
	key := decode[struct{ ID, Key string }](t, body)
	ccToken := clientCredentials(t, via, key.Key)
	if st, body := postLog(t, via, ccToken); st != 200 {
		t.Fatalf("log with the client-credentials token: %d %s", st, body)
	}
	keyWS := openWS(t, via, key.Key)
	keySSE := openSSE(t, via, key.Key)

	userToken := via.UserToken("watcher@example.test", "viewer")
	st, body = admin.Do("GET", "/api/v1/users", admin.AdminToken, nil)
	var users struct {
		Data []struct{ ID, Email string }
	}
	if err := json.Unmarshal(body, &users); st != 200 || err != nil {
		t.Fatalf("list users: %d %s", st, body)
	}
	var userID string
	for _, u := range users.Data {
		if u.Email == "watcher@example.test" {
			userID = u.ID
		}
	}
	userWS := openWS(t, via, userToken)
	userSSE := openSSE(t, via, userToken)

	if st, body := admin.Do("DELETE", "/api/v1/api-keys/"+key.ID, admin.AdminToken, nil); st != 204 {
		t.Fatalf("revoke key: %d %s", st, body)
	}
	waitUnauthorized(t, func() (int, []byte) { return postLog(t, via, ccToken) })
	expectClosed(t, keyWS)
	expectRevokedSSE(t, keySSE)
	if st, _ := clientCredentialsStatus(via, key.Key); st != 401 {
		t.Fatalf("client credentials with the revoked key: %d, want 401", st)
	}

	if st, body := admin.Do("PATCH", "/api/v1/users/"+userID, admin.AdminToken, map[string]any{"disabled": true}); st != 200 || !strings.Contains(string(body), `"disabled":true`) {
		t.Fatalf("disable user: %d %s", st, body)
	}
	waitUnauthorized(t, func() (int, []byte) { return via.Do("GET", "/api/v1/payments", userToken, nil) })
	expectClosed(t, userWS)
	expectRevokedSSE(t, userSSE)
	if st := loginStatus(t, via, "watcher@example.test", "password-viewer"); st != 401 {
		t.Fatalf("a disabled user's login: %d, want 401", st)
	}

	// Re-enabled, the user logs in again; the old token stays dead.
	if st, body := admin.Do("PATCH", "/api/v1/users/"+userID, admin.AdminToken, map[string]any{"disabled": false}); st != 200 {
		t.Fatalf("re-enable user: %d %s", st, body)
	}
	fresh := via.Login("watcher@example.test", "password-viewer")
	if st, body := via.Do("GET", "/api/v1/payments", fresh, nil); st != 200 {
		t.Fatalf("a re-enabled user's new token: %d %s", st, body)
	}
	if st, _ := via.Do("GET", "/api/v1/payments", userToken, nil); st != 401 {
		t.Fatalf("the token from before the disable, after re-enabling: %d, want 401", st)
	}

	// Deleting the user ends its new token too.
	if st, body := admin.Do("DELETE", "/api/v1/users/"+userID, admin.AdminToken, nil); st != 204 {
		t.Fatalf("delete user: %d %s", st, body)
	}
	waitUnauthorized(t, func() (int, []byte) { return via.Do("GET", "/api/v1/payments", fresh, nil) })
}

func clientCredentialsStatus(e *apitest.Env, secret string) (int, []byte) {
	form := url.Values{"grant_type": {"client_credentials"}, "client_secret": {secret}}
	resp, err := http.PostForm(e.URL+"/api/v1/auth/token", form)
	if err != nil {
		return 0, nil
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func clientCredentials(t *testing.T, e *apitest.Env, secret string) string {
	t.Helper()
	st, body := clientCredentialsStatus(e, secret)
	if st != 200 {
		t.Fatalf("client credentials: %d %s", st, body)
	}
	return decode[struct {
		AccessToken string `json:"access_token"`
	}](t, body).AccessToken
}

func loginStatus(t *testing.T, e *apitest.Env, email, password string) int {
	t.Helper()
	resp, err := http.PostForm(e.URL+"/api/v1/auth/token", url.Values{"grant_type": {"password"}, "username": {email}, "password": {password}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func postLog(t *testing.T, e *apitest.Env, token string) (int, []byte) {
	t.Helper()
	return e.Do("POST", "/api/v1/logs", token, `{"level":"info","service":"shipper","message":"still here"}`)
}

// waitUnauthorized calls do until it answers 401, for up to the deadline.
func waitUnauthorized(t *testing.T, do func() (int, []byte)) {
	t.Helper()
	deadline := time.Now().Add(revocationDeadline)
	for {
		st, body := do()
		if st == 401 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("still %d %s %v after the revocation", st, body, revocationDeadline)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func openWS(t *testing.T, e *apitest.Env, token string) *websocket.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(e.URL, "http")+"/api/v1/stream",
		&websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + token}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.CloseNow() })
	send(t, c, map[string]any{"type": "subscribe", "topic": "payments"})
	if f := read(t, c); f.Type != "subscribed" {
		t.Fatalf("subscribe: %+v", f)
	}
	return c
}

// expectClosed waits for the server's close frame: 1008 "credential revoked".
func expectClosed(t *testing.T, c *websocket.Conn) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), revocationDeadline)
	defer cancel()
	for {
		_, b, err := c.Read(ctx)
		if err == nil {
			continue // an event published meanwhile
		}
		var ce websocket.CloseError
		if !errors.As(err, &ce) || ce.Code != websocket.StatusPolicyViolation || ce.Reason != "credential revoked" {
			t.Fatalf("stream after the revocation: %v (last frame %s); want close 1008 \"credential revoked\"", err, b)
		}
		return
	}
}

type sseEvent struct{ event, data string }

// openSSE opens an SSE stream and returns its events, in order; the
// channel closes when the response ends.
func openSSE(t *testing.T, e *apitest.Env, token string) <-chan sseEvent {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", e.URL+"/api/v1/stream/sse?topics=payments", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	if resp.StatusCode != 200 {
		cancel()
		resp.Body.Close()
		t.Fatalf("SSE: %s", resp.Status)
	}
	t.Cleanup(func() { cancel(); resp.Body.Close() })
	ch := make(chan sseEvent, 16)
	go func() {
		defer close(ch)
		sc := bufio.NewScanner(resp.Body)
		var ev sseEvent
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if ev != (sseEvent{}) {
					ch <- ev
				}
				ev = sseEvent{}
			case strings.HasPrefix(line, "event: "):
				ev.event = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				ev.data = strings.TrimPrefix(line, "data: ")
			}
		}
	}()
	return ch
}

// expectRevokedSSE waits for `event: error` credential_revoked, then the
// end of the response.
func expectRevokedSSE(t *testing.T, ch <-chan sseEvent) {
	t.Helper()
	timeout := time.After(revocationDeadline)
	for {
		select {
		case ev, open := <-ch:
			if !open {
				t.Fatal("SSE ended without a credential_revoked error")
			}
			if ev.event != "error" {
				continue
			}
			var fe struct{ Code string }
			if json.Unmarshal([]byte(ev.data), &fe) != nil || fe.Code != "credential_revoked" {
				t.Fatalf("SSE error %+v; want credential_revoked", ev)
			}
			select {
			case _, open := <-ch:
				if open {
					t.Fatal("SSE went on after credential_revoked")
				}
			case <-time.After(revocationDeadline):
				t.Fatal("SSE not ended after credential_revoked")
			}
			return
		case <-timeout:
			t.Fatalf("no credential_revoked on the SSE stream within %v", revocationDeadline)
		}
	}
}

// TestUserRoutesRefuseBadChanges: the user routes answer bad input with
// the error envelope and the right status, admins only.
func TestUserRoutesRefuseBadChanges(t *testing.T) {
	e := apitest.New(t)
	viewer := e.UserToken("v@example.test", "viewer")
	st, body := e.Do("GET", "/api/v1/users", e.AdminToken, nil)
	var users struct {
		Data []struct{ ID, Email string }
	}
	if err := json.Unmarshal(body, &users); st != 200 || err != nil || len(users.Data) != 2 || strings.Contains(string(body), "argon2") {
		t.Fatalf("list users: %d %s", st, body)
	}
	ids := map[string]string{}
	for _, u := range users.Data {
		ids[u.Email] = u.ID
	}
	self, other := ids[apitest.AdminEmail], ids["v@example.test"]
	for _, c := range []struct {
		method, path, token string
		body                any
		status              int
		code                string
	}{
		{"GET", "/api/v1/users", viewer, nil, 403, "forbidden"},
		{"PATCH", "/api/v1/users/" + other, viewer, map[string]any{"disabled": true}, 403, "forbidden"},
		{"PATCH", "/api/v1/users/" + self, e.AdminToken, map[string]any{"disabled": true}, 409, "own_account"},
		{"PATCH", "/api/v1/users/" + self, e.AdminToken, map[string]any{"role": "viewer"}, 409, "own_account"},
		{"DELETE", "/api/v1/users/" + self, e.AdminToken, nil, 409, "own_account"},
		{"PATCH", "/api/v1/users/" + other, e.AdminToken, map[string]any{"role": "ingest"}, 422, "invalid_request"},
		{"PATCH", "/api/v1/users/" + other, e.AdminToken, map[string]any{"role": "root"}, 422, "invalid_request"},
		{"PATCH", "/api/v1/users/" + other, e.AdminToken, map[string]any{"disabled": "yes"}, 422, "invalid_request"},
		{"PATCH", "/api/v1/users/" + other, e.AdminToken, map[string]any{}, 422, "invalid_request"},
		{"PATCH", "/api/v1/users/" + other, e.AdminToken, map[string]any{"email": "x@example.test"}, 400, "unknown_field"},
		{"PATCH", "/api/v1/users/usr_missing", e.AdminToken, map[string]any{"disabled": true}, 404, "not_found"},
		{"DELETE", "/api/v1/users/usr_missing", e.AdminToken, nil, 404, "not_found"},
	} {
		st, body := e.Do(c.method, c.path, c.token, c.body)
		if st != c.status || apitest.ErrorCode(body) != c.code {
			t.Errorf("%s %s %v: %d %s; want %d %s", c.method, c.path, c.body, st, body, c.status, c.code)
		}
	}
	// Re-roled, the viewer's old token ends; a refresh gives the new role.
	if st, body := e.Do("PATCH", "/api/v1/users/"+other, e.AdminToken, map[string]any{"role": "operator"}); st != 200 || !strings.Contains(string(body), `"role":"operator"`) {
		t.Fatalf("re-role: %d %s", st, body)
	}
	if st, _ := e.Do("GET", "/api/v1/payments", viewer, nil); st != 401 {
		t.Fatalf("the token from before the role change: %d, want 401", st)
	}
}
