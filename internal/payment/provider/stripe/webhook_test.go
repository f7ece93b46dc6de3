package stripe

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	stripego "github.com/stripe/stripe-go/v85"
	"github.com/stripe/stripe-go/v85/webhook"

	"github.com/paymon/paymon/internal/payment"
)

const testWebhookSecret = "whsec_test_0123456789abcdef"

func webhookProvider(t *testing.T, log *slog.Logger) *Provider {
	t.Helper()
	sp, err := New(Options{SecretKey: "sk_test_123", WebhookSecret: testWebhookSecret, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	return sp
}

func signed(body string, at time.Time) http.Header {
	p := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: []byte(body), Secret: testWebhookSecret, Timestamp: at})
	return http.Header{"Stripe-Signature": {p.Header}}
}

func intentEvent(apiVersion string) string {
	return `{"id":"evt_1","object":"event","type":"payment_intent.succeeded","api_version":"` + apiVersion +
		`","data":{"object":{"id":"pi_1","object":"payment_intent","status":"succeeded","metadata":{"paymon_payment_id":"pay_1"}}}}`
}

// The SDK refuses only signatures older than the tolerance; one dated in
// the future would stay replayable until then (issue 12).
func TestWebhookToleranceAppliesBothWays(t *testing.T) {
	sp := webhookProvider(t, nil)
	body := intentEvent(stripego.APIVersion)
	for _, tc := range []struct {
		name string
		at   time.Time
		ok   bool
	}{
		{"now", time.Now(), true},
		{"4 min ago", time.Now().Add(-4 * time.Minute), true},
		{"4 min ahead", time.Now().Add(4 * time.Minute), true},
		{"a day ago", time.Now().Add(-24 * time.Hour), false},
		{"a day ahead", time.Now().Add(24 * time.Hour), false},
		{"6 min ahead", time.Now().Add(6 * time.Minute), false},
	} {
		ev, err := sp.ParseWebhook(context.Background(), signed(body, tc.at), []byte(body))
		switch {
		case tc.ok && (err != nil || ev.ID != "evt_1"):
			t.Errorf("%s: refused: %v", tc.name, err)
		case !tc.ok && (!errors.Is(err, payment.ErrWebhookRejected) || !strings.Contains(err.Error(), "tolerance")):
			t.Errorf("%s: err = %v, want rejected outside the tolerance", tc.name, err)
		}
	}
}

// A correctly signed event of another API release train made the SDK's
// own message reach the sender, naming the library and its version.
func TestWebhookRejectionHidesSDKText(t *testing.T) {
	var logs bytes.Buffer
	sp := webhookProvider(t, slog.New(slog.NewTextHandler(&logs, nil)))
	for name, body := range map[string]string{
		"other api version": intentEvent("2019-01-01"),
		"not json":          `{"id":`,
	} {
		_, err := sp.ParseWebhook(context.Background(), signed(body, time.Now()), []byte(body))
		if !errors.Is(err, payment.ErrWebhookRejected) {
			t.Fatalf("%s: err = %v, want rejected", name, err)
		}
		for _, leak := range []string{"stripe-go", stripego.ClientVersion, "ConstructEventWithOptions", "Failed to parse"} {
			if strings.Contains(err.Error(), leak) {
				t.Errorf("%s: the sender's message %q contains %q", name, err, leak)
			}
		}
	}
	if !strings.Contains(logs.String(), stripego.ClientVersion) {
		t.Errorf("the operator's log lacks the SDK's detail:\n%s", logs.String())
	}
}
