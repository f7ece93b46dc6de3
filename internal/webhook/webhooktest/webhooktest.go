// Package webhooktest is the conformance suite every webhook.Store
// adapter runs. The adapters write events inside their payment writes, so
// the suite drives them through payment.Store too: an event must exist
// exactly when its payment change does, once.
package webhooktest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/paymon/paymon/internal/id"
	"github.com/paymon/paymon/internal/payment"
	"github.com/paymon/paymon/internal/webhook"
)

// Store is an adapter that keeps payments and webhooks.
type Store interface {
	payment.Store
	webhook.Store
}

// Run runs the suite. open returns an empty store.
func Run(t *testing.T, open func(t *testing.T) Store) {
	t.Run("EventWithEveryPaymentChange", func(t *testing.T) { eventWithChange(t, open(t)) })
	t.Run("ListEventsFilterAndPages", func(t *testing.T) { listEvents(t, open(t)) })
	t.Run("Endpoints", func(t *testing.T) { endpoints(t, open(t)) })
	t.Run("DispatchLeaseFinish", func(t *testing.T) { dispatchLease(t, open(t)) })
	t.Run("ConcurrentLeasesNeverShare", func(t *testing.T) { concurrentLease(t, open(t)) })
	t.Run("DeliveriesAndRetention", func(t *testing.T) { deliveries(t, open(t)) })
}

var ctx = context.Background()

func newPayment(now time.Time) *payment.Payment {
	return &payment.Payment{
		ID: id.New("pay"), Amount: 1234, Currency: "EUR", Status: payment.StatusPending, Provider: "simulator",
		Metadata: map[string]string{"order": "42"}, CreatedAt: now, UpdatedAt: now,
		Events: []payment.Event{{Type: "created", At: now}},
	}
}

func mustEvent(t *testing.T, s Store, id string) webhook.Event {
	t.Helper()
	ev, err := s.GetEvent(ctx, id)
	if err != nil {
		t.Fatalf("GetEvent(%s): %v", id, err)
	}
	return ev
}

func eventWithChange(t *testing.T, s Store) {
	now := time.Now().UTC().Truncate(time.Millisecond)
	p := newPayment(now)
	if _, err := s.CreatePayment(ctx, p, nil); err != nil {
		t.Fatal(err)
	}
	ev := mustEvent(t, s, webhook.EventID(p.ID, 1))
	if ev.Type != webhook.PaymentCreated || ev.PaymentID != p.ID || !ev.CreatedAt.Equal(now) {
		t.Fatalf("created event = %+v", ev)
	}
	var data map[string]any
	if err := json.Unmarshal(ev.Data, &data); err != nil || data["id"] != p.ID || data["status"] != "pending" {
		t.Fatalf("created event data = %s (%v)", ev.Data, err)
	}
	// An update that adds no timeline entry makes no event.
	p.ProviderPaymentID = "sim_" + p.ID
	if err := s.UpdatePayment(ctx, p, 1, payment.Extra{}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetEvent(ctx, webhook.EventID(p.ID, 2)); !errors.Is(err, webhook.ErrNotFound) {
		t.Fatalf("event without a timeline entry: err = %v, want ErrNotFound", err)
	}
	// A losing concurrent update makes no event either.
	stale := p.Clone()
	stale.Status = payment.StatusCanceled
	stale.Events = append(stale.Events, payment.Event{Type: "canceled", At: now})
	if err := s.UpdatePayment(ctx, stale, 1, payment.Extra{}); !errors.Is(err, payment.ErrVersionConflict) {
		t.Fatalf("stale update: %v", err)
	}
	if _, err := s.GetEvent(ctx, webhook.EventID(p.ID, 2)); !errors.Is(err, webhook.ErrNotFound) {
		t.Fatalf("event of a refused update: err = %v, want ErrNotFound", err)
	}
	p.Status = payment.StatusSucceeded
	p.Events = append(p.Events, payment.Event{Type: "succeeded", At: now.Add(time.Second)})
	if err := s.UpdatePayment(ctx, p, p.Version, payment.Extra{}); err != nil {
		t.Fatal(err)
	}
	ev = mustEvent(t, s, webhook.EventID(p.ID, 2))
	if ev.Type != webhook.PaymentSucceeded || string(ev.Data) != string(payment.Render(p)) {
		t.Fatalf("succeeded event = %s %s", ev.Type, ev.Data)
	}
	// Writing the same state again (a retried write) keeps one event.
	if err := s.UpdatePayment(ctx, p, p.Version, payment.Extra{}); err != nil {
		t.Fatal(err)
	}
	evs, _, err := s.ListEvents(ctx, webhook.EventFilter{PaymentID: p.ID, Limit: 10})
	if err != nil || len(evs) != 2 {
		t.Fatalf("events of the payment = %d (%v), want 2", len(evs), err)
	}
	if evs[0].Type != webhook.PaymentSucceeded || evs[1].Type != webhook.PaymentCreated {
		t.Fatalf("order = %s, %s; want newest first", evs[0].Type, evs[1].Type)
	}
}

func listEvents(t *testing.T, s Store) {
	base := time.Now().UTC().Add(-time.Hour).Truncate(time.Millisecond)
	var ids []string
	for i := 0; i < 7; i++ {
		p := newPayment(base.Add(time.Duration(i) * time.Minute))
		if _, err := s.CreatePayment(ctx, p, nil); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, webhook.EventID(p.ID, 1))
		if i%2 == 0 {
			p.Status = payment.StatusFailed
			p.Events = append(p.Events, payment.Event{Type: "failed", At: p.CreatedAt.Add(time.Second)})
			if err := s.UpdatePayment(ctx, p, 1, payment.Extra{}); err != nil {
				t.Fatal(err)
			}
		}
	}
	failed, _, err := s.ListEvents(ctx, webhook.EventFilter{Type: webhook.PaymentFailed, Limit: 100})
	if err != nil || len(failed) != 4 {
		t.Fatalf("failed events = %d (%v), want 4", len(failed), err)
	}
	ranged, _, err := s.ListEvents(ctx, webhook.EventFilter{Type: webhook.PaymentCreated, CreatedFrom: base.Add(2 * time.Minute), CreatedTo: base.Add(5 * time.Minute), Limit: 100})
	if err != nil || len(ranged) != 3 || ranged[0].ID != ids[4] || ranged[2].ID != ids[2] {
		t.Fatalf("ranged = %v (%v)", eventIDs(ranged), err)
	}
	var seen []string
	f := webhook.EventFilter{Limit: 3}
	for pages := 0; ; pages++ {
		page, more, err := s.ListEvents(ctx, f)
		if err != nil || pages > 10 {
			t.Fatalf("page %d: %v", pages, err)
		}
		seen = append(seen, eventIDs(page)...)
		if !more {
			break
		}
		last := page[len(page)-1]
		f.After = &last
	}
	if len(seen) != 11 {
		t.Fatalf("paged through %d events, want 11: %v", len(seen), seen)
	}
	for i := 1; i < len(seen); i++ {
		if seen[i] == seen[i-1] {
			t.Fatalf("event %s twice", seen[i])
		}
	}
}

