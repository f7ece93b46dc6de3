package simulator

import (
	"context"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/paymon/paymon/internal/metrics"
	"github.com/paymon/paymon/internal/payment"
)

func calls(op, outcome string) uint64 {
	var m dto.Metric
	_ = metrics.ProviderDuration.WithLabelValues("simulator", op, outcome).(prometheus.Metric).Write(&m)
	return m.GetHistogram().GetSampleCount()
}

// The simulator recorded no provider latency, so the provider panels and
// alerts read empty on every demo (issue 12): each call counts now, with
// the outcome labels the real providers use.
func TestCallsAreRecordedLikeRealProviders(t *testing.T) {
	s := New(Options{})
	ctx := context.Background()
	type call struct{ op, outcome string }
	before := map[call]uint64{}
	want := map[call]uint64{{"create", "ok"}: 1, {"create", "declined"}: 1, {"create", "retriable"}: 1,
		{"retrieve", "ok"}: 1, {"refund", "ok"}: 1, {"cancel", "ok"}: 1, {"confirm", "ok"}: 1}
	for c := range want {
		before[c] = calls(c.op, c.outcome)
	}
	_, _ = s.Create(ctx, payment.ProviderRequest{PaymentID: "pay_1", Metadata: map[string]string{"simulate": Succeed}})
	_, _ = s.Create(ctx, payment.ProviderRequest{PaymentID: "pay_2", Metadata: map[string]string{"simulate": Fail}})
	_, _ = s.Create(ctx, payment.ProviderRequest{PaymentID: "pay_3", Metadata: map[string]string{"simulate": Timeout}})
	p := &payment.Payment{ID: "pay_1", Status: payment.StatusPending, Metadata: map[string]string{}}
	_, _ = s.Retrieve(ctx, p)
	_ = s.Refund(ctx, p, 100, "ref_1")
	_ = s.Cancel(ctx, p)
	_, _ = s.Confirm(ctx, p, "")
	for c, n := range want {
		if got := calls(c.op, c.outcome) - before[c]; got != n {
			t.Errorf("paymon_provider_request_duration_seconds{provider=simulator,operation=%s,outcome=%s} counted %d, want %d", c.op, c.outcome, got, n)
		}
	}
}
