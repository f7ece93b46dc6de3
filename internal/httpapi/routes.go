// Package httpapi is Paymon's HTTP surface: the whole route table in this
// file, one file per resource, middleware and the error envelope. Handlers
// decode, validate, call a domain service and respond; no business rule
// lives here.
package httpapi

import (
	"context"
	"log/slog"
	"net/http"
	"strings"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/paymon/paymon/internal/alert"
	"github.com/paymon/paymon/internal/auth"
	"github.com/paymon/paymon/internal/cache"
	"github.com/paymon/paymon/internal/logbook"
	"github.com/paymon/paymon/internal/metrics"
	"github.com/paymon/paymon/internal/payment"
	"github.com/paymon/paymon/internal/webhook"
)

// Deps is what the HTTP layer needs from the rest of the program.
type Deps struct {
	Payments *payment.Service
	Auth     *auth.Service
	Logs     *logbook.Service
	// Limiter counts requests for rate limits; shared across instances
	// when it is Redis.
	Limiter cache.Cache
	// Checks are run by /readyz, by dependency name.
	Checks       map[string]func(context.Context) error
	Logger       *slog.Logger
	AccessLog    bool
	MaxBodyBytes int64
	Version      string
	// UI serves the dashboard at / (nil: no dashboard).
	UI http.Handler
	// ServerErrors is told about every 5xx, for the log store.
	ServerErrors func(ctx context.Context, requestID, method, route string, status int, err error)
	// Streams serves the live feeds (GET /api/v1/stream, /stream/sse).
	Streams StreamConfig
	// Alerts lists stored alerts (nil: the list is empty).
	Alerts *alert.Engine
	// LoginThrottle slows password guessing (login_throttle.go).
	LoginThrottle LoginThrottle
	// Webhooks serves events and merchant endpoints (nil: 404).
	Webhooks *webhook.Service
}

type server struct {
	Deps
	log     *slog.Logger
	maxBody int64
	logins  *loginGate
}

// Route is one entry of the route table; the OpenAPI test walks it.
type Route struct {
	Method, Path string
	// Perm is the permission required; "" means public.
	Perm    auth.Permission
	handler http.HandlerFunc
}

// New returns the complete HTTP handler.
func New(d Deps) http.Handler {
	h, _ := build(d)
	return h
}

// Routes lists the API routes, for documentation checks.
func Routes(d Deps) []Route {
	_, rs := build(d)
	return rs
}

