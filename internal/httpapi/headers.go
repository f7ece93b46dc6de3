package httpapi

import (
	"net/http"
	"strings"
)

// dashboardCSP allows the dashboard only its own files. script-src has no
// 'unsafe-inline': the Angular build emits no inline script (critical-CSS
// inlining, which adds an onload handler, is off in web/angular.json).
// style-src needs 'unsafe-inline' because Angular inserts each
// component's styles as <style> elements at run time; styles cannot run
// script, and a nonce would mean rewriting index.html on every request.
// connect-src 'self' covers the same-origin WebSocket feed.
const dashboardCSP = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; " +
	"font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"

// apiCSP: JSON answers load nothing and are framed by nobody.
const apiCSP = "default-src 'none'; frame-ancestors 'none'"

// permissionsPolicy turns off the powerful features the dashboard never
// uses, for it and for anything that might get injected into it.
const permissionsPolicy = "accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), microphone=(), payment=(), usb=()"

// securityHeaders sets the browser-hardening headers on every response.
// HSTS only over TLS: sent over plain HTTP it would be ignored, and on a
// loopback setup without TLS it must not pin the browser to https.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		if r.URL.Path == "/api" || strings.HasPrefix(r.URL.Path, "/api/") {
			h.Set("Content-Security-Policy", apiCSP)
		} else {
			h.Set("Content-Security-Policy", dashboardCSP)
		}
		h.Set("X-Frame-Options", "DENY")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Permissions-Policy", permissionsPolicy)
		if r.TLS != nil {
			h.Set("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
		}
		next.ServeHTTP(w, r)
	})
}
