package httpapi

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/paymon/paymon/internal/auth"
	"github.com/paymon/paymon/internal/metrics"
)

type ctxKey int

const (
	keyRequestID ctxKey = iota
	keyPrincipal
)

func requestID(ctx context.Context) string {
	s, _ := ctx.Value(keyRequestID).(string)
	return s
}

func principal(ctx context.Context) auth.Principal {
	p, _ := ctx.Value(keyPrincipal).(auth.Principal)
	return p
}

func newRequestID() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return "req_" + hex.EncodeToString(b)
}

// validRequestID accepts a caller's X-Request-Id only when it is short and
// plain, so it can be logged without escaping games.
func validRequestID(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, c := range s {
		if !(c == '-' || c == '_' || c == '.' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}

type recorder struct {
	http.ResponseWriter
	status int
	bytes  int
	// failure is a response the handler could not produce (failResponse);
	// observe answers it with the error envelope.
	failure error
}

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	n, err := r.ResponseWriter.Write(b)
	r.bytes += n
	return n, err
}

// Unwrap lets http.ResponseController and the WebSocket library reach the
// underlying connection (Flush, Hijack).
func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// observe is the outermost middleware: request id, panic recovery, access
// log and RED metrics labelled by the route pattern, never the raw path.
func (s *server) observe(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rid := r.Header.Get("X-Request-Id")
		if !validRequestID(rid) {
			rid = newRequestID()
		}
		w.Header().Set("X-Request-Id", rid)
		r = r.WithContext(context.WithValue(r.Context(), keyRequestID, rid))
		rec := &recorder{ResponseWriter: w}
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				err := fmt.Errorf("panic: %v\n%s", v, debug.Stack())
				if rec.status == 0 {
					s.writeError(rec, r, err)
				} else {
					s.log.Error("panic after response started", "request_id", rid, "err", err)
					s.reportServerError(r, 500, err)
				}
			}
			status := rec.status
			if status == 0 {
				status = http.StatusOK
			}
			route := r.Pattern
			if route == "" {
				route = "unmatched"
			} else if _, after, ok := strings.Cut(route, " "); ok {
				route = after
			}
			code := strconv.Itoa(status)
			d := time.Since(start)
			metrics.HTTPRequests.WithLabelValues(route, r.Method, code).Inc()
			// A stream's duration is how long the client stayed: it would
			// swamp every latency figure, so streams are only counted.
			if !strings.HasPrefix(route, "/api/v1/stream") {
				metrics.HTTPDuration.WithLabelValues(route, r.Method, code).Observe(d.Seconds())
			}
			if s.AccessLog {
				s.log.LogAttrs(r.Context(), slog.LevelInfo, "http", slog.String("request_id", rid), slog.String("method", r.Method),
					slog.String("route", route), slog.String("path", r.URL.Path), slog.Int("status", status),
					slog.Int("bytes", rec.bytes), slog.Duration("duration", d), slog.String("remote", r.RemoteAddr))
			}
		}()
		next.ServeHTTP(rec, r)
		if rec.failure != nil && rec.status == 0 {
			s.writeError(rec, r, rec.failure)
		}
	})
}

// limitBody caps every request body; handlers that accept more (log
// ingest) raise it themselves.
func (s *server) limitBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if isIngestRequest(r) {
			// Log ingest sets its own, larger limit (ingestbody.go); a second,
			// smaller MaxBytesReader here would cap it anyway.
			next.ServeHTTP(w, r)
			return
		}
		if r.ContentLength > s.maxBody {
			s.writeError(w, r, &http.MaxBytesError{Limit: s.maxBody})
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, s.maxBody)
		next.ServeHTTP(w, r)
	})
}

// bearer extracts the token from the Authorization header, or from the
// access_token query parameter on stream routes (browsers cannot set
// headers on a WebSocket).
func bearer(r *http.Request) string {
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, tok, ok := strings.Cut(h, " ")
		if ok && strings.EqualFold(scheme, "Bearer") {
			return strings.TrimSpace(tok)
		}
		return ""
	}
	if strings.HasPrefix(r.URL.Path, "/api/v1/stream") {
		return r.URL.Query().Get("access_token")
	}
	return ""
}

// shipperKey finds an ingest API key in the places log shippers put
// one: the password of Basic (any user name), Elasticsearch's ApiKey
// (the key itself, or base64 of "id:key" as ES clients send it), or
// X-API-Key. Only API keys are taken there, never a JWT: those come as
// Bearer only.
func shipperKey(r *http.Request) string {
	if h := strings.TrimSpace(r.Header.Get("Authorization")); h != "" {
		scheme, cred, _ := strings.Cut(h, " ")
		cred = strings.TrimSpace(cred)
		switch {
		case strings.EqualFold(scheme, "Basic"):
			if raw, err := base64.StdEncoding.DecodeString(cred); err == nil {
				if _, pass, ok := strings.Cut(string(raw), ":"); ok && isAPIKey(pass) {
					return pass
				}
			}
		case strings.EqualFold(scheme, "ApiKey"):
			if isAPIKey(cred) {
				return cred
			}
			if raw, err := base64.StdEncoding.DecodeString(cred); err == nil {
				k := string(raw)
				if _, after, ok := strings.Cut(k, ":"); ok {
					k = after
				}
				if isAPIKey(k) {
					return k
				}
			}
		}
	}
	if k := strings.TrimSpace(r.Header.Get("X-API-Key")); isAPIKey(k) {
		return k
	}
	return ""
}

func isAPIKey(s string) bool {
	return strings.HasPrefix(s, auth.APIKeyPrefix) && len(s) > len(auth.APIKeyPrefix)
}

// require authenticates the caller and checks one permission.
func (s *server) require(perm auth.Permission, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		tok := bearer(r)
		if tok == "" {
			tok = shipperKey(r)
		}
		if tok == "" {
			w.Header().Set("WWW-Authenticate", `Bearer realm="paymon"`)
			w.Header().Add("WWW-Authenticate", `Basic realm="paymon"`)
			s.writeError(w, r, errUnauthenticated)
			return
		}
		p, err := s.Auth.Authenticate(r.Context(), tok)
		if err != nil {
			w.Header().Set("WWW-Authenticate", `Bearer realm="paymon", error="invalid_token"`)
			if ae := toAPIError(err); ae.Status >= 500 {
				s.writeError(w, r, err)
				return
			}
			s.writeError(w, r, errUnauthenticated)
			return
		}
		if !p.Role.Can(perm) {
			s.writeError(w, r, errForbidden)
			return
		}
		h(w, r.WithContext(context.WithValue(r.Context(), keyPrincipal, p)))
	}
}
