package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/paymon/paymon/internal/auth"
	"github.com/paymon/paymon/internal/dependency"
	"github.com/paymon/paymon/internal/payment"
	"github.com/paymon/paymon/internal/webhook"
)

// apiError is the one error shape every response uses.
type apiError struct {
	Status  int    `json:"-"`
	Code    string `json:"code"`
	Message string `json:"message"`
	Details any    `json:"details,omitempty"`
	// RetryAfter, in seconds, sets the Retry-After header (429, 503).
	RetryAfter int `json:"-"`
}

func (e *apiError) Error() string { return e.Code + ": " + e.Message }

func errBadRequest(code, msg string) *apiError {
	return &apiError{Status: http.StatusBadRequest, Code: code, Message: msg}
}

func errInvalid(field, msg string) *apiError {
	return &apiError{Status: http.StatusUnprocessableEntity, Code: "invalid_request", Message: msg, Details: map[string]string{"field": field}}
}

var (
	errUnauthenticated = &apiError{Status: http.StatusUnauthorized, Code: "unauthenticated", Message: "a valid bearer token is required"}
	errForbidden       = &apiError{Status: http.StatusForbidden, Code: "forbidden", Message: "your role does not allow this"}
	errNotFound        = &apiError{Status: http.StatusNotFound, Code: "not_found", Message: "no such resource"}
)

// toAPIError maps domain errors to client-safe errors. Anything it does not
// recognise is a 500 whose text stays in the server log.
func toAPIError(err error) *apiError {
	var ae *apiError
	var inv *payment.InvalidError
	var te *payment.TransitionError
	var mbe *http.MaxBytesError
	var winv *webhook.InvalidError
	switch {
	case errors.As(err, &ae):
		return ae
	case errors.As(err, &mbe):
		return &apiError{Status: http.StatusRequestEntityTooLarge, Code: "body_too_large", Message: fmt.Sprintf("request body exceeds %d bytes", mbe.Limit)}
	case errors.As(err, &inv):
		return errInvalid(inv.Field, inv.Error())
	case errors.As(err, &te):
		return &apiError{Status: http.StatusConflict, Code: "illegal_transition", Message: te.Error(), Details: map[string]string{"from": string(te.From), "to": string(te.To)}}
	case errors.As(err, &winv):
		return errInvalid(winv.Field, winv.Reason)
	case errors.Is(err, webhook.ErrNotFound):
		return errNotFound
	case errors.Is(err, payment.ErrNotFound):
		return &apiError{Status: http.StatusNotFound, Code: "not_found", Message: "payment not found"}
	case errors.Is(err, payment.ErrKeyReused):
		return &apiError{Status: http.StatusUnprocessableEntity, Code: "idempotency_key_reused", Message: err.Error()}
	case errors.Is(err, payment.ErrKeyInFlight):
		return &apiError{Status: http.StatusConflict, Code: "idempotency_key_in_flight", Message: err.Error(), RetryAfter: 1}
	case errors.Is(err, payment.ErrVersionConflict):
		return &apiError{Status: http.StatusConflict, Code: "concurrent_update", Message: "the payment changed concurrently; retry"}
	case errors.Is(err, auth.ErrInvalidCredentials):
		return &apiError{Status: http.StatusUnauthorized, Code: "invalid_grant", Message: "wrong email or password"}
	case errors.Is(err, auth.ErrInvalidToken), errors.Is(err, auth.ErrTokenReused):
		return &apiError{Status: http.StatusUnauthorized, Code: "invalid_grant", Message: err.Error()}
	case errors.Is(err, auth.ErrNotFound):
		return errNotFound
	case errors.Is(err, auth.ErrDuplicate):
		return &apiError{Status: http.StatusConflict, Code: "already_exists", Message: "already exists"}
	case errors.Is(err, dependency.ErrCorrupt): // before ErrUnavailable: it must not invite retries
		return errStoreCorrupt
	case errors.Is(err, dependency.ErrUnavailable), errors.Is(err, context.DeadlineExceeded):
		return &apiError{Status: http.StatusServiceUnavailable, Code: "unavailable", Message: "a dependency is unavailable; retry shortly", RetryAfter: 5}
	}
	return &apiError{Status: http.StatusInternalServerError, Code: "internal", Message: "internal error; quote the request id when reporting it"}
}

// writeError answers with the error envelope and logs what the client does
// not see.
func (s *server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	ae, body := renderError(r.Context(), err)
	if ae.Status >= 500 {
		s.log.LogAttrs(r.Context(), slog.LevelError, "request failed", slog.String("request_id", requestID(r.Context())),
			slog.String("method", r.Method), slog.String("path", r.URL.Path), slog.Int("status", ae.Status), slog.Any("err", err))
		s.reportServerError(r, ae.Status, err)
	}
	if ae.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(ae.RetryAfter))
	}
	writeRaw(w, ae.Status, body)
}

// renderError is the one place an error becomes the envelope's bytes.
func renderError(ctx context.Context, err error) (*apiError, []byte) {
	ae := toAPIError(err)
	type envelope struct {
		Error struct {
			*apiError
			RequestID string `json:"request_id"`
		} `json:"error"`
	}
	var env envelope
	env.Error.apiError = ae
	env.Error.RequestID = requestID(ctx)
	b, mErr := json.Marshal(env)
	if mErr != nil {
		// Details a caller filled with something unencodable: drop them
		// rather than send a body that is not the envelope.
		ae = &apiError{Status: ae.Status, Code: ae.Code, Message: ae.Message, RetryAfter: ae.RetryAfter}
		env.Error.apiError = ae
		b, _ = json.Marshal(env)
	}
	return ae, b
}

// RenderRefusal answers a payment refusal exactly as writeError would for
// the request in ctx; the payment service stores these bytes so that an
// idempotent replay of a refusal repeats them.
func RenderRefusal(ctx context.Context, err error) (int, []byte) {
	ae, b := renderError(ctx, err)
	return ae.Status, b
}

// writeJSON answers with v encoded. If v cannot be encoded nothing is
// written: the failure is handed to the observe middleware, which answers
// with the error envelope like any other 5xx (request id, server log, log
// store), instead of a bare text body here.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		failResponse(w, fmt.Errorf("cannot encode the response: %w", err))
		return
	}
	writeRaw(w, status, b)
}

// failResponse records err on the observe middleware's recorder under w;
// without one (a handler tested alone) it answers a bare 500 itself.
func failResponse(w http.ResponseWriter, err error) {
	for {
		switch x := w.(type) {
		case *recorder:
			if x.failure == nil {
				x.failure = err
			}
			return
		case interface{ Unwrap() http.ResponseWriter }:
			w = x.Unwrap()
		default:
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
	}
}

func writeRaw(w http.ResponseWriter, status int, b []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)+1))
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}
