package realtime

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/paymon/paymon/internal/logbook"
)

func newHub(t *testing.T, opt Options) *Hub {
	t.Helper()
	bus := NewLocalBus()
	h, err := NewHub(context.Background(), bus, opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := h.Shutdown(ctx); err != nil {
			t.Error(err)
		}
		_ = bus.Close()
	})
	return h
}

func newSub(t *testing.T, h *Hub) *Subscriber {
	t.Helper()
	s, err := h.NewSubscriber()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

func publishLog(t *testing.T, h *Hub, level, service, msg string) {
	t.Helper()
	if err := h.PublishLog(context.Background(), level, service, map[string]string{"level": level, "service": service, "message": msg}); err != nil {
		t.Fatal(err)
	}
}

// drain returns the current events queued for s, without waiting: the
// local bus delivers synchronously.
func drain(s *Subscriber) []*Event {
	var out []*Event
	for {
		select {
		case d := <-s.Queue():
			if s.Current(d) {
				for _, e := range d.Events {
					if d.Wants(e) {
						out = append(out, e)
					}
				}
			}
		default:
			return out
		}
	}
}

func messages(evs []*Event) []string {
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = string(e.Data)
	}
	return out
}

func TestFilters(t *testing.T) {
	h := newHub(t, Options{})
	errs := newSub(t, h)
	if _, err := errs.Subscribe(TopicLogs, Filter{Levels: []string{"ERROR", "fatal"}, Service: "checkout"}, ""); err != nil {
		t.Fatal(err)
	}
	all := newSub(t, h)
	if _, err := all.Subscribe(TopicLogs, Filter{}, ""); err != nil {
		t.Fatal(err)
	}
	failed := newSub(t, h)
	if _, err := failed.Subscribe(TopicPayments, Filter{Status: "failed", Provider: "simulator"}, ""); err != nil {
		t.Fatal(err)
	}

	publishLog(t, h, "error", "checkout", "a")
	publishLog(t, h, "info", "checkout", "b")
	publishLog(t, h, "fatal", "billing", "c")
	publishLog(t, h, "fatal", "checkout", "d")
	for _, st := range []string{"failed", "succeeded"} {
		for _, pr := range []string{"simulator", "stripe"} {
			if err := h.Publish(context.Background(), TopicPayments, PaymentUpdated, map[string]string{"status": st, "provider": pr}, Attrs{Status: st, Provider: pr}); err != nil {
				t.Fatal(err)
			}
		}
	}

	if got := len(drain(errs)); got != 2 {
		t.Errorf("errors-of-checkout subscriber got %d events, want 2", got)
	}
	if got := len(drain(all)); got != 4 {
		t.Errorf("unfiltered logs subscriber got %d events, want 4 (and no payments)", got)
	}
	got := drain(failed)
	if len(got) != 1 || got[0].Attrs.Status != "failed" || got[0].Attrs.Provider != "simulator" {
		t.Errorf("failed/simulator subscriber got %v", messages(got))
	}
}

func TestFilterValidation(t *testing.T) {
	cases := []struct {
		topic Topic
		f     Filter
	}{
		{TopicLogs, Filter{Levels: []string{"loud"}}},
		{TopicLogs, Filter{Status: "failed"}},
		{TopicPayments, Filter{Levels: []string{"error"}}},
		{TopicPayments, Filter{Status: "bogus"}},
		{TopicAlerts, Filter{Service: "x"}},
	}
	for _, c := range cases {
		if err := c.f.Validate(c.topic); !errors.Is(err, ErrInvalidFilter) {
			t.Errorf("%s %+v: err = %v, want ErrInvalidFilter", c.topic, c.f, err)
		}
	}
}

