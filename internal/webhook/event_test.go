package webhook

import (
	"testing"
	"time"

	"github.com/paymon/paymon/internal/payment"
)

func TestEveryStatusChangeMakesItsEvent(t *testing.T) {
	now := time.Now()
	for entry, want := range map[string]string{
		"created": PaymentCreated, "succeeded": PaymentSucceeded, "failed": PaymentFailed, "expired": PaymentFailed,
		"canceled": PaymentCanceled, "refunded": PaymentRefunded, "partially_refunded": PaymentPartiallyRefunded,
		"provider_unreachable": "", "provider_refund_reported": "", "provider_event_ignored": "",
	} {
		p := &payment.Payment{ID: "pay_01m8thcp5kgd7xj6ktm5zft35s", Events: []payment.Event{{Type: "created", At: now}, {Type: entry, At: now}}}
		ev, ok := EventFor(p)
		if want == "" {
			if ok {
				t.Errorf("%s made event %s", entry, ev.Type)
			}
			continue
		}
		if !ok || ev.Type != want || ev.ID != "evt_01m8thcp5kgd7xj6ktm5zft35s_2" || !ValidEventID(ev.ID) {
			t.Errorf("%s: event %+v ok=%v, want %s", entry, ev, ok, want)
		}
	}
}
