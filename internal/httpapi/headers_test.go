package httpapi_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/paymon/paymon/internal/apitest"
)

// TestSecurityHeadersOnDashboardAndAPI: every answer, dashboard page or
// API JSON, forbids framing, sniffing and referrers and restricts
// features; the dashboard's CSP allows no inline script; HSTS is sent
// over TLS only.
func TestSecurityHeadersOnDashboardAndAPI(t *testing.T) {
	e := apitest.New(t)
	tlsSrv := httptest.NewTLSServer(e.App.Handler)
	t.Cleanup(tlsSrv.Close)

	for _, tc := range []struct {
		name, base, path string
		client           *http.Client
		hsts             bool
	}{
		{"dashboard", e.URL, "/", http.DefaultClient, false},
		{"dashboard route", e.URL, "/payments/pay_123", http.DefaultClient, false},
		{"api", e.URL, "/api/v1/payments", http.DefaultClient, false},
		{"api error", e.URL, "/api/v1/nope", http.DefaultClient, false},
		{"health", e.URL, "/healthz", http.DefaultClient, false},
		{"dashboard over TLS", tlsSrv.URL, "/", tlsSrv.Client(), true},
		{"api over TLS", tlsSrv.URL, "/api/v1/payments", tlsSrv.Client(), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := tc.client.Get(tc.base + tc.path)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			h := resp.Header
			for name, want := range map[string]string{
				"X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer",
			} {
				if got := h.Get(name); got != want {
					t.Errorf("%s = %q, want %q", name, got, want)
				}
			}
			if pp := h.Get("Permissions-Policy"); !strings.Contains(pp, "camera=()") || !strings.Contains(pp, "payment=()") {
				t.Errorf("Permissions-Policy = %q", pp)
			}
			csp := h.Get("Content-Security-Policy")
			if !strings.Contains(csp, "frame-ancestors 'none'") {
				t.Errorf("CSP without frame-ancestors 'none': %q", csp)
			}
			if strings.HasPrefix(tc.path, "/api/") {
				if !strings.Contains(csp, "default-src 'none'") {
					t.Errorf("API CSP = %q", csp)
				}
			} else {
				script := directive(csp, "script-src")
				if script != "'self'" {
					t.Errorf("dashboard script-src = %q (CSP %q), want only 'self'", script, csp)
				}
				if !strings.Contains(csp, "object-src 'none'") || !strings.Contains(csp, "base-uri 'self'") {
					t.Errorf("dashboard CSP = %q", csp)
				}
			}
			hsts := h.Get("Strict-Transport-Security")
			if tc.hsts != (hsts != "") || (tc.hsts && !strings.Contains(hsts, "max-age=")) {
				t.Errorf("Strict-Transport-Security = %q over TLS=%v", hsts, tc.hsts)
			}
		})
	}
}

func directive(csp, name string) string {
	for _, d := range strings.Split(csp, ";") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(d), name+" "); ok {
			return v
		}
	}
	return ""
}

type tokenAnswer struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
}

func postToken(t *testing.T, c *http.Client, base string, form url.Values, cookieMode bool) (*http.Response, tokenAnswer) {
	t.Helper()
	req, _ := http.NewRequest("POST", base+"/api/v1/auth/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if cookieMode {
		req.Header.Set("X-Paymon-Refresh-Cookie", "1")
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var out tokenAnswer
	_ = json.Unmarshal(b, &out)
	return resp, out
}

// TestRefreshTokenCookieFlow: in cookie mode the refresh token travels in
// an HttpOnly, SameSite=Strict cookie scoped to the auth endpoints (Secure
// over TLS) and never in the JSON; the refresh grant reads it from there
// and rotates it; logout revokes it and clears the cookie. Without the
// header, API clients keep getting refresh_token in the JSON, and the
// cookie alone refreshes nothing.
func TestRefreshTokenCookieFlow(t *testing.T) {
	e := apitest.New(t)
	tlsSrv := httptest.NewTLSServer(e.App.Handler)
	t.Cleanup(tlsSrv.Close)
	login := url.Values{"grant_type": {"password"}, "username": {apitest.AdminEmail}, "password": {apitest.AdminPassword}}
	refresh := url.Values{"grant_type": {"refresh_token"}}

	// API clients: the OAuth2 contract, no cookie.
	resp, pair := postToken(t, http.DefaultClient, e.URL, login, false)
	if resp.StatusCode != 200 || pair.RefreshToken == "" || len(resp.Cookies()) != 0 {
		t.Fatalf("plain login: %s refresh_token=%q cookies=%v", resp.Status, pair.RefreshToken, resp.Cookies())
	}

	for _, tc := range []struct {
		name   string
		base   string
		client *http.Client
		secure bool
	}{
		{"http", e.URL, &http.Client{}, false},
		{"tls", tlsSrv.URL, tlsSrv.Client(), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			jar, _ := cookiejar.New(nil)
			c := tc.client
			c.Jar = jar
			resp, pair := postToken(t, c, tc.base, login, true)
			if resp.StatusCode != 200 || pair.AccessToken == "" || pair.RefreshToken != "" {
				t.Fatalf("cookie-mode login: %s %+v (the JSON must carry no refresh_token)", resp.Status, pair)
			}
			ck := findCookie(resp, "paymon_refresh")
			if ck == nil || ck.Value == "" || !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode || ck.Path != "/api/v1/auth" || ck.Secure != tc.secure || ck.MaxAge <= 0 {
				t.Fatalf("refresh cookie: %+v", ck)
			}
			first := ck.Value

			// The cookie without the header is ignored: no CSRF-able refresh.
			if resp, _ := postToken(t, c, tc.base, refresh, false); resp.StatusCode != http.StatusBadRequest {
				t.Fatalf("refresh with the cookie but no header: %s", resp.Status)
			}
			resp, pair = postToken(t, c, tc.base, refresh, true)
			if resp.StatusCode != 200 || pair.AccessToken == "" || pair.RefreshToken != "" {
				t.Fatalf("refresh through the cookie: %s %+v", resp.Status, pair)
			}
			rotated := findCookie(resp, "paymon_refresh")
			if rotated == nil || rotated.Value == first {
				t.Fatalf("the refresh did not rotate the cookie: %+v", rotated)
			}

			req, _ := http.NewRequest("POST", tc.base+"/api/v1/auth/logout", nil)
			out, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			out.Body.Close()
			cleared := findCookie(out, "paymon_refresh")
			if out.StatusCode != http.StatusNoContent || cleared == nil || cleared.MaxAge >= 0 || cleared.Value != "" {
				t.Fatalf("logout: %s cookie %+v", out.Status, cleared)
			}
			// The logged-out token is revoked, not merely forgotten.
			if resp, _ := postToken(t, c, tc.base, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rotated.Value}}, false); resp.StatusCode != http.StatusUnauthorized {
				t.Fatalf("refresh with the logged-out token: %s", resp.Status)
			}
		})
	}
}

func findCookie(resp *http.Response, name string) *http.Cookie {
	for _, c := range resp.Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}