func TestReplaySince(t *testing.T) {
	h := newHub(t, Options{ReplaySize: 10})
	first := newSub(t, h)
	if _, err := first.Subscribe(TopicLogs, Filter{}, ""); err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		publishLog(t, h, "info", "svc", fmt.Sprint(i))
	}
	seen := drain(first)
	if len(seen) != 5 {
		t.Fatalf("got %d events, want 5", len(seen))
	}
	// The client saw up to event 2, disconnected; 3, 4 were published
	// meanwhile, and 5..7 come while it resubscribes.
	since := seen[2].ID
	second := newSub(t, h)
	rep, err := second.Subscribe(TopicLogs, Filter{}, since)
	if err != nil {
		t.Fatal(err)
	}
	for i := 5; i < 8; i++ {
		publishLog(t, h, "info", "svc", fmt.Sprint(i))
	}
	if rep.Gap {
		t.Error("gap reported although since is buffered")
	}
	got := append(rep.Events, drain(second)...)
	var ids []string
	for i, e := range got {
		want := fmt.Sprintf(`{"level":"info","message":"%d","service":"svc"}`, i+3)
		if string(e.Data) != want {
			t.Errorf("event %d = %s, want %s", i, e.Data, want)
		}
		ids = append(ids, e.ID)
	}
	if len(got) != 5 {
		t.Errorf("got %d events after since, want 5 (3..7): %v", len(got), messages(got))
	}
	for i := 1; i < len(ids); i++ {
		if ids[i] <= ids[i-1] {
			t.Errorf("ids out of order or duplicated: %v", ids)
		}
	}
}