func eventIDs(evs []webhook.Event) []string {
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = e.ID
	}
	return out
}

func newEndpoint(url string) webhook.Endpoint {
	now := time.Now().UTC().Truncate(time.Millisecond)
	return webhook.Endpoint{ID: id.New("we"), URL: url, EventTypes: []string{"*"}, Enabled: true, Secret: "whsec_test", CreatedAt: now, UpdatedAt: now}
}

func endpoints(t *testing.T, s Store) {
	a, b := newEndpoint("https://a.example/hook"), newEndpoint("https://b.example/hook")
	for _, e := range []webhook.Endpoint{a, b} {
		if err := s.CreateEndpoint(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.GetEndpoint(ctx, a.ID)
	if err != nil || got.URL != a.URL || got.Secret != "whsec_test" || !got.Enabled {
		t.Fatalf("GetEndpoint = %+v (%v)", got, err)
	}
	got.Enabled, got.Description, got.EventTypes = false, "off", []string{webhook.PaymentFailed}
	if err := s.UpdateEndpoint(ctx, got); err != nil {
		t.Fatal(err)
	}
	all, err := s.ListEndpoints(ctx)
	if err != nil || len(all) != 2 || all[0].ID != b.ID || all[1].Enabled || all[1].Description != "off" || all[1].EventTypes[0] != webhook.PaymentFailed {
		t.Fatalf("ListEndpoints = %+v (%v)", all, err)
	}
	if err := s.DeleteEndpoint(ctx, a.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetEndpoint(ctx, a.ID); !errors.Is(err, webhook.ErrNotFound) {
		t.Fatalf("deleted endpoint: %v", err)
	}
	if err := s.DeleteEndpoint(ctx, a.ID); !errors.Is(err, webhook.ErrNotFound) {
		t.Fatalf("second delete: %v", err)
	}
	if err := s.UpdateEndpoint(ctx, a); !errors.Is(err, webhook.ErrNotFound) {
		t.Fatalf("update of a deleted endpoint: %v", err)
	}
}

// queue creates n payments and dispatches their events to one endpoint.
func queue(t *testing.T, s Store, n int) (webhook.Endpoint, []string) {
	t.Helper()
	e := newEndpoint("https://q.example/hook")
	if err := s.CreateEndpoint(ctx, e); err != nil {
		t.Fatal(err)
	}
	past := time.Now().UTC().Add(-time.Minute)
	for i := 0; i < n; i++ {
		if _, err := s.CreatePayment(ctx, newPayment(past), nil); err != nil {
			t.Fatal(err)
		}
	}
	evs, err := s.UndispatchedEvents(ctx, n+10)
	if err != nil || len(evs) != n {
		t.Fatalf("undispatched = %d (%v), want %d", len(evs), err, n)
	}
	var ids []string
	var as []webhook.Attempt
	for _, ev := range evs {
		ids = append(ids, ev.ID)
		as = append(as, webhook.Attempt{ID: webhook.AttemptID(ev.ID, e.ID), EventID: ev.ID, EndpointID: e.ID, State: webhook.StatePending, NextAt: ev.CreatedAt, FirstAt: ev.CreatedAt})
	}
	for i := 0; i < 2; i++ { // twice: a second dispatch queues nothing more
		if err := s.Dispatch(ctx, ids, as); err != nil {
			t.Fatal(err)
		}
	}
	if evs, err := s.UndispatchedEvents(ctx, 10); err != nil || len(evs) != 0 {
		t.Fatalf("undispatched after Dispatch = %d (%v)", len(evs), err)
	}
	return e, ids
}

func dispatchLease(t *testing.T, s Store) {
	e, ids := queue(t, s, 3)
	now := time.Now().UTC()
	if n, _, err := s.QueueStats(ctx); err != nil || n != 3 {
		t.Fatalf("depth = %d (%v), want 3", n, err)
	}
	got, err := s.LeaseAttempts(ctx, now, now.Add(time.Minute), 10)
	if err != nil || len(got) != 3 {
		t.Fatalf("leased %d (%v), want 3", len(got), err)
	}
	if again, err := s.LeaseAttempts(ctx, now, now.Add(time.Minute), 10); err != nil || len(again) != 0 {
		t.Fatalf("leased while held: %d (%v)", len(again), err)
	}
	byEvent := map[string]webhook.Attempt{}
	for _, a := range got {
		byEvent[a.EventID] = a
	}
	d := func(ev string, result string) webhook.Delivery {
		return webhook.Delivery{ID: id.New("whd"), EndpointID: e.ID, EventID: ev, Attempt: 1, At: now, Result: result, Status: 500}
	}
	// delivered; retry later; retry now.
	if err := s.FinishAttempt(ctx, byEvent[ids[0]], d(ids[0], "delivered"), webhook.Finish{State: webhook.StateDelivered}); err != nil {
		t.Fatal(err)
	}
	if err := s.FinishAttempt(ctx, byEvent[ids[1]], d(ids[1], "failed"), webhook.Finish{State: webhook.StatePending, NextAt: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if err := s.FinishAttempt(ctx, byEvent[ids[2]], d(ids[2], "failed"), webhook.Finish{State: webhook.StatePending, NextAt: now}); err != nil {
		t.Fatal(err)
	}
	got, err = s.LeaseAttempts(ctx, now, now.Add(time.Minute), 10)
	if err != nil || len(got) != 1 || got[0].EventID != ids[2] || got[0].Attempts != 1 {
		t.Fatalf("after finishing, leased %+v (%v), want only %s with 1 attempt", got, err, ids[2])
	}
	// Its holder dies: once the lease runs out another caller takes it.
	later := now.Add(2 * time.Minute)
	got2, err := s.LeaseAttempts(ctx, later, later.Add(time.Minute), 10)
	if err != nil || len(got2) != 1 || got2[0].EventID != ids[2] {
		t.Fatalf("expired lease: leased %+v (%v)", got2, err)
	}
	// The first holder finishing late must not undo the new lease.
	if err := s.FinishAttempt(ctx, got[0], d(ids[2], "delivered"), webhook.Finish{State: webhook.StateDelivered}); err != nil {
		t.Fatal(err)
	}
	if n, oldest, err := s.QueueStats(ctx); err != nil || n != 2 || oldest.IsZero() {
		t.Fatalf("depth = %d oldest failing %v (%v), want 2 and a time", n, oldest, err)
	}
	// A resend makes a delivered attempt due again.
	if err := s.Requeue(ctx, webhook.Attempt{ID: webhook.AttemptID(ids[0], e.ID), EventID: ids[0], EndpointID: e.ID, NextAt: later, FirstAt: later}); err != nil {
		t.Fatal(err)
	}
	got3, err := s.LeaseAttempts(ctx, later, later.Add(time.Minute), 10)
	if err != nil || len(got3) != 1 || got3[0].EventID != ids[0] {
		t.Fatalf("after resend: leased %+v (%v)", got3, err)
	}
	// Deleting the endpoint drops its queue.
	if err := s.DeleteEndpoint(ctx, e.ID); err != nil {
		t.Fatal(err)
	}
	if n, _, err := s.QueueStats(ctx); err != nil || n != 0 {
		t.Fatalf("depth after delete = %d (%v)", n, err)
	}
}

func concurrentLease(t *testing.T, s Store) {
	const n = 40
	_, ids := queue(t, s, n)
	now := time.Now().UTC()
	var mu sync.Mutex
	seen := map[string]int{}
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 20; i++ {
				got, err := s.LeaseAttempts(ctx, now, now.Add(time.Hour), 3)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				for _, a := range got {
					seen[a.ID]++
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(seen) != len(ids) {
		t.Fatalf("leased %d distinct attempts, want %d", len(seen), len(ids))
	}
	for a, c := range seen {
		if c != 1 {
			t.Fatalf("attempt %s leased %d times", a, c)
		}
	}
}

func deliveries(t *testing.T, s Store) {
	e, ids := queue(t, s, 1)
	now := time.Now().UTC()
	for i := 0; i < 5; i++ {
		got, err := s.LeaseAttempts(ctx, now, now.Add(time.Minute), 1)
		if err != nil || len(got) != 1 {
			t.Fatalf("attempt %d: leased %d (%v)", i, len(got), err)
		}
		d := webhook.Delivery{ID: id.New("whd"), EndpointID: e.ID, EventID: ids[0], EventType: webhook.PaymentCreated, Attempt: i + 1,
			At: now, Result: "failed", Status: 500, LatencyMS: 3, Response: fmt.Sprintf("boom %d", i), Error: "endpoint answered 500"}
		if err := s.FinishAttempt(ctx, got[0], d, webhook.Finish{State: webhook.StatePending, NextAt: now}); err != nil {
			t.Fatal(err)
		}
	}
	// A skipped attempt (endpoint disabled) is put off, not logged or counted.
	got, err := s.LeaseAttempts(ctx, now, now.Add(time.Minute), 1)
	if err != nil || len(got) != 1 || got[0].Attempts != 5 {
		t.Fatalf("before the skip: leased %+v (%v)", got, err)
	}
	if err := s.FinishAttempt(ctx, got[0], webhook.Delivery{ID: id.New("whd"), EndpointID: e.ID, EventID: ids[0], At: now}, webhook.Finish{State: webhook.StatePending, NextAt: now, Skip: true}); err != nil {
		t.Fatal(err)
	}
	if got, err = s.LeaseAttempts(ctx, now, now.Add(time.Minute), 1); err != nil || len(got) != 1 || got[0].Attempts != 5 {
		t.Fatalf("after the skip: leased %+v (%v), want attempts still 5", got, err)
	}
	page, more, err := s.ListDeliveries(ctx, e.ID, "", 3)
	if err != nil || len(page) != 3 || !more || page[0].Response != "boom 4" || page[0].Attempt != 5 || page[0].Status != 500 {
		t.Fatalf("first page = %+v more=%v (%v)", page, more, err)
	}
	rest, more, err := s.ListDeliveries(ctx, e.ID, page[2].ID, 3)
	if err != nil || len(rest) != 2 || more || rest[1].Response != "boom 0" {
		t.Fatalf("second page = %+v more=%v (%v)", rest, more, err)
	}
	if n, err := s.DeleteEventsBefore(ctx, now.Add(-time.Hour)); err != nil || n != 0 {
		t.Fatalf("swept %d recent events (%v)", n, err)
	}
	if n, err := s.DeleteEventsBefore(ctx, now.Add(time.Hour)); err != nil || n != 1 {
		t.Fatalf("swept %d events (%v), want 1", n, err)
	}
	if _, err := s.GetEvent(ctx, ids[0]); !errors.Is(err, webhook.ErrNotFound) {
		t.Fatalf("swept event still there: %v", err)
	}
	if page, _, err := s.ListDeliveries(ctx, e.ID, "", 10); err != nil || len(page) != 0 {
		t.Fatalf("swept deliveries still there: %d (%v)", len(page), err)
	}
	if n, _, err := s.QueueStats(ctx); err != nil || n != 0 {
		t.Fatalf("swept queue depth = %d (%v)", n, err)
	}
}
