package httpapi

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/paymon/paymon/internal/metrics"
)

func (s *server) healthz(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok", "version": s.Version})
}

// readyz checks every dependency in parallel with a short deadline and
// says which is down: the store down makes the instance not ready (503);
// the cache or bus down makes it degraded (200).
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
				s.log.Warn("readiness check failed", "dependency", name, "err", err)
				results <- result{name, "down"}
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
