package httpapi

import (
	"encoding/json"
	"errors"
	"mime"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/paymon/paymon/internal/auth"
)

// tokenRequest is the OAuth2 token request (RFC 6749 §4.3, §4.4, §6),
// accepted as a form (the standard) or as JSON.
type tokenRequest struct {
	GrantType    string `json:"grant_type"`
	Username     string `json:"username"`
	Password     string `json:"password"`
	RefreshToken string `json:"refresh_token"`
	ClientID     string `json:"client_id"`
	ClientSecret string `json:"client_secret"`
}

// tokensPerMinute limits the refresh and client-credentials grants per
// address. Password logins have their own throttle (login_throttle.go),
// which slows a guesser without ever refusing the right password.
const tokensPerMinute = 30

func (s *server) token(w http.ResponseWriter, r *http.Request) {
	var req tokenRequest
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch mt {
	case "application/json":
		if err := decodeJSON(r, &req, false); err != nil {
			s.writeError(w, r, err)
			return
		}
	case "application/x-www-form-urlencoded":
		if err := r.ParseForm(); err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				s.writeError(w, r, err)
				return
			}
			s.writeError(w, r, errBadRequest("invalid_request", "cannot parse the form body"))
			return
		}
		req = tokenRequest{GrantType: r.PostForm.Get("grant_type"), Username: r.PostForm.Get("username"), Password: r.PostForm.Get("password"),
			RefreshToken: r.PostForm.Get("refresh_token"), ClientID: r.PostForm.Get("client_id"), ClientSecret: r.PostForm.Get("client_secret")}
	default:
		s.writeError(w, r, &apiError{Status: http.StatusUnsupportedMediaType, Code: "unsupported_media_type", Message: "send application/x-www-form-urlencoded (or application/json)"})
		return
	}
	if id, secret, ok := r.BasicAuth(); ok && req.ClientSecret == "" {
		req.ClientID, req.ClientSecret = id, secret
	}
	if req.GrantType != "password" {
		if err := s.rateLimit(r, "token", tokensPerMinute); err != nil {
			s.writeError(w, r, err)
			return
		}
	}
	var pair auth.TokenPair
	var err error
	switch req.GrantType {
	case "password":
		if req.Username == "" || req.Password == "" {
			s.writeError(w, r, errBadRequest("invalid_request", "username and password are required"))
			return
		}
		pair, err = s.login(r, req.Username, req.Password)
	case "refresh_token":
		if req.RefreshToken == "" {
			req.RefreshToken = refreshFromCookie(r) // authcookie.go
		}
		if req.RefreshToken == "" {
			s.writeError(w, r, errBadRequest("invalid_request", "refresh_token is required"))
			return
		}
		pair, err = s.Auth.Refresh(r.Context(), req.RefreshToken)
	case "client_credentials":
		if req.ClientSecret == "" {
			s.writeError(w, r, errBadRequest("invalid_request", "client_secret (an API key) is required"))
			return
		}
		pair, err = s.Auth.ClientCredentials(r.Context(), req.ClientID, req.ClientSecret)
	case "":
		s.writeError(w, r, errBadRequest("invalid_request", "grant_type is required"))
		return
	default:
		s.writeError(w, r, errBadRequest("unsupported_grant_type", "grant_type must be password, refresh_token or client_credentials"))
		return
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	moveRefreshToCookie(w, r, &pair) // authcookie.go
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, pair)
}

// rateLimit allows n requests per minute per client address and bucket,
// counted in the shared cache so every instance enforces one limit.
func (s *server) rateLimit(r *http.Request, bucket string, n int64) error {
	if s.Limiter == nil {
		return nil
	}
	now := time.Now()
	key := "ratelimit:" + bucket + ":" + clientAddress(r) + ":" + strconv.FormatInt(now.Unix()/60, 10)
	count, err := s.Limiter.Incr(r.Context(), key, 2*time.Minute)
	if err != nil {
		s.log.Warn("rate limiter unavailable; allowing the request", "err", err)
		return nil
	}
	if count > n {
		return &apiError{Status: http.StatusTooManyRequests, Code: "rate_limited", Message: "too many requests; slow down", RetryAfter: 60 - int(now.Unix()%60)}
	}
	return nil
}

// clientAddress is the caller's IP address, without the port.
func clientAddress(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func (s *server) me(w http.ResponseWriter, r *http.Request) {
	p := principal(r.Context())
	writeJSON(w, http.StatusOK, map[string]string{"id": p.ID, "email": p.Email, "role": string(p.Role), "kind": p.Kind})
}

func (s *server) createUser(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Email    string    `json:"email"`
		Password string    `json:"password"`
		Role     auth.Role `json:"role"`
	}
	if err := decodeJSON(r, &req, false); err != nil {
		s.writeError(w, r, err)
		return
	}
	if !req.Role.Valid() || req.Role == auth.RoleIngest {
		s.writeError(w, r, errInvalid("role", "role must be admin, operator or viewer"))
		return
	}
	u, err := s.Auth.CreateUser(r.Context(), req.Email, req.Password, req.Role)
	if err != nil {
		if errors.Is(err, auth.ErrBusy) {
			s.writeError(w, r, errLoginBusy)
			return
		}
		if errors.Is(err, auth.ErrDuplicate) {
			s.writeError(w, r, &apiError{Status: http.StatusConflict, Code: "already_exists", Message: "a user with this email exists"})
			return
		}
		if toAPIError(err).Status == http.StatusInternalServerError {
			s.writeError(w, r, errInvalid("user", err.Error()))
			return
		}
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"id": u.ID, "email": u.Email, "role": u.Role, "created_at": u.CreatedAt})
}

func (s *server) createAPIKey(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Name string    `json:"name"`
		Role auth.Role `json:"role"`
	}
	if err := decodeJSON(r, &req, false); err != nil {
		s.writeError(w, r, err)
		return
	}
	if req.Role == "" {
		req.Role = auth.RoleIngest
	}
	if !req.Role.Valid() {
		s.writeError(w, r, errInvalid("role", "role must be ingest, viewer, operator or admin"))
		return
	}
	if req.Name == "" || len(req.Name) > 100 {
		s.writeError(w, r, errInvalid("name", "name must be 1 to 100 characters"))
		return
	}
	k, secret, err := s.Auth.CreateAPIKey(r.Context(), req.Name, req.Role, principal(r.Context()).ID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	b, _ := json.Marshal(k)
	var out map[string]any
	_ = json.Unmarshal(b, &out)
	out["key"] = secret
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusCreated, out)
}

func (s *server) listAPIKeys(w http.ResponseWriter, r *http.Request) {
	ks, err := s.Auth.ListAPIKeys(r.Context())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": ks, "has_more": false})
}

func (s *server) revokeAPIKey(w http.ResponseWriter, r *http.Request) {
	if err := s.Auth.RevokeAPIKey(r.Context(), r.PathValue("id")); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
