package alert_test

import (
	"testing"

	dto "github.com/prometheus/client_model/go"

	"github.com/paymon/paymon/internal/alert"
	"github.com/paymon/paymon/internal/metrics"
)

func streakGauge(t *testing.T, provider string) float64 {
	t.Helper()
	var m dto.Metric
	if err := metrics.PaymentFailureStreak.WithLabelValues(provider).Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetGauge().GetValue()
}

// The engine and the Prometheus rule disagreed on what a failure streak
// is (issue 12). The engine now publishes the count it decides on, which
// the Prometheus rule reads: it must track the engine's decision exactly.
func TestFailureStreakPublishesItsCount(t *testing.T) {
	c := newClock()
	ps := newPayments(t, openDB(t), c)
	r := &alert.FailureStreak{Payments: ps, N: 10}
	steps := []struct {
		n       int
		outcome string
		streak  float64
		fires   bool
	}{
		{3, "succeed", 0, false},
		{9, "fail", 9, false},
		{5, "pending", 9, false}, // no outcome yet: neither breaks nor extends
		{1, "fail", 10, true},
		{4, "fail", 10, true}, // counted up to the threshold
		{1, "succeed", 0, false},
	}
	for _, s := range steps {
		pay(t, ps, s.n, s.outcome)
		fs := eval(t, r, c.Now())
		if got := streakGauge(t, "simulator"); got != s.streak || (len(fs) == 1) != s.fires {
			t.Fatalf("after %d × %s: paymon_payment_failure_streak = %v (want %v), fired %v (want %v)", s.n, s.outcome, got, s.streak, len(fs) == 1, s.fires)
		}
	}
}
