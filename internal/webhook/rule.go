package webhook

import (
	"context"
	"time"

	"github.com/paymon/paymon/internal/alert"
)

// DisabledRule is the alert rule WebhookEndpointDisabled: it fires for
// each endpoint Paymon turned off after its retry window ran out, and
// resolves once someone enables (or deletes) it.
type DisabledRule struct{ Service *Service }

func (*DisabledRule) Name() string             { return "WebhookEndpointDisabled" }
func (*DisabledRule) Severity() alert.Severity { return alert.Critical }

func (r *DisabledRule) Evaluate(ctx context.Context, _ time.Time) ([]alert.Finding, error) {
	eps, err := r.Service.store.ListEndpoints(ctx)
	if err != nil {
		return nil, err
	}
	var out []alert.Finding
	for _, e := range eps {
		if !e.Enabled && e.DisabledReason != "" {
			out = append(out, alert.Finding{
				Labels:  map[string]string{"endpoint_id": e.ID},
				Summary: "webhook endpoint " + e.URL + " disabled: " + e.DisabledReason,
			})
		}
	}
	return out, nil
}
