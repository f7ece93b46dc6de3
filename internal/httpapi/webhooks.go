package httpapi

import (
	"context"
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/paymon/paymon/internal/payment"
)

// webhookTimeout bounds the handling of one delivery once started; it runs
// to the end even if the provider hangs up, so a verified event is applied.
const webhookTimeout = 30 * time.Second

// receiveWebhook takes a provider's event. It needs no bearer token: the
// provider's signature is the authentication, checked by the provider
// package before anything changes. 2xx tells the provider to stop
// resending (also for duplicates and unknown payments); 400 refuses a bad
// signature; 5xx asks it to try again later.
func (s *server) receiveWebhook(w http.ResponseWriter, r *http.Request) {
	provider := r.PathValue("provider")
	body, err := io.ReadAll(r.Body)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), webhookTimeout)
	defer cancel()
	out, err := s.Payments.HandleWebhook(ctx, provider, r.Header, body)
	var pe *payment.ProviderError
	switch {
	case errors.Is(err, payment.ErrWebhookProvider):
		s.writeError(w, r, &apiError{Status: http.StatusNotFound, Code: "not_found", Message: "no webhook endpoint for provider " + quote(provider) + " on this server"})
	case errors.Is(err, payment.ErrWebhookRejected):
		// The reason is Paymon's own wording (never the secret): it helps
		// whoever is setting the endpoint up.
		s.writeError(w, r, &apiError{Status: http.StatusBadRequest, Code: "invalid_webhook", Message: err.Error()})
	case errors.As(err, &pe):
		s.log.Warn("webhook: provider unreachable while handling an event", "provider", provider, "err", err)
		s.writeError(w, r, &apiError{Status: http.StatusServiceUnavailable, Code: "unavailable", Message: "the provider could not be reached; resend later", RetryAfter: 30})
	case err != nil:
		s.writeError(w, r, err)
	default:
		writeJSON(w, http.StatusOK, out)
	}
}

// quote keeps a client-chosen path segment printable and short in messages.
func quote(s string) string {
	if len(s) > 40 {
		s = s[:40]
	}
	b := []byte{'"'}
	for _, c := range []byte(s) {
		if c < 0x20 || c > 0x7e || c == '"' {
			c = '?'
		}
		b = append(b, c)
	}
	return string(append(b, '"'))
}
