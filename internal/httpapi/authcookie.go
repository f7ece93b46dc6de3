package httpapi

import (
	"net/http"
	"time"

	"github.com/paymon/paymon/internal/auth"
)

// The dashboard keeps its refresh token where its own script cannot read
// it: an HttpOnly cookie, sent only to the auth endpoints. API clients
// keep the OAuth2 contract (refresh_token in the JSON answer); the cookie
// is used only when the request carries refreshCookieHeader, which a
// cross-site page cannot add without a CORS preflight Paymon never grants
// (on top of SameSite=Strict).
const (
	refreshCookieName   = "paymon_refresh"
	refreshCookiePath   = "/api/v1/auth" // the token endpoint and logout
	refreshCookieHeader = "X-Paymon-Refresh-Cookie"
	// refreshCookieMaxAge matches the refresh token's default lifetime
	// (auth.Options.RefreshTTL): the cookie never outlives the token.
	refreshCookieMaxAge = 30 * 24 * time.Hour
)

// wantsRefreshCookie reports whether the client asked for cookie mode.
func wantsRefreshCookie(r *http.Request) bool {
	return r.Header.Get(refreshCookieHeader) == "1"
}

// refreshFromCookie returns the refresh token of the cookie, in cookie
// mode only.
func refreshFromCookie(r *http.Request) string {
	if !wantsRefreshCookie(r) {
		return ""
	}
	c, err := r.Cookie(refreshCookieName)
	if err != nil {
		return ""
	}
	return c.Value
}

// moveRefreshToCookie puts pair's refresh token into the cookie and takes
// it out of the JSON answer, in cookie mode.
func moveRefreshToCookie(w http.ResponseWriter, r *http.Request, pair *auth.TokenPair) {
	if !wantsRefreshCookie(r) || pair.RefreshToken == "" {
		return
	}
	setRefreshCookie(w, r, pair.RefreshToken, int(refreshCookieMaxAge.Seconds()))
	pair.RefreshToken = ""
}

func setRefreshCookie(w http.ResponseWriter, r *http.Request, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{
		Name: refreshCookieName, Value: value, Path: refreshCookiePath, MaxAge: maxAge,
		HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode,
	})
}

// logout revokes the session of the refresh token in the cookie (or in a
// refresh_token form field, for API clients) and clears the cookie. It is
// public: the access token may well have expired already.
func (s *server) logout(w http.ResponseWriter, r *http.Request) {
	rt := ""
	if c, err := r.Cookie(refreshCookieName); err == nil {
		rt = c.Value
	}
	if rt == "" && r.Header.Get("Content-Type") == "application/x-www-form-urlencoded" {
		if err := r.ParseForm(); err != nil {
			s.writeError(w, r, errBadRequest("invalid_request", "cannot parse the form body"))
			return
		}
		rt = r.PostForm.Get("refresh_token")
	}
	if rt != "" {
		if err := s.Auth.Logout(r.Context(), rt); err != nil {
			s.writeError(w, r, err)
			return
		}
	}
	setRefreshCookie(w, r, "", -1)
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusNoContent)
}
