package alert

import (
	"context"
	"fmt"
	"time"

	"github.com/paymon/paymon/internal/metrics"
	"github.com/paymon/paymon/internal/payment"
)

// Rule is one condition the engine checks on every evaluation.
type Rule interface {
	Name() string
	Severity() Severity
	// Evaluate returns one Finding per label set for which the condition
	// holds at now; an empty result means every alert of the rule resolves.
	Evaluate(ctx context.Context, now time.Time) ([]Finding, error)
}

// Finding is a rule's condition holding for one label set.
type Finding struct {
	Labels  map[string]string
	Summary string
}

// PaymentStats reads the per-minute payment roll-ups (payment.Service).
type PaymentStats interface {
	Stats(ctx context.Context, from, to time.Time) ([]payment.StatIncrement, error)
}

// PaymentHistory reads stored payments, newest first (payment.Service).
// It reads the shared store, so every instance sees every payment.
type PaymentHistory interface {
	List(ctx context.Context, f payment.ListFilter) ([]*payment.Payment, bool, error)
	Providers() []string
}

// Payments is everything the payment rules read.
type Payments interface {
	PaymentStats
	PaymentHistory
}

// ErrorCounter counts stored error and fatal log entries in [from, to).
// The log store implements it; Paymon's own alert engine does not depend
// on how logs are kept.
type ErrorCounter interface {
	CountErrors(ctx context.Context, from, to time.Time) (int64, error)
}

// Rules holds the thresholds and windows of the built-in rules. Zero
// values take the defaults of DefaultRules.
type Rules struct {
	// PaymentFailureRateHigh: failed/(succeeded+failed) over Window above
	// FailureRatio, with at least FailureMinPayments finished payments.
	FailureWindow      time.Duration
	FailureRatio       float64
	FailureMinPayments int64
	// PaymentFailureStreak: the last FailureStreak finished payments of a
	// provider all failed.
	FailureStreak int
	// NoPaymentsReceived: no payment created for NoPaymentsWindow, once
	// at least one payment exists.
	NoPaymentsWindow time.Duration
	// ErrorLogSpike: more than ErrorLogThreshold error/fatal entries
	// stored over ErrorLogWindow.
	ErrorLogWindow    time.Duration
	ErrorLogThreshold int64
}

// DefaultRules are the documented defaults (docs/alerts.md). They match the
// Prometheus rules in deploy/prometheus where the two can match.
func DefaultRules() Rules {
	return Rules{
		FailureWindow: 5 * time.Minute, FailureRatio: 0.2, FailureMinPayments: 20,
		FailureStreak:    10,
		NoPaymentsWindow: 15 * time.Minute,
		ErrorLogWindow:   5 * time.Minute, ErrorLogThreshold: 300,
	}
}

func (r Rules) withDefaults() Rules {
	d := DefaultRules()
	orDefault(&r.FailureWindow, d.FailureWindow)
	orDefault(&r.FailureRatio, d.FailureRatio)
	orDefault(&r.FailureMinPayments, d.FailureMinPayments)
	orDefault(&r.FailureStreak, d.FailureStreak)
	orDefault(&r.NoPaymentsWindow, d.NoPaymentsWindow)
	orDefault(&r.ErrorLogWindow, d.ErrorLogWindow)
	orDefault(&r.ErrorLogThreshold, d.ErrorLogThreshold)
	return r
}

// orDefault replaces a zero or negative setting with its default.
func orDefault[T int | int64 | float64 | time.Duration](v *T, def T) {
	if *v <= 0 {
		*v = def
	}
}

// Builtin returns the built-in rules over these sources. errs may be nil:
// ErrorLogSpike is then left out.
func Builtin(cfg Rules, payments Payments, errs ErrorCounter) []Rule {
	cfg = cfg.withDefaults()
	rules := []Rule{
		&FailureRate{Stats: payments, Window: cfg.FailureWindow, Ratio: cfg.FailureRatio, MinPayments: cfg.FailureMinPayments},
		&FailureStreak{Payments: payments, N: cfg.FailureStreak},
		&NoPayments{Stats: payments, History: payments, Window: cfg.NoPaymentsWindow},
	}
	if errs != nil {
		rules = append(rules, &ErrorLogSpike{Counter: errs, Window: cfg.ErrorLogWindow, Threshold: cfg.ErrorLogThreshold})
	}
	return rules
}

// rollupRange is the span of minute buckets covering the last window up
// to now, the current (partial) minute included: roll-ups are per minute,
// so a window is rounded out to whole minutes.
func rollupRange(now time.Time, window time.Duration) (time.Time, time.Time) {
	return now.Add(-window).Truncate(time.Minute), now.Truncate(time.Minute).Add(time.Minute)
}

// FailureRate is PaymentFailureRateHigh.
type FailureRate struct {
	Stats       PaymentStats
	Window      time.Duration
	Ratio       float64
	MinPayments int64
}

func (*FailureRate) Name() string       { return "PaymentFailureRateHigh" }
func (*FailureRate) Severity() Severity { return Critical }

