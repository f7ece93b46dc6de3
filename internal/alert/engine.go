package alert

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/paymon/paymon/internal/id"
	"github.com/paymon/paymon/internal/metrics"
)

// Event is the stream and webhook event name of the alert's current state.
func (a Alert) Event() string {
	if a.State == Resolved {
		return "alert.resolved"
	}
	return "alert.fired"
}

// Level is the log level a transition is recorded at: error for a
// critical alert firing, warn otherwise.
func (a Alert) Level() slog.Level {
	if a.State == Firing && a.Severity == Critical {
		return slog.LevelError
	}
	return slog.LevelWarn
}

// Options configures an Engine.
type Options struct {
	Now    func() time.Time
	Logger *slog.Logger
	// Webhook, when set, is sent every transition this instance wins.
	Webhook *Webhook
}

// Engine evaluates rules and records transitions.
type Engine struct {
	store   Store
	rules   []Rule
	now     func() time.Time
	log     *slog.Logger
	webhook *Webhook
	hooks   []func(context.Context, Alert)
	mu      sync.Mutex // one evaluation at a time per instance
	rounds  atomic.Int64
}

// NewEngine builds an engine over store with rules.
func NewEngine(store Store, rules []Rule, opt Options) *Engine {
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	return &Engine{store: store, rules: rules, now: opt.Now, log: opt.Logger, webhook: opt.Webhook}
}

// OnTransition registers fn to be called with every alert this instance
// moves to firing or resolved (the log store and the realtime feed listen
// here). Register before Run; fn must not block for long.
func (e *Engine) OnTransition(fn func(context.Context, Alert)) {
	e.hooks = append(e.hooks, fn)
}

// Rules lists the names of the rules evaluated.
func (e *Engine) Rules() []string {
	out := make([]string, len(e.rules))
	for i, r := range e.rules {
		out[i] = r.Name()
	}
	return out
}

// List returns stored alerts.
func (e *Engine) List(ctx context.Context, f Filter) ([]Alert, error) {
	return e.store.ListAlerts(ctx, f)
}

// Run evaluates now, then every interval, until ctx ends.
func (e *Engine) Run(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if err := e.Evaluate(ctx); err != nil && ctx.Err() == nil {
			e.log.Warn("alert evaluation", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// maxFiring bounds the firing alerts read per rule; label sets are
// providers, so real numbers are tiny.
const maxFiring = 1000

// Evaluate runs every rule once and applies the transitions. A rule that
// cannot be evaluated keeps its alerts as they are: a store hiccup must not
// resolve a real problem.
func (e *Engine) Evaluate(ctx context.Context) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	now := e.now().UTC()
	var errs []error
	for _, r := range e.rules {
		if err := e.evaluate(ctx, r, now); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", r.Name(), err))
		}
	}
	if err := e.syncGauge(ctx); err != nil {
		errs = append(errs, err)
	}
	e.rounds.Add(1)
	return errors.Join(errs...)
}

// Evaluations counts the evaluation rounds completed, so tests and
// operators can tell "not yet evaluated" from "evaluated and quiet".
func (e *Engine) Evaluations() int64 { return e.rounds.Load() }

func (e *Engine) evaluate(ctx context.Context, r Rule, now time.Time) error {
	findings, err := r.Evaluate(ctx, now)
	if err != nil {
		return err
	}
	firing, err := e.store.ListAlerts(ctx, Filter{State: Firing, Rule: r.Name(), Limit: maxFiring})
	if err != nil {
		return fmt.Errorf("cannot list firing alerts: %w", err)
	}
	current := map[string]bool{}
	for _, a := range firing {
		current[a.Fingerprint] = true
	}
	holding := map[string]bool{}
	var errs []error
	for _, f := range findings {
		labels := f.Labels
		if labels == nil {
			labels = map[string]string{}
		}
		fp := Fingerprint(r.Name(), labels)
		holding[fp] = true
		if current[fp] {
			continue
		}
		a := Alert{
			ID: id.New("alt"), Rule: r.Name(), Severity: r.Severity(), State: Firing,
			Summary: f.Summary, Labels: labels, Fingerprint: fp, StartedAt: now,
		}
		won, err := e.store.FireAlert(ctx, a)
		if err != nil {
			errs = append(errs, fmt.Errorf("cannot fire: %w", err))
			continue
		}
		if won {
			e.transitioned(ctx, a)
		}
	}
	for _, a := range firing {
		if holding[a.Fingerprint] {
			continue
		}
		res, err := e.store.ResolveAlert(ctx, a.Fingerprint, now)
		switch {
		case errors.Is(err, ErrNotFiring):
			// another instance resolved it first and notified
		case err != nil:
			errs = append(errs, fmt.Errorf("cannot resolve: %w", err))
		default:
			e.transitioned(ctx, res)
		}
	}
	return errors.Join(errs...)
}

// transitioned tells everyone about a transition this instance won.
func (e *Engine) transitioned(ctx context.Context, a Alert) {
	e.log.Log(ctx, a.Level(), "alert "+string(a.State), "rule", a.Rule, "severity", a.Severity, "labels", a.Labels, "summary", a.Summary, "alert_id", a.ID)
	for _, h := range e.hooks {
		h(ctx, a)
	}
	if e.webhook != nil {
		e.webhook.Send(a)
	}
}

// syncGauge sets paymon_alerts_firing from the shared store, not from
// this instance's own transitions, so every instance exports the same
// value whichever of them won the transition.
func (e *Engine) syncGauge(ctx context.Context) error {
	firing, err := e.store.ListAlerts(ctx, Filter{State: Firing, Limit: maxFiring})
	if err != nil {
		return fmt.Errorf("cannot list firing alerts: %w", err)
	}
	for _, r := range e.rules {
		metrics.AlertsFiring.WithLabelValues(r.Name(), string(r.Severity())).Set(0)
	}
	for _, a := range firing {
		metrics.AlertsFiring.WithLabelValues(a.Rule, string(a.Severity)).Set(1)
	}
	return nil
}
