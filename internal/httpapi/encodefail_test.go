package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// Issue 12, item 2: a response that cannot be encoded is a 5xx like any
// other: the envelope with its request id, the server log with the cause,
// and the log store (through ServerErrors).
func TestEncodingFailureIsAnEnvelopedLoggedServerError(t *testing.T) {
	var logged bytes.Buffer
	var reported error
	var reportedID string
	s := &server{Deps: Deps{ServerErrors: func(_ context.Context, rid, _, _ string, status int, err error) {
		reportedID, reported = rid, err
	}}, log: slog.New(slog.NewTextHandler(&logged, nil))}
	h := s.observe(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]float64{"x": math.NaN()})
	}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/api/v1/logs/stats", nil))
	if rec.Code != 500 || rec.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("status %d, type %q: %s", rec.Code, rec.Header().Get("Content-Type"), rec.Body)
	}
	var env struct {
		Error struct {
			Code, Message string
			RequestID     string `json:"request_id"`
		} `json:"error"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &env); err != nil {
		t.Fatalf("not an envelope: %s", rec.Body)
	}
	rid := rec.Header().Get("X-Request-Id")
	if env.Error.Code != "internal" || env.Error.RequestID == "" || env.Error.RequestID != rid {
		t.Fatalf("envelope %+v, X-Request-Id %q", env.Error, rid)
	}
	if strings.Contains(rec.Body.String(), "NaN") {
		t.Fatalf("internal detail reached the client: %s", rec.Body)
	}
	if reported == nil || !strings.Contains(reported.Error(), "cannot encode the response") || reportedID != rid {
		t.Fatalf("reported %v for %q", reported, reportedID)
	}
	if !strings.Contains(logged.String(), "cannot encode the response") || !strings.Contains(logged.String(), rid) {
		t.Fatalf("server log: %s", logged.String())
	}
}