func TestReplayGap(t *testing.T) {
	h := newHub(t, Options{ReplaySize: 3})
	s := newSub(t, h)
	if _, err := s.Subscribe(TopicLogs, Filter{}, ""); err != nil {
		t.Fatal(err)
	}
	for i := range 6 {
		publishLog(t, h, "info", "svc", fmt.Sprint(i))
	}
	seen := drain(s)
	rep, err := newSub(t, h).Subscribe(TopicLogs, Filter{}, seen[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Gap {
		t.Error("no gap reported although since was evicted")
	}
	if len(rep.Events) != 3 || rep.Events[0].ID != seen[3].ID {
		t.Errorf("replay after a gap = %v, want the 3 buffered events", messages(rep.Events))
	}
	if _, err := newSub(t, h).Subscribe(TopicLogs, Filter{}, "nonsense"); !errors.Is(err, ErrBadSince) {
		t.Errorf("bad since: err = %v", err)
	}
}

func TestSubscribeAllSinceAcrossTopics(t *testing.T) {
	h := newHub(t, Options{})
	s := newSub(t, h)
	if _, err := s.SubscribeAll(map[Topic]Filter{TopicLogs: {}, TopicAlerts: {}}, ""); err != nil {
		t.Fatal(err)
	}
	publishLog(t, h, "info", "svc", "0")
	if err := h.PublishAlert(context.Background(), AlertFired, map[string]string{"id": "a1"}); err != nil {
		t.Fatal(err)
	}
	publishLog(t, h, "info", "svc", "1")
	if err := h.PublishAlert(context.Background(), AlertResolved, map[string]string{"id": "a1"}); err != nil {
		t.Fatal(err)
	}
	seen := drain(s)
	if len(seen) != 4 {
		t.Fatalf("got %d, want 4", len(seen))
	}
	rep, err := newSub(t, h).SubscribeAll(map[Topic]Filter{TopicLogs: {}, TopicAlerts: {}}, seen[1].ID)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Gap || len(rep.Events) != 2 || rep.Events[0].ID != seen[2].ID || rep.Events[1].ID != seen[3].ID {
		t.Errorf("replay after the alert = gap %v %v", rep.Gap, messages(rep.Events))
	}
}

func TestSlowSubscriberDroppedOthersUnaffected(t *testing.T) {
	h := newHub(t, Options{QueueSize: 4})
	slow := newSub(t, h)
	fast := newSub(t, h)
	for _, s := range []*Subscriber{slow, fast} {
		if _, err := s.Subscribe(TopicLogs, Filter{}, ""); err != nil {
			t.Fatal(err)
		}
	}
	n := 0
	for i := range 20 {
		publishLog(t, h, "info", "svc", fmt.Sprint(i))
		n += len(drain(fast))
	}
	if n != 20 {
		t.Errorf("fast subscriber got %d events, want 20", n)
	}
	select {
	case <-slow.Done():
	default:
		t.Fatal("slow subscriber not dropped")
	}
	if !errors.Is(slow.Err(), ErrSlow) {
		t.Errorf("slow.Err() = %v", slow.Err())
	}
	if fast.Err() != nil {
		t.Errorf("fast subscriber ended: %v", fast.Err())
	}
}

func TestUnsubscribeSkipsQueued(t *testing.T) {
	h := newHub(t, Options{})
	s := newSub(t, h)
	if _, err := s.Subscribe(TopicLogs, Filter{}, ""); err != nil {
		t.Fatal(err)
	}
	publishLog(t, h, "info", "svc", "queued")
	s.Unsubscribe(TopicLogs)
	publishLog(t, h, "info", "svc", "after")
	if got := drain(s); len(got) != 0 {
		t.Errorf("got %v after unsubscribe", messages(got))
	}
}

func TestShutdownWaitsForOwners(t *testing.T) {
	bus := NewLocalBus()
	h, err := NewHub(context.Background(), bus, Options{})
	if err != nil {
		t.Fatal(err)
	}
	s, err := h.NewSubscriber()
	if err != nil {
		t.Fatal(err)
	}
	closed := make(chan struct{})
	go func() {
		<-s.Done() // the transport's goodbye happens here
		s.Close()
		close(closed)
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := h.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	<-closed
	if !errors.Is(s.Err(), ErrShutdown) {
		t.Errorf("Err = %v, want ErrShutdown", s.Err())
	}
	if _, err := h.NewSubscriber(); !errors.Is(err, ErrShutdown) {
		t.Errorf("NewSubscriber after shutdown: %v", err)
	}
}

func TestTwoHubsOneBus(t *testing.T) {
	bus := NewLocalBus()
	var hubs []*Hub
	for range 2 {
		h, err := NewHub(context.Background(), bus, Options{})
		if err != nil {
			t.Fatal(err)
		}
		hubs = append(hubs, h)
		t.Cleanup(func() { _ = h.Shutdown(context.Background()) })
	}
	s := newSub(t, hubs[1])
	if _, err := s.Subscribe(TopicAlerts, Filter{}, ""); err != nil {
		t.Fatal(err)
	}
	if err := hubs[0].PublishAlert(context.Background(), AlertFired, map[string]string{"rule": "X"}); err != nil {
		t.Fatal(err)
	}
	got := drain(s)
	if len(got) != 1 || got[0].Type != AlertFired {
		t.Errorf("subscriber on the other hub got %v", messages(got))
	}
}

func TestBatchTakesOneQueueSlot(t *testing.T) {
	h := newHub(t, Options{QueueSize: 2})
	errs := newSub(t, h)
	if _, err := errs.Subscribe(TopicLogs, Filter{Levels: []string{"error"}}, ""); err != nil {
		t.Fatal(err)
	}
	publish := LogPublisher(h, slog.Default())
	var entries []logbook.Entry
	for i := range 50 {
		level := logbook.LevelInfo
		if i%10 == 0 {
			level = logbook.LevelError
		}
		entries = append(entries, logbook.Entry{ID: fmt.Sprint("log_", i), Level: level, Service: "svc", Message: fmt.Sprint(i)})
	}
	publish(context.Background(), entries)
	publish(context.Background(), entries[:1])
	if errs.Err() != nil {
		t.Fatalf("a batch of 50 overflowed a queue of 2: %v", errs.Err())
	}
	got := drain(errs)
	if len(got) != 6 {
		t.Fatalf("got %d error entries, want 6 (5 from the batch, then 1)", len(got))
	}
	for _, e := range got {
		if e.Type != LogCreated || e.Attrs.Level != "error" || !strings.Contains(string(e.Data), `"level":"error"`) {
			t.Errorf("event %s %+v %s", e.Type, e.Attrs, e.Data)
		}
	}
	// Batched events replay one by one: since the third error entry.
	rep, err := newSub(t, h).Subscribe(TopicLogs, Filter{Levels: []string{"error"}}, got[2].ID)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Gap || len(rep.Events) != 3 || rep.Events[0].ID != got[3].ID {
		t.Errorf("replay after a batched event: gap %v, %d events", rep.Gap, len(rep.Events))
	}
}

func TestMaxSubscribers(t *testing.T) {
	h := newHub(t, Options{MaxSubscribers: 2})
	a, err := h.NewSubscriber()
	if err != nil {
		t.Fatal(err)
	}
	b, err := h.NewSubscriber()
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if _, err := h.NewSubscriber(); !errors.Is(err, ErrFull) {
		t.Fatalf("third subscriber: err = %v, want ErrFull", err)
	}
	a.Close()
	c, err := h.NewSubscriber()
	if err != nil {
		t.Fatalf("after one closed: %v", err)
	}
	c.Close()
}
