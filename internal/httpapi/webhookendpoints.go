package httpapi

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/paymon/paymon/internal/id"
	"github.com/paymon/paymon/internal/webhook"
)

// endpointJSON is an endpoint as the API shows it: the secret only in the
// answer to a create or a rotation.
type endpointJSON struct {
	ID                   string     `json:"id"`
	URL                  string     `json:"url"`
	EventTypes           []string   `json:"event_types"`
	Enabled              bool       `json:"enabled"`
	Description          string     `json:"description"`
	DisabledReason       string     `json:"disabled_reason"`
	Secret               string     `json:"secret,omitempty"`
	PreviousSecretExpiry *time.Time `json:"previous_secret_expires_at"`
	CreatedAt            time.Time  `json:"created_at"`
	UpdatedAt            time.Time  `json:"updated_at"`
}

func renderEndpoint(e webhook.Endpoint, withSecret bool) endpointJSON {
	out := endpointJSON{ID: e.ID, URL: e.URL, EventTypes: e.EventTypes, Enabled: e.Enabled, Description: e.Description,
		DisabledReason: e.DisabledReason, CreatedAt: e.CreatedAt, UpdatedAt: e.UpdatedAt}
	if withSecret {
		out.Secret = e.Secret
	}
	if e.PrevSecret != "" && time.Now().Before(e.PrevSecretUntil) {
		t := e.PrevSecretUntil
		out.PreviousSecretExpiry = &t
	}
	if out.EventTypes == nil {
		out.EventTypes = []string{}
	}
	return out
}

// webhookError maps the webhook package's errors onto the envelope.

func (s *server) webhooksOff(w http.ResponseWriter, r *http.Request) bool {
	if s.Webhooks == nil {
		s.writeError(w, r, &apiError{Status: http.StatusNotFound, Code: "not_found", Message: "webhooks are not enabled on this server"})
		return true
	}
	return false
}

type endpointBody struct {
	URL         *string   `json:"url"`
	EventTypes  *[]string `json:"event_types"`
	Enabled     *bool     `json:"enabled"`
	Description *string   `json:"description"`
}

func (b endpointBody) input() webhook.EndpointInput {
	in := webhook.EndpointInput{URL: b.URL, Enabled: b.Enabled, Description: b.Description}
	if b.EventTypes != nil {
		in.EventTypes = *b.EventTypes
		if in.EventTypes == nil {
			in.EventTypes = []string{}
		}
	}
	return in
}

func (s *server) createEndpoint(w http.ResponseWriter, r *http.Request) {
	if s.webhooksOff(w, r) {
		return
	}
	var b endpointBody
	if err := decodeJSON(r, &b, false); err != nil {
		s.writeError(w, r, err)
		return
	}
	e, err := s.Webhooks.CreateEndpoint(r.Context(), b.input())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, renderEndpoint(e, true))
}

func (s *server) listEndpoints(w http.ResponseWriter, r *http.Request) {
	if s.webhooksOff(w, r) {
		return
	}
	eps, err := s.Webhooks.ListEndpoints(r.Context())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	data := make([]endpointJSON, len(eps))
	for i, e := range eps {
		data[i] = renderEndpoint(e, false)
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": data, "has_more": false})
}

// endpointID reads {id}; a malformed id is simply not found.
func (s *server) endpointID(w http.ResponseWriter, r *http.Request) (string, bool) {
	if s.webhooksOff(w, r) {
		return "", false
	}
	v := r.PathValue("id")
	if !id.Valid("we", v) {
		s.writeError(w, r, errNotFound)
		return "", false
	}
	return v, true
}

func (s *server) getEndpoint(w http.ResponseWriter, r *http.Request) {
	eid, ok := s.endpointID(w, r)
	if !ok {
		return
	}
	e, err := s.Webhooks.GetEndpoint(r.Context(), eid)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, renderEndpoint(e, false))
}

func (s *server) updateEndpoint(w http.ResponseWriter, r *http.Request) {
	eid, ok := s.endpointID(w, r)
	if !ok {
		return
	}
	var b endpointBody
	if err := decodeJSON(r, &b, false); err != nil {
		s.writeError(w, r, err)
		return
	}
	e, err := s.Webhooks.UpdateEndpoint(r.Context(), eid, b.input())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, renderEndpoint(e, false))
}

func (s *server) deleteEndpoint(w http.ResponseWriter, r *http.Request) {
	eid, ok := s.endpointID(w, r)
	if !ok {
		return
	}
	if err := s.Webhooks.DeleteEndpoint(r.Context(), eid); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *server) rotateEndpointSecret(w http.ResponseWriter, r *http.Request) {
	eid, ok := s.endpointID(w, r)
	if !ok {
		return
	}
	if err := decodeJSON(r, &struct{}{}, true); err != nil {
		s.writeError(w, r, err)
		return
	}
	e, err := s.Webhooks.RotateSecret(r.Context(), eid)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, renderEndpoint(e, true))
}

func (s *server) listDeliveries(w http.ResponseWriter, r *http.Request) {
	eid, ok := s.endpointID(w, r)
	if !ok {
		return
	}
	limit, err := intParam(r, "limit", 20, 1, 100)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	after := r.URL.Query().Get("starting_after")
	if after != "" && !id.Valid("whd", after) {
		s.writeError(w, r, errBadRequest("invalid_parameter", "starting_after must be a delivery id"))
		return
	}
	ds, more, err := s.Webhooks.ListDeliveries(r.Context(), eid, after, limit)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": ds, "has_more": more})
}

// eventsPage renders events as {"data":[…],"has_more":…}.
func eventsPage(evs []webhook.Event, more bool) map[string]any {
	data := make([]json.RawMessage, len(evs))
	for i, e := range evs {
		data[i] = e.Body()
	}
	return map[string]any{"data": data, "has_more": more}
}
