package httpapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/paymon/paymon/internal/id"
	"github.com/paymon/paymon/internal/money"
	"github.com/paymon/paymon/internal/payment"
)

const maxIdempotencyKey = 255

func idempotencyKey(r *http.Request) (string, error) {
	k := r.Header.Get("Idempotency-Key")
	if len(k) > maxIdempotencyKey {
		return "", errBadRequest("invalid_idempotency_key", "Idempotency-Key must be at most 255 characters")
	}
	for _, c := range k {
		if c < 0x21 || c > 0x7e {
			return "", errBadRequest("invalid_idempotency_key", "Idempotency-Key must be printable ASCII without spaces")
		}
	}
	return k, nil
}

// keyedBody reads a write's Idempotency-Key and its JSON body, and
// returns the raw body too (nil when unread) for refuse.
func keyedBody(r *http.Request, v any, allowEmpty bool) (string, []byte, error) {
	key, err := idempotencyKey(r)
	if err != nil {
		return "", nil, err
	}
	raw, err := readJSON(r, v, allowEmpty)
	return key, raw, err
}

// refuse answers a payment write refused before the payment service saw
// it. Under an Idempotency-Key the refusal is remembered with the bytes it
// refused, so a retry gets the very same answer; refundOf is the payment
// of a refund, "" for a create.
func (s *server) refuse(w http.ResponseWriter, r *http.Request, refundOf, key string, raw []byte, refusal error) {
	if key == "" || raw == nil {
		s.writeError(w, r, refusal)
		return
	}
	status, body, err := s.Payments.Refuse(r.Context(), principal(r.Context()).ID, key, refundOf, raw, refusal)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeRaw(w, status, body)
}

func (s *server) createPayment(w http.ResponseWriter, r *http.Request) {
	var req payment.CreateRequest
	key, raw, err := keyedBody(r, &req, false)
	if err != nil {
		s.refuse(w, r, "", key, raw, err)
		return
	}
	status, body, err := s.Payments.Create(r.Context(), principal(r.Context()).ID, key, req)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if key != "" {
		w.Header().Set("Idempotency-Key", key)
	}
	writeRaw(w, status, body)
}

func (s *server) getPayment(w http.ResponseWriter, r *http.Request) {
	pid := r.PathValue("id")
	if !id.Valid("pay", pid) {
		s.writeError(w, r, &apiError{Status: http.StatusNotFound, Code: "not_found", Message: "payment not found"})
		return
	}
	p, err := s.Payments.Get(r.Context(), pid)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeRaw(w, http.StatusOK, payment.Render(p))
}

// list renders payments as {"data":[…],"has_more":…}.
func writePayments(w http.ResponseWriter, ps []*payment.Payment, hasMore bool) {
	data := make([]json.RawMessage, len(ps))
	for i, p := range ps {
		data[i] = payment.Render(p)
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": data, "has_more": hasMore})
}

func (s *server) recentPayments(w http.ResponseWriter, r *http.Request) {
	n, err := intParam(r, "limit", 20, 1, 100)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	ps, source, err := s.Payments.Recent(r.Context(), n)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("X-Paymon-Source", source)
	writePayments(w, ps, false)
}

func (s *server) listPayments(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var f payment.ListFilter
	var err error
	if f.Limit, err = intParam(r, "limit", 20, 1, 100); err != nil {
		s.writeError(w, r, err)
		return
	}
	if v := q.Get("status"); v != "" {
		if f.Status = payment.Status(v); !f.Status.Valid() {
			s.writeError(w, r, errBadRequest("invalid_parameter", "status must be pending, succeeded, failed, refunded or canceled"))
			return
		}
	}
	if v := q.Get("currency"); v != "" {
		if _, err := money.Lookup(v); err != nil {
			s.writeError(w, r, errBadRequest("invalid_parameter", "currency: "+err.Error()))
			return
		}
		f.Currency = v
	}
	f.Provider = q.Get("provider")
	if f.CreatedFrom, err = timeParam(r, "created_from"); err != nil {
		s.writeError(w, r, err)
		return
	}
	if f.CreatedTo, err = timeParam(r, "created_to"); err != nil {
		s.writeError(w, r, err)
		return
	}
	if v := q.Get("starting_after"); v != "" {
		if !id.Valid("pay", v) {
			s.writeError(w, r, errBadRequest("invalid_parameter", "starting_after must be a payment id"))
			return
		}
		f.StartingAfter = v
	}
	ps, more, err := s.Payments.List(r.Context(), f)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writePayments(w, ps, more)
}

// refundBody is the wire form of a refund: amount is raw so that an
// omitted amount ("refund the rest") is told apart from 0 or null, which
// the payment service refuses rather than read as "everything".
type refundBody struct {
	Amount json.RawMessage `json:"amount"`
	Reason string          `json:"reason"`
}

func (b refundBody) request() (payment.RefundRequest, error) {
	req := payment.RefundRequest{Reason: b.Reason}
	if b.Amount == nil {
		return req, nil
	}
	var n int64
	if string(b.Amount) != "null" {
		var err error
		if n, err = strconv.ParseInt(string(b.Amount), 10, 64); err != nil {
			return req, errInvalid("amount", "amount must be a positive integer number of minor units; omit it to refund the rest")
		}
	}
	req.Amount = &n
	return req, nil
}

func (s *server) refundPayment(w http.ResponseWriter, r *http.Request) {
	var in refundBody
	pid := r.PathValue("id")
	key, raw, err := keyedBody(r, &in, true)
	if err != nil {
		s.refuse(w, r, pid, key, raw, err)
		return
	}
	req, err := in.request()
	if err != nil {
		s.refuse(w, r, pid, key, raw, err)
		return
	}
	if !id.Valid("pay", pid) {
		s.refuse(w, r, pid, key, raw, payment.ErrNotFound)
		return
	}
	status, body, err := s.Payments.Refund(r.Context(), principal(r.Context()).ID, key, pid, req)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeRaw(w, status, body)
}

func (s *server) cancelPayment(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Reason string `json:"reason"`
	}
	if err := decodeJSON(r, &req, true); err != nil {
		s.writeError(w, r, err)
		return
	}
	pid := r.PathValue("id")
	if !id.Valid("pay", pid) {
		s.writeError(w, r, payment.ErrNotFound)
		return
	}
	p, err := s.Payments.Cancel(r.Context(), pid, req.Reason)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeRaw(w, http.StatusOK, payment.Render(p))
}

func intParam(r *http.Request, name string, def, lo, hi int) (int, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		return 0, errBadRequest("invalid_parameter", name+" must be an integer from "+strconv.Itoa(lo)+" to "+strconv.Itoa(hi))
	}
	return n, nil
}

// The range of times a query parameter may name.
const minParamYear, maxParamYear = 1970, 2999

func timeParam(r *http.Request, name string) (time.Time, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return time.Time{}, errBadRequest("invalid_parameter", name+" must be an RFC 3339 time like 2026-01-02T15:04:05Z")
	}
	// Times far outside any data would overflow what a response can hold
	// (bucket arithmetic past year 9999 cannot be encoded): refuse them.
	if y := t.UTC().Year(); y < minParamYear || y > maxParamYear {
		return time.Time{}, errBadRequest("invalid_parameter", fmt.Sprintf("%s must be between the years %d and %d", name, minParamYear, maxParamYear))
	}
	return t.UTC(), nil
}
