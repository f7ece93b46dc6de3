package httpapi_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/paymon/paymon/internal/apitest"
)

func TestEventsAPIPagesAndRefusesBadInput(t *testing.T) {
	e := apitest.New(t, "PAYMON_SIMULATOR_FAILURE_RATE=0")
	var pid string
	for i := 0; i < 3; i++ {
		st, body := e.Do("POST", "/api/v1/payments", e.AdminToken, `{"amount":100,"currency":"EUR","metadata":{"simulate":"succeed"}}`)
		if st != 201 {
			t.Fatalf("create: %d %s", st, body)
		}
		var p struct{ ID string }
		_ = json.Unmarshal(body, &p)
		pid = p.ID
	}
	type page struct {
		Data []struct {
			ID string `json:"id"`
		} `json:"data"`
		HasMore bool `json:"has_more"`
	}
	var first, second page
	st, body := e.Do("GET", "/api/v1/events?limit=4", e.AdminToken, nil)
	if st != 200 || json.Unmarshal(body, &first) != nil || len(first.Data) != 4 || !first.HasMore {
		t.Fatalf("first page: %d %s", st, body)
	}
	st, body = e.Do("GET", "/api/v1/events?limit=4&starting_after="+first.Data[3].ID, e.AdminToken, nil)
	if st != 200 || json.Unmarshal(body, &second) != nil || len(second.Data) != 2 || second.HasMore {
		t.Fatalf("second page: %d %s", st, body)
	}
	seen := map[string]bool{}
	for _, d := range append(first.Data, second.Data...) {
		if seen[d.ID] {
			t.Fatalf("event %s on both pages", d.ID)
		}
		seen[d.ID] = true
	}
	st, body = e.Do("GET", "/api/v1/events?payment_id="+pid, e.AdminToken, nil)
	if st != 200 || strings.Count(string(body), `"payment_id":"`+pid+`"`) != 2 {
		t.Fatalf("events of %s: %d %s", pid, st, body)
	}
	for q, want := range map[string]int{
		"type=payment.nope":                    400,
		"limit=0":                              400,
		"created_from=yesterday":               400,
		"starting_after=nope":                  400,
		"starting_after=evt_01m8thcp5kgd7xj_9": 422,
		"payment_id=x":                         400,
	} {
		if st, body := e.Do("GET", "/api/v1/events?"+q, e.AdminToken, nil); st != want {
			t.Errorf("%s: %d %s, want %d", q, st, body, want)
		}
	}
	if st, _ := e.Do("GET", "/api/v1/events/evt_01m8thcp5kgd7xj6ktm5zft35s_1", e.AdminToken, nil); st != 404 {
		t.Errorf("unknown event: %d", st)
	}
	if st, _ := e.Do("POST", "/api/v1/events/evt_01m8thcp5kgd7xj6ktm5zft35s_1/resend", e.AdminToken, nil); st != 404 {
		t.Errorf("resend of an unknown event: %d", st)
	}
}

func TestEndpointLifecycleAndRoles(t *testing.T) {
	e := apitest.New(t, "PAYMON_WEBHOOK_ALLOW_PRIVATE=true")
	st, body := e.Do("POST", "/api/v1/webhook-endpoints", e.AdminToken, `{"url":"http://127.0.0.1:9/hook","event_types":["payment.succeeded","payment.refunded"]}`)
	var ep struct {
		ID, Secret, URL string
		Enabled         bool
		EventTypes      []string `json:"event_types"`
		PrevExpiry      *string  `json:"previous_secret_expires_at"`
	}
	if st != 201 || json.Unmarshal(body, &ep) != nil || !strings.HasPrefix(ep.Secret, "whsec_") || !ep.Enabled || len(ep.EventTypes) != 2 {
		t.Fatalf("create: %d %s", st, body)
	}
	first := ep.Secret
	st, body = e.Do("POST", "/api/v1/webhook-endpoints/"+ep.ID+"/rotate-secret", e.AdminToken, nil)
	if st != 200 || json.Unmarshal(body, &ep) != nil || ep.Secret == first || !strings.HasPrefix(ep.Secret, "whsec_") || ep.PrevExpiry == nil {
		t.Fatalf("rotate: %d %s", st, body)
	}
	st, body = e.Do("PATCH", "/api/v1/webhook-endpoints/"+ep.ID, e.AdminToken, `{"enabled":false,"description":"paused","event_types":["*"]}`)
	if st != 200 || !strings.Contains(string(body), `"enabled":false`) || !strings.Contains(string(body), `"event_types":["*"]`) || strings.Contains(string(body), "whsec_") {
		t.Fatalf("patch: %d %s", st, body)
	}
	for _, b := range []string{`{"url":"nope"}`, `{"event_types":["*","payment.failed"]}`, `{"event_types":["payment.failed","payment.failed"]}`, `{"description":"` + strings.Repeat("x", 501) + `"}`} {
		if st, body := e.Do("PATCH", "/api/v1/webhook-endpoints/"+ep.ID, e.AdminToken, b); st != 422 {
			t.Errorf("patch %s: %d %s, want 422", b[:min(len(b), 40)], st, body)
		}
	}
	if st, body := e.Do("PATCH", "/api/v1/webhook-endpoints/"+ep.ID, e.AdminToken, `{"secret":"mine"}`); st != 400 {
		t.Errorf("patch of an unknown field: %d %s", st, body)
	}
	viewer := e.UserToken("viewer@example.test", "viewer")
	operator := e.UserToken("operator@example.test", "operator")
	for _, c := range []struct {
		method, path, token string
		want                int
	}{
		{"GET", "/api/v1/webhook-endpoints", viewer, 403},
		{"GET", "/api/v1/webhook-endpoints", operator, 200},
		{"GET", "/api/v1/webhook-endpoints/" + ep.ID + "/deliveries", operator, 200},
		{"DELETE", "/api/v1/webhook-endpoints/" + ep.ID, operator, 403},
		{"POST", "/api/v1/webhook-endpoints/" + ep.ID + "/rotate-secret", operator, 403},
		{"GET", "/api/v1/events", viewer, 200},
		{"GET", "/api/v1/webhook-endpoints/we_nope", e.AdminToken, 404},
		{"DELETE", "/api/v1/webhook-endpoints/" + ep.ID, e.AdminToken, 204},
		{"GET", "/api/v1/webhook-endpoints/" + ep.ID, e.AdminToken, 404},
		{"DELETE", "/api/v1/webhook-endpoints/" + ep.ID, e.AdminToken, 404},
	} {
		if st, body := e.Do(c.method, c.path, c.token, nil); st != c.want {
			t.Errorf("%s %s: %d %s, want %d", c.method, c.path, st, body, c.want)
		}
	}
}
