package httpapi

import (
	"net/http"

	"github.com/paymon/paymon/internal/id"
	"github.com/paymon/paymon/internal/webhook"
)

func (s *server) listEvents(w http.ResponseWriter, r *http.Request) {
	if s.webhooksOff(w, r) {
		return
	}
	q := r.URL.Query()
	var f webhook.EventFilter
	var err error
	if f.Limit, err = intParam(r, "limit", 20, 1, 100); err != nil {
		s.writeError(w, r, err)
		return
	}
	if f.Type = q.Get("type"); f.Type != "" && !webhook.ValidEventType(f.Type) {
		s.writeError(w, r, errBadRequest("invalid_parameter", "type must be one of payment.created, payment.succeeded, payment.failed, payment.partially_refunded, payment.refunded, payment.canceled"))
		return
	}
	if f.PaymentID = q.Get("payment_id"); f.PaymentID != "" && !id.Valid("pay", f.PaymentID) {
		s.writeError(w, r, errBadRequest("invalid_parameter", "payment_id must be a payment id"))
		return
	}
	if f.CreatedFrom, err = timeParam(r, "created_from"); err != nil {
		s.writeError(w, r, err)
		return
	}
	if f.CreatedTo, err = timeParam(r, "created_to"); err != nil {
		s.writeError(w, r, err)
		return
	}
	after := q.Get("starting_after")
	if after != "" && !webhook.ValidEventID(after) {
		s.writeError(w, r, errBadRequest("invalid_parameter", "starting_after must be an event id"))
		return
	}
	evs, more, err := s.Webhooks.ListEvents(r.Context(), f, after)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, eventsPage(evs, more))
}

func (s *server) getEvent(w http.ResponseWriter, r *http.Request) {
	if s.webhooksOff(w, r) {
		return
	}
	eid := r.PathValue("id")
	if !webhook.ValidEventID(eid) {
		s.writeError(w, r, errNotFound)
		return
	}
	ev, err := s.Webhooks.GetEvent(r.Context(), eid)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeRaw(w, http.StatusOK, ev.Body())
}

func (s *server) resendEvent(w http.ResponseWriter, r *http.Request) {
	if s.webhooksOff(w, r) {
		return
	}
	var b struct {
		EndpointID string `json:"endpoint_id"`
	}
	if err := decodeJSON(r, &b, true); err != nil {
		s.writeError(w, r, err)
		return
	}
	eid := r.PathValue("id")
	if !webhook.ValidEventID(eid) {
		s.writeError(w, r, errNotFound)
		return
	}
	if b.EndpointID != "" && !id.Valid("we", b.EndpointID) {
		s.writeError(w, r, errInvalid("endpoint_id", "endpoint_id must be a webhook endpoint id"))
		return
	}
	queued, err := s.Webhooks.Resend(r.Context(), eid, b.EndpointID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]any{"event_id": eid, "endpoint_ids": queued})
}
