package app

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/paymon/paymon/internal/logbook"
	"github.com/paymon/paymon/internal/metrics"
	"github.com/paymon/paymon/internal/money"
	"github.com/paymon/paymon/internal/payment"
)

// metricsObserver turns payment changes into Prometheus counters.
type metricsObserver struct{}

func (metricsObserver) PaymentChanged(_ context.Context, c payment.Change) {
	p := c.Payment
	if c.Event == "payment.created" {
		metrics.PaymentsCreated.WithLabelValues(p.Provider, p.Currency).Inc()
		if cur, err := money.Lookup(p.Currency); err == nil {
			metrics.PaymentAmount.WithLabelValues(p.Currency).Observe(cur.Major(p.Amount))
		}
		metrics.Payments.WithLabelValues(p.Provider, string(payment.StatusPending), p.Currency).Inc()
	}
	if p.Status != c.From && p.Status != payment.StatusPending {
		metrics.Payments.WithLabelValues(p.Provider, string(p.Status), p.Currency).Inc()
	}
	if c.Refunded > 0 {
		metrics.Refunds.WithLabelValues(p.Provider, p.Currency).Inc()
	}
}

// logObserver writes Paymon's own payment events into the log store,
// through the same ingest path as shippers' logs (redaction, roll-ups,
// live feed), with service "paymon" and payment_id set. It queues them
// (logbook.Service.Emit) so a payment never waits on the log store.
type logObserver struct{ logs *logbook.Service }

func (o logObserver) PaymentChanged(_ context.Context, c payment.Change) {
	p := c.Payment
	attrs := map[string]any{"amount": p.Amount, "currency": p.Currency, "provider": p.Provider, "status": string(p.Status)}
	e := logbook.Entry{Time: p.UpdatedAt, Level: logbook.LevelInfo, Service: "paymon", PaymentID: p.ID, Attributes: attrs}
	switch {
	case c.Event == "payment.created":
		e.Message = "payment created"
		if p.Status != payment.StatusPending {
			e.Message = "payment created: " + string(p.Status)
		}
	case c.Refunded > 0:
		e.Message = "payment refunded"
		attrs["refund_amount"] = c.Refunded
		attrs["amount_refunded"] = p.AmountRefunded
	case p.Status != c.From:
		e.Message = "payment " + string(p.Status)
		attrs["from"] = string(c.From)
	default:
		e.Message = "payment updated"
	}
	if p.Status == payment.StatusFailed {
		e.Level = logbook.LevelWarn
	}
	if p.FailureReason != "" {
		attrs["failure_reason"] = p.FailureReason
	}
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	o.logs.Emit(e)
}

// serverErrorLogger stores an error entry for every 5xx and recovered
// panic. The internal error text never reaches the client, but it is
// kept here (redacted, and cut to 4 KiB) for whoever investigates.
func serverErrorLogger(logs *logbook.Service) func(ctx context.Context, requestID, method, route string, status int, err error) {
	return func(_ context.Context, requestID, method, route string, status int, err error) {
		route = strings.TrimPrefix(route, method+" ") // patterns read "GET /api/…"
		attrs := map[string]any{"request_id": requestID, "method": method, "route": route, "status": status}
		if err != nil {
			msg := err.Error()
			if len(msg) > 4096 {
				msg = msg[:4096] + "…"
			}
			attrs["error"] = msg
		}
		logs.Emit(logbook.Entry{Time: time.Now(), Level: logbook.LevelError, Service: "paymon",
			Message: fmt.Sprintf("server error %d on %s %s", status, method, route), Attributes: attrs})
	}
}
