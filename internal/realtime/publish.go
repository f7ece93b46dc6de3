package realtime

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/paymon/paymon/internal/logbook"
	"github.com/paymon/paymon/internal/payment"
)

// publishTimeout bounds one publish so that a slow bus (Redis) delays a
// payment or an ingest by at most this much; the live feed is best effort,
// the store is the record.
const publishTimeout = 2 * time.Second

// PaymentObserver publishes payment.created and payment.updated with the
// payment exactly as the REST API renders it. Register it with
// payment.Service.Observe.
type PaymentObserver struct {
	Hub *Hub
	Log *slog.Logger
}

// PaymentChanged implements payment.Observer.
func (o PaymentObserver) PaymentChanged(ctx context.Context, c payment.Change) {
	p := c.Payment
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), publishTimeout)
	defer cancel()
	body := c.Body
	if body == nil {
		body = payment.Render(p)
	}
	err := o.Hub.Publish(ctx, TopicPayments, c.Event, json.RawMessage(body),
		Attrs{Status: string(p.Status), Provider: p.Provider})
	if err != nil && o.Log != nil {
		o.Log.Warn("cannot stream payment change", "payment_id", p.ID, "event", c.Event, "err", err)
	}
}

// PublishLog publishes one stored log entry as log.created. level and
// service feed the subscribers' filters; entry is the entry as the REST
// API returns it (any value that encodes to that JSON).
func (h *Hub) PublishLog(ctx context.Context, level, service string, entry any) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), publishTimeout)
	defer cancel()
	return h.Publish(ctx, TopicLogs, LogCreated, entry, Attrs{Level: level, Service: service})
}

// PublishAlert publishes alert.fired or alert.resolved; alert is the
// alert as GET /api/v1/alerts returns it. The alert engine calls this.
func (h *Hub) PublishAlert(ctx context.Context, typ string, alert any) error {
	if typ != AlertFired && typ != AlertResolved {
		return fmt.Errorf("cannot publish alert: type %q is neither %s nor %s", typ, AlertFired, AlertResolved)
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), publishTimeout)
	defer cancel()
	return h.Publish(ctx, TopicAlerts, typ, alert, Attrs{})
}

// LogPublisher returns the hook to register with logbook.Service.OnIngest:
// each stored batch becomes log.created events (data = the entry as the
// REST API returns it), sent as one bus message.
func LogPublisher(h *Hub, log *slog.Logger) func(ctx context.Context, entries []logbook.Entry) {
	return func(ctx context.Context, entries []logbook.Entry) {
		items := make([]Item, 0, len(entries))
		for _, e := range entries {
			// MarshalJSON directly: json.Marshal would re-scan its output.
			b, err := e.MarshalJSON()
			if err != nil {
				log.Warn("cannot stream log entry", "log_id", e.ID, "err", err)
				continue
			}
			items = append(items, Item{Type: LogCreated, Data: b, Attrs: Attrs{Level: string(e.Level), Service: e.Service}})
		}
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), publishTimeout)
		defer cancel()
		if err := h.PublishBatch(ctx, TopicLogs, items); err != nil {
			log.Warn("cannot stream log entries", "count", len(items), "err", err)
		}
	}
}