func build(d Deps) (http.Handler, []Route) {
	s := &server{Deps: d, log: d.Logger, maxBody: d.MaxBodyBytes, logins: &loginGate{}}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.maxBody == 0 {
		s.maxBody = 1 << 20
	}
	routes := []Route{
		{"POST", "/api/v1/auth/token", "", s.token},
		{"POST", "/api/v1/auth/logout", "", s.logout},
		{"GET", "/api/v1/me", auth.PaymentsRead, s.me},

		{"POST", "/api/v1/payments", auth.PaymentsWrite, s.createPayment},
		{"GET", "/api/v1/payments", auth.PaymentsRead, s.listPayments},
		{"GET", "/api/v1/payments/recent", auth.PaymentsRead, s.recentPayments},
		{"GET", "/api/v1/payments/{id}", auth.PaymentsRead, s.getPayment},
		{"POST", "/api/v1/payments/{id}/refund", auth.PaymentsWrite, s.refundPayment},
		{"POST", "/api/v1/payments/{id}/cancel", auth.PaymentsWrite, s.cancelPayment},
		{"GET", "/api/v1/overview", auth.PaymentsRead, s.overview},

		// Streams authenticate in the handler: each topic needs its own
		// read permission (stream.go).
		{"GET", "/api/v1/stream", "", s.streamWS},
		{"GET", "/api/v1/stream/sse", "", s.streamSSE},
		// Public: the provider's signature is the authentication (webhooks.go).
		{"POST", "/api/v1/webhooks/{provider}", "", s.receiveWebhook},
		{"GET", "/api/v1/alerts", auth.AlertsRead, s.listAlerts},

		{"GET", "/api/v1/events", auth.PaymentsRead, s.listEvents},
		{"GET", "/api/v1/events/{id}", auth.PaymentsRead, s.getEvent},
		{"POST", "/api/v1/events/{id}/resend", auth.WebhooksOperate, s.resendEvent},
		{"POST", "/api/v1/webhook-endpoints", auth.AdminAll, s.createEndpoint},
		{"GET", "/api/v1/webhook-endpoints", auth.WebhooksOperate, s.listEndpoints},
		{"GET", "/api/v1/webhook-endpoints/{id}", auth.WebhooksOperate, s.getEndpoint},
		{"PATCH", "/api/v1/webhook-endpoints/{id}", auth.AdminAll, s.updateEndpoint},
		{"DELETE", "/api/v1/webhook-endpoints/{id}", auth.AdminAll, s.deleteEndpoint},
		{"POST", "/api/v1/webhook-endpoints/{id}/rotate-secret", auth.AdminAll, s.rotateEndpointSecret},
		{"GET", "/api/v1/webhook-endpoints/{id}/deliveries", auth.WebhooksOperate, s.listDeliveries},

		{"POST", "/api/v1/logs", auth.LogsWrite, s.ingestLogs},
		{"GET", "/api/v1/logs", auth.LogsRead, s.searchLogs},
		{"GET", "/api/v1/logs/recent", auth.LogsRead, s.recentLogs},
		{"GET", "/api/v1/logs/stats", auth.LogsRead, s.logStats},

		// The push protocols shippers speak (loki.go, otlp.go, elastic.go).
		{"POST", "/loki/api/v1/push", auth.LogsWrite, s.lokiPush},
		{"POST", "/v1/logs", auth.LogsWrite, s.otlpLogs},
		{"POST", "/_bulk", auth.LogsWrite, s.esBulk},
		{"POST", "/{index}/_bulk", auth.LogsWrite, s.esBulk},
		{"POST", "/{index}/_doc", auth.LogsWrite, s.esDoc},
		// The calls Elasticsearch shippers make before their first bulk;
		// GET / is in fallback, shared with the dashboard.
		{"GET", "/_license", auth.LogsWrite, s.esLicense},
		{"GET", "/_nodes", auth.LogsWrite, s.esNodes},
		{"GET", "/_nodes/http", auth.LogsWrite, s.esNodes},
		{"GET", "/_cat/health", auth.LogsWrite, s.esHealth},
		{"GET", "/_index_template/{name}", auth.LogsWrite, s.esSetup},
		{"PUT", "/_index_template/{name}", auth.LogsWrite, s.esSetup},
		{"GET", "/_template/{name}", auth.LogsWrite, s.esSetup},
		{"PUT", "/_template/{name}", auth.LogsWrite, s.esSetup},
		{"GET", "/_ilm/policy/{name}", auth.LogsWrite, s.esSetup},
		{"PUT", "/_ilm/policy/{name}", auth.LogsWrite, s.esSetup},
		{"GET", "/_ingest/pipeline/{name}", auth.LogsWrite, s.esSetup},
		{"PUT", "/_ingest/pipeline/{name}", auth.LogsWrite, s.esSetup},

		{"POST", "/api/v1/users", auth.AdminAll, s.createUser},
		{"GET", "/api/v1/users", auth.AdminAll, s.listUsers},
		{"PATCH", "/api/v1/users/{id}", auth.AdminAll, s.updateUser},
		{"DELETE", "/api/v1/users/{id}", auth.AdminAll, s.deleteUser},
		{"POST", "/api/v1/api-keys", auth.AdminAll, s.createAPIKey},
		{"GET", "/api/v1/api-keys", auth.AdminAll, s.listAPIKeys},
		{"DELETE", "/api/v1/api-keys/{id}", auth.AdminAll, s.revokeAPIKey},
	}
	mux := http.NewServeMux()
	for _, rt := range routes {
		h := rt.handler
		if rt.Perm != "" {
			h = s.require(rt.Perm, h)
		}
		mux.Handle(rt.Method+" "+rt.Path, h)
	}
	mux.HandleFunc("GET /healthz", s.healthz)
	mux.HandleFunc("GET /readyz", s.readyz)
	mux.Handle("GET /metrics", promhttp.HandlerFor(metrics.Registry, promhttp.HandlerOpts{Registry: metrics.Registry}))
	mux.HandleFunc("/", s.fallback)
	return securityHeaders(s.observe(s.limitBody(mux))), routes
}

// fallback answers whatever no route matched: the dashboard for page
// loads, the error envelope for everything else (unknown API routes
// included, and methods a route does not take). GET and HEAD / are also
// Elasticsearch's ping and version check: a request for / that does not
// accept text/html (every browser page load does) gets the version info.
func (s *server) fallback(w http.ResponseWriter, r *http.Request) {
	if wantsESInfo(r) {
		s.esRoot(w, r)
		return
	}
	isAPI := strings.HasPrefix(r.URL.Path, "/api/")
	if !isAPI && s.UI != nil && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
		s.UI.ServeHTTP(w, r)
		return
	}
	s.writeError(w, r, &apiError{Status: http.StatusNotFound, Code: "not_found", Message: "no such route: " + r.Method + " " + r.URL.Path})
}

func (s *server) reportServerError(r *http.Request, status int, err error) {
	if s.ServerErrors != nil {
		route := r.Pattern
		if route == "" {
			route = r.URL.Path
		}
		s.ServerErrors(context.WithoutCancel(r.Context()), requestID(r.Context()), r.Method, route, status, err)
	}
}