func (r *FailureRate) Evaluate(ctx context.Context, now time.Time) ([]Finding, error) {
	from, to := rollupRange(now, r.Window)
	stats, err := r.Stats.Stats(ctx, from, to)
	if err != nil {
		return nil, fmt.Errorf("cannot read payment roll-ups: %w", err)
	}
	var failed, succeeded int64
	for _, s := range stats {
		switch s.Kind {
		case string(payment.StatusFailed):
			failed += s.Count
		case string(payment.StatusSucceeded):
			succeeded += s.Count
		}
	}
	finished := failed + succeeded
	if finished < r.MinPayments || finished == 0 {
		return nil, nil
	}
	ratio := float64(failed) / float64(finished)
	if ratio <= r.Ratio {
		return nil, nil
	}
	return []Finding{{
		Labels:  map[string]string{},
		Summary: fmt.Sprintf("%.0f%% of the %d payments finished in the last %s failed (threshold %.0f%%)", ratio*100, finished, r.Window, r.Ratio*100),
	}}, nil
}

// FailureStreak is PaymentFailureStreak, one alert per provider.
type FailureStreak struct {
	Payments PaymentHistory
	N        int
}

func (*FailureStreak) Name() string       { return "PaymentFailureStreak" }
func (*FailureStreak) Severity() Severity { return Critical }

// maxStreakScan bounds how many payments of one provider are read per
// evaluation, so a provider with thousands of pending payments cannot make
// an evaluation slow.
const maxStreakScan = 2000

func (r *FailureStreak) Evaluate(ctx context.Context, now time.Time) ([]Finding, error) {
	var out []Finding
	for _, prov := range r.Payments.Providers() {
		failed, err := r.streak(ctx, prov)
		if err != nil {
			return nil, err
		}
		metrics.PaymentFailureStreak.WithLabelValues(prov).Set(float64(failed))
		if failed >= r.N {
			out = append(out, Finding{
				Labels:  map[string]string{"provider": prov},
				Summary: fmt.Sprintf("the last %d finished payments through %s all failed", r.N, prov),
			})
		}
	}
	return out, nil
}

// streak counts the failed payments of prov, newest first, up to N or the
// first success. Pending payments have no outcome yet and canceled ones
// were stopped by someone, not by the provider: both are skipped.
func (r *FailureStreak) streak(ctx context.Context, prov string) (int, error) {
	f := payment.ListFilter{Provider: prov, Limit: 100}
	failed, scanned := 0, 0
	for scanned < maxStreakScan {
		page, more, err := r.Payments.List(ctx, f)
		if err != nil {
			return 0, fmt.Errorf("cannot list %s payments: %w", prov, err)
		}
		for _, p := range page {
			switch p.Status {
			case payment.StatusFailed:
				failed++
				if failed >= r.N {
					return failed, nil
				}
			case payment.StatusSucceeded, payment.StatusRefunded:
				return failed, nil
			}
		}
		scanned += len(page)
		if !more || len(page) == 0 {
			break
		}
		f.StartingAfter = page[len(page)-1].ID
	}
	return failed, nil
}

// NoPayments is NoPaymentsReceived. It stays quiet until a first payment
// exists in the store, so an idle fresh install does not page.
type NoPayments struct {
	Stats   PaymentStats
	History PaymentHistory
	Window  time.Duration
}

func (*NoPayments) Name() string       { return "NoPaymentsReceived" }
func (*NoPayments) Severity() Severity { return Warning }

func (r *NoPayments) Evaluate(ctx context.Context, now time.Time) ([]Finding, error) {
	// Rounded out to whole minutes, the alert fires up to a minute late,
	// never early.
	from, to := rollupRange(now, r.Window)
	stats, err := r.Stats.Stats(ctx, from, to)
	if err != nil {
		return nil, fmt.Errorf("cannot read payment roll-ups: %w", err)
	}
	for _, s := range stats {
		if s.Kind == "created" && s.Count > 0 {
			return nil, nil
		}
	}
	first, _, err := r.History.List(ctx, payment.ListFilter{Limit: 1})
	if err != nil {
		return nil, fmt.Errorf("cannot list payments: %w", err)
	}
	if len(first) == 0 {
		return nil, nil
	}
	return []Finding{{
		Labels:  map[string]string{},
		Summary: fmt.Sprintf("no payment created in the last %s", r.Window),
	}}, nil
}

// ErrorLogSpike fires when the log store holds more error and fatal
// entries over the window than the threshold.
type ErrorLogSpike struct {
	Counter   ErrorCounter
	Window    time.Duration
	Threshold int64
}

func (*ErrorLogSpike) Name() string       { return "ErrorLogSpike" }
func (*ErrorLogSpike) Severity() Severity { return Warning }

func (r *ErrorLogSpike) Evaluate(ctx context.Context, now time.Time) ([]Finding, error) {
	n, err := r.Counter.CountErrors(ctx, now.Add(-r.Window), now)
	if err != nil {
		return nil, fmt.Errorf("cannot count error logs: %w", err)
	}
	if n <= r.Threshold {
		return nil, nil
	}
	return []Finding{{
		Labels:  map[string]string{},
		Summary: fmt.Sprintf("%d error/fatal log entries in the last %s (threshold %d)", n, r.Window, r.Threshold),
	}}, nil
}
