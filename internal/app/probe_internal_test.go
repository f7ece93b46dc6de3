package app

import (
	"context"
	"errors"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/paymon/paymon/internal/metrics"
)

func gauge(g *prometheus.GaugeVec, label string) (float64, bool) {
	m, err := g.GetMetricWithLabelValues(label)
	if err != nil {
		return 0, false
	}
	var d dto.Metric
	_ = m.Write(&d)
	return d.GetGauge().GetValue(), true
}

func TestProbeOnceSetsEveryDependency(t *testing.T) {
	down := errors.New("connection refused")
	errs := probeOnce(context.Background(), map[string]func(context.Context) error{
		"probe_test_up":   func(context.Context) error { return nil },
		"probe_test_down": func(context.Context) error { return down },
		"probe_test_slow": func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }, // bounded by the 2 s deadline
	})
	for name, want := range map[string]float64{"probe_test_up": 1, "probe_test_down": 0, "probe_test_slow": 0} {
		if v, _ := gauge(metrics.DependencyUp, name); v != want {
			t.Errorf("paymon_dependency_up{dependency=%q} = %v, want %v", name, v, want)
		}
	}
	if !errors.Is(errs["probe_test_down"], down) || errs["probe_test_up"] != nil {
		t.Errorf("errors %v", errs)
	}
	// Shutting down is not an outage: nothing is set to 0.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	probeOnce(ctx, map[string]func(context.Context) error{"probe_test_up": func(ctx context.Context) error { return ctx.Err() }})
	if v, _ := gauge(metrics.DependencyUp, "probe_test_up"); v != 1 {
		t.Errorf("a probe cut short by shutdown set the gauge to %v", v)
	}
}

// paymon_payments_pending disappeared when the last pending payment of a
// provider settled (the reconciler reset the vector): it reads 0 now.
func TestPendingGaugeReadsZeroInsteadOfVanishing(t *testing.T) {
	var g pendingGauge
	g.set([]string{"pend_test_a", "pend_test_b"}, nil)
	for _, p := range []string{"pend_test_a", "pend_test_b"} {
		if v, _ := gauge(metrics.PaymentsPending, p); v != 0 {
			t.Errorf("%s before any reconcile = %v, want 0", p, v)
		}
	}
	g.set([]string{"pend_test_a", "pend_test_b"}, map[string]int{"pend_test_a": 3, "pend_test_old": 2})
	g.set([]string{"pend_test_a", "pend_test_b"}, map[string]int{})
	var names []string
	ch := make(chan prometheus.Metric, 100)
	metrics.PaymentsPending.Collect(ch)
	close(ch)
	for m := range ch {
		var d dto.Metric
		_ = m.Write(&d)
		for _, l := range d.GetLabel() {
			names = append(names, l.GetValue())
		}
		if d.GetGauge().GetValue() != 0 {
			t.Errorf("%v = %v after every payment settled, want 0", d.GetLabel(), d.GetGauge().GetValue())
		}
	}
	for _, want := range []string{"pend_test_a", "pend_test_b", "pend_test_old"} {
		found := false
		for _, n := range names {
			found = found || n == want
		}
		if !found {
			t.Errorf("series %s vanished; have %v", want, names)
		}
	}
}
