package mongo_test

import (
	"context"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/paymon/paymon/internal/id"
	"github.com/paymon/paymon/internal/payment"
	"github.com/paymon/paymon/internal/store/mongo"
	"github.com/paymon/paymon/internal/testenv"
	"github.com/paymon/paymon/internal/webhook"
	"github.com/paymon/paymon/internal/webhook/webhooktest"
)

func openWebhooks(t *testing.T, s *mongo.Store) *mongo.WebhookStore {
	t.Helper()
	w, err := mongo.NewWebhookStore(context.Background(), s)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func TestWebhookStoreConformance(t *testing.T) {
	srv := testenv.FerretDB(t)
	webhooktest.Run(t, func(t *testing.T) webhooktest.Store { return openWebhooks(t, open(t, srv)) })
}

// TestOutboxSweepWritesEventsAnInterruptedWriteLeftBehind stores a
// payment change the way UpdatePayment does but stops before the event is
// copied out (an instance killed between its two writes): the sweep must
// write the event, once however often it runs.
func TestOutboxSweepWritesEventsAnInterruptedWriteLeftBehind(t *testing.T) {
	srv := testenv.FerretDB(t)
	w := openWebhooks(t, open(t, srv))
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Millisecond)
	p := &payment.Payment{ID: id.New("pay"), Amount: 500, Currency: "EUR", Status: payment.StatusPending, Provider: "simulator",
		CreatedAt: now, UpdatedAt: now, Events: []payment.Event{{Type: "created", At: now}}}
	if _, err := w.CreatePayment(ctx, p, nil); err != nil {
		t.Fatal(err)
	}
	p.Status = payment.StatusSucceeded
	p.Events = append(p.Events, payment.Event{Type: "succeeded", At: now.Add(time.Second)})
	ev, _ := webhook.EventFor(p)
	stored, err := payment.MarshalStored(p)
	if err != nil {
		t.Fatal(err)
	}
	// The payment's half of UpdatePayment, by hand.
	_, err = w.Database().Collection("payments").UpdateOne(ctx, bson.D{{Key: "_id", Value: p.ID}}, bson.D{
		{Key: "$set", Value: bson.D{{Key: "status", Value: "succeeded"}, {Key: "version", Value: 2}, {Key: "doc", Value: string(stored)}, {Key: "outbox_pending", Value: true}}},
		{Key: "$push", Value: bson.D{{Key: "outbox", Value: bson.D{{Key: "id", Value: ev.ID}, {Key: "type", Value: ev.Type}, {Key: "created_at", Value: ev.CreatedAt.UnixNano()}, {Key: "data", Value: string(ev.Data)}}}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.GetEvent(ctx, ev.ID); err != webhook.ErrNotFound {
		t.Fatalf("before the sweep: %v, want ErrNotFound", err)
	}
	for i := 0; i < 2; i++ {
		n, err := w.SweepOutbox(ctx, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if want := 1 - i; n != want {
			t.Fatalf("sweep %d wrote %d events, want %d", i, n, want)
		}
	}
	got, err := w.GetEvent(ctx, ev.ID)
	if err != nil || got.Type != webhook.PaymentSucceeded || string(got.Data) != string(ev.Data) {
		t.Fatalf("swept event = %+v (%v)", got, err)
	}
	evs, _, err := w.ListEvents(ctx, webhook.EventFilter{PaymentID: p.ID, Limit: 10})
	if err != nil || len(evs) != 2 {
		t.Fatalf("events of the payment = %d (%v), want 2", len(evs), err)
	}
}
