package httpapi

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/paymon/paymon/internal/dependency"
	"github.com/paymon/paymon/internal/metrics"
)

// errStoreCorrupt answers any request that met a damaged store. 500, not
// 503: nothing heals by waiting, so no Retry-After and a code clients can
// tell apart from "unavailable".
var errStoreCorrupt = &apiError{Status: http.StatusInternalServerError, Code: "store_corrupt",
	Message: "the database is damaged and must be restored by an operator; retrying will not help"}

func (s *server) healthz(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok", "version": s.Version})
}

// readyz checks every dependency in parallel with a short deadline and
// says which is down: the store down makes the instance not ready (503);
// the cache or bus down makes it degraded (200). A damaged store
// ("corrupt") is not ready either, and without Retry-After: it will not
// heal by itself.
func (s *server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	type result struct{ name, status string }
	results := make(chan result, len(s.Checks))
	var wg sync.WaitGroup
	for name, check := range s.Checks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := check(ctx); err != nil {
				metrics.DependencyUp.WithLabelValues(name).Set(0)
				status := "down"
				if errors.Is(err, dependency.ErrCorrupt) {
					status = "corrupt"
				}
				s.log.Warn("readiness check failed", "dependency", name, "status", status, "err", err)
				results <- result{name, status}
				return
			}
			metrics.DependencyUp.WithLabelValues(name).Set(1)
			results <- result{name, "ok"}
		}()
	}
	wg.Wait()
	close(results)
	checks := map[string]string{}
	status, code := "ready", http.StatusOK
	for res := range results {
		checks[res.name] = res.status
		switch {
		case res.status == "ok":
		case res.status == "corrupt":
			status, code = "not_ready", http.StatusServiceUnavailable
		case res.name == "store":
			status, code = "not_ready", http.StatusServiceUnavailable
			w.Header().Set("Retry-After", "5")
		case status == "ready":
			// Without the cache or bus payments and logs still work from
			// the store; taking every instance out of a load balancer
			// during a Redis outage would be worse than serving degraded.
			status = "degraded"
		}
	}
	writeJSON(w, code, map[string]any{"status": status, "checks": checks})
}
