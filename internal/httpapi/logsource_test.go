package httpapi_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/paymon/paymon/internal/apitest"
)

// Issue 12: an ingest key posted {"service":"paymon","message":"payment
// refunded","payment_id":<real id>} and the fake sat next to Paymon's own
// entries. Now Paymon's service name is refused from any sender, and
// every entry records the credential that wrote it.
func TestIngestCannotForgePaymonEntries(t *testing.T) {
	e := apitest.New(t)
	st, body := e.Do("POST", "/api/v1/payments", e.AdminToken, `{"amount":1000,"currency":"EUR","metadata":{"simulate":"succeed"}}`)
	if st != 201 {
		t.Fatalf("create payment: %d %s", st, body)
	}
	var p struct {
		ID string `json:"id"`
	}
	_ = json.Unmarshal(body, &p)
	st, body = e.Do("POST", "/api/v1/api-keys", e.AdminToken, `{"name":"vector on web-1","role":"ingest"}`)
	if st != 201 {
		t.Fatalf("create key: %d %s", st, body)
	}
	var k struct {
		ID  string `json:"id"`
		Key string `json:"key"`
	}
	_ = json.Unmarshal(body, &k)

	for _, svc := range []string{"paymon", "Paymon", " PAYMON "} {
		forged := fmt.Sprintf(`{"service":%q,"message":"payment refunded","payment_id":%q}`, svc, p.ID)
		st, body := e.Do("POST", "/api/v1/logs", k.Key, forged)
		if st != 422 || apitest.ErrorCode(body) != "invalid_log" || !strings.Contains(string(body), `"field":"service"`) || !strings.Contains(string(body), "reserved") {
			t.Errorf("forged service %q: %d %s, want 422 invalid_log on service", svc, st, body)
		}
	}
	// The admin may not write as Paymon either.
	if st, body := e.Do("POST", "/api/v1/logs", e.AdminToken, `{"service":"paymon","message":"x"}`); st != 422 {
		t.Errorf("admin posting as paymon: %d %s", st, body)
	}

	// What may be written records who wrote it: the key, the token the key
	// was exchanged for, or the user; a "source" in the body changes
	// nothing (refused, or kept as an attribute, never the source).
	if st, body := e.Do("POST", "/api/v1/logs", k.Key, fmt.Sprintf(`{"service":"checkout","message":"by key","payment_id":%q,"source":"paymon"}`, p.ID)); st != 200 && st != 422 {
		t.Fatalf("post by key with a source: %d %s", st, body)
	}
	if st, body := e.Do("POST", "/api/v1/logs", k.Key, fmt.Sprintf(`{"service":"checkout","message":"by key","payment_id":%q}`, p.ID)); st != 200 {
		t.Fatalf("post by key: %d %s", st, body)
	}
	st, body = e.Do("POST", "/api/v1/auth/token", "", map[string]string{"grant_type": "client_credentials", "client_id": k.ID, "client_secret": k.Key})
	if st != 200 {
		t.Fatalf("client credentials: %d %s", st, body)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	_ = json.Unmarshal(body, &tok)
	if st, body := e.Do("POST", "/api/v1/logs", tok.AccessToken, fmt.Sprintf(`{"service":"checkout","message":"by client token","payment_id":%q}`, p.ID)); st != 200 {
		t.Fatalf("post by client token: %d %s", st, body)
	}
	if st, body := e.Do("POST", "/api/v1/logs", e.AdminToken, fmt.Sprintf(`{"service":"backoffice","message":"by admin","payment_id":%q}`, p.ID)); st != 200 {
		t.Fatalf("post by admin: %d %s", st, body)
	}
	st, body = e.Do("GET", "/api/v1/me", e.AdminToken, nil)
	var me struct {
		ID string `json:"id"`
	}
	if st != 200 || json.Unmarshal(body, &me) != nil || me.ID == "" {
		t.Fatalf("me: %d %s", st, body)
	}

	l := waitLogs(t, e, "payment_id="+p.ID, 4)
	var raw struct {
		Data []struct {
			Service string `json:"service"`
			Message string `json:"message"`
			Source  string `json:"source"`
		} `json:"data"`
	}
	_, body = e.Do("GET", "/api/v1/logs?payment_id="+p.ID, e.AdminToken, nil)
	if err := json.Unmarshal(body, &raw); err != nil || len(raw.Data) != len(l.Data) {
		t.Fatalf("search: %v, %s", err, body)
	}
	own := 0
	for _, en := range raw.Data {
		want := map[string]string{"by key": "key:" + k.ID, "by client token": "key:" + k.ID, "by admin": "user:" + me.ID}[en.Message]
		if en.Service == "paymon" {
			want = "paymon"
			own++
		}
		if en.Source != want {
			t.Errorf("entry %q of %s: source %q, want %q", en.Message, en.Service, en.Source, want)
		}
	}
	if own == 0 {
		t.Errorf("found none of Paymon's own entries for the payment")
	}
}
