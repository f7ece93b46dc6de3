package logbook_test

import (
	"context"
	"testing"

	"github.com/paymon/paymon/internal/logbook"
)

// A card number or secret can arrive in any text an entry carries, not
// only the message: every field is redacted before it is stored.
func TestIngestRedactsEveryField(t *testing.T) {
	s := newService(t, newDB(t), nil, logbook.Options{})
	in := []logbook.Entry{{
		Level: logbook.LevelInfo, Service: "shop 4242424242424242", Message: "ok",
		TraceID: "4111-1111-1111-1111", PaymentID: "pmk_abcdefghijklmnop",
		Attributes: map[string]any{"5555555555554444": "x", "pin": "1234", "note": "pwd=hunter2"},
	}}
	if err := s.Ingest(context.Background(), in); err != nil {
		t.Fatal(err)
	}
	got, _, err := s.Search(context.Background(), logbook.Filter{})
	if err != nil || len(got) != 1 {
		t.Fatalf("search: %d entries, %v", len(got), err)
	}
	e := got[0]
	if e.Service != "shop "+logbook.RedactedCard || e.TraceID != logbook.RedactedCard || e.PaymentID != logbook.RedactedSecret {
		t.Errorf("stored service %q, trace_id %q, payment_id %q", e.Service, e.TraceID, e.PaymentID)
	}
	want := map[string]any{logbook.RedactedCard: "x", "pin": logbook.Redacted, "note": "pwd=" + logbook.Redacted}
	if len(e.Attributes) != len(want) {
		t.Fatalf("stored attributes %v, want %v", e.Attributes, want)
	}
	for k, v := range want {
		if e.Attributes[k] != v {
			t.Errorf("attribute %q = %v, want %v (all: %v)", k, e.Attributes[k], v, e.Attributes)
		}
	}
}
