package app

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/paymon/paymon/internal/metrics"
)

// probeInterval is how often the dependencies are checked in the
// background; /readyz checks them too when it is called.
const probeInterval = 15 * time.Second

// probeDependencies keeps paymon_dependency_up true whether or not anyone
// calls /readyz: it checks every dependency at once, then every interval,
// until ctx ends. Without it the gauge existed only after the first
// /readyz, so an alert on it had nothing to read.
func probeDependencies(ctx context.Context, checks map[string]func(context.Context) error, every time.Duration, log *slog.Logger) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(every)
		defer t.Stop()
		was := map[string]error{}
		for {
			// Log changes only, so a long outage is one line, not one
			// every interval.
			for name, err := range probeOnce(ctx, checks) {
				prev, seen := was[name]
				switch {
				case err != nil && (!seen || prev == nil):
					log.Warn("dependency check failed", "dependency", name, "err", err)
				case err == nil && prev != nil:
					log.Info("dependency answers again", "dependency", name)
				}
				was[name] = err
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	return done
}

// probeOnce runs the checks in parallel, each bounded like /readyz's,
// sets the gauge of each and returns their errors. While ctx is ending
// nothing is set: shutting down is not an outage.
func probeOnce(ctx context.Context, checks map[string]func(context.Context) error) map[string]error {
	var mu sync.Mutex
	out := make(map[string]error, len(checks))
	var wg sync.WaitGroup
	for name, check := range checks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			err := check(cctx)
			cancel()
			if ctx.Err() != nil {
				return
			}
			up := 1.0
			if err != nil {
				up = 0
			}
			metrics.DependencyUp.WithLabelValues(name).Set(up)
			mu.Lock()
			out[name] = err
			mu.Unlock()
		}()
	}
	wg.Wait()
	return out
}

// pendingGauge publishes the reconciler's count of pending payments for
// every provider, 0 included: a provider whose last pending payment
// settled reads 0 rather than vanishing from the series (a vanished
// series leaves "pending > N" alerts and graphs silently empty).
type pendingGauge struct {
	seen map[string]bool // every provider ever published, configured or not
}

func (g *pendingGauge) set(providers []string, byProvider map[string]int) {
	if g.seen == nil {
		g.seen = map[string]bool{}
	}
	for _, p := range providers {
		g.seen[p] = true
	}
	for p := range byProvider { // payments of a provider no longer configured
		g.seen[p] = true
	}
	for p := range g.seen {
		metrics.PaymentsPending.WithLabelValues(p).Set(float64(byProvider[p]))
	}
}
