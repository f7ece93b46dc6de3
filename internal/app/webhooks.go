package app

import (
	"context"

	"github.com/paymon/paymon/internal/alert"
	"github.com/paymon/paymon/internal/payment"
	"github.com/paymon/paymon/internal/webhook"
)

// newWebhooks builds the merchant webhook service over store and makes
// every stored payment change wake its worker, so a change on this
// instance is delivered without waiting for the next poll (changes on
// other instances are found by the poll).
func (a *App) newWebhooks(store webhook.Store) {
	a.Webhooks = webhook.NewService(store, webhook.Options{
		AllowPrivate: a.cfg.WebhookAllowPrivate,
		RetryBase:    a.cfg.WebhookRetryBase, RetryMax: a.cfg.WebhookRetryMax, RetryFor: a.cfg.WebhookRetryFor,
		Logger: a.log,
	})
	a.Payments.Observe(wakeObserver{a.Webhooks})
}

// webhookRules are the alert rules of the webhook service.
func (a *App) webhookRules() []alert.Rule {
	if a.Webhooks == nil {
		return nil
	}
	return []alert.Rule{&webhook.DisabledRule{Service: a.Webhooks}}
}

// runWebhooks delivers until ctx ends; the channel closes when the
// worker has finished its in-flight deliveries.
func (a *App) runWebhooks(ctx context.Context) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		a.Webhooks.Run(ctx)
	}()
	return done
}

type wakeObserver struct{ s *webhook.Service }

func (o wakeObserver) PaymentChanged(context.Context, payment.Change) { o.s.Wake() }
