package realtime

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/paymon/paymon/internal/id"
	"github.com/paymon/paymon/internal/metrics"
)

// DefaultChannel is the bus channel every instance's hub listens on.
const DefaultChannel = "paymon:stream"

// Options tune a Hub; zero values take the defaults.
type Options struct {
	// QueueSize bounds each subscriber's queue of undelivered events; a
	// subscriber whose queue is full is dropped as too slow (256).
	QueueSize int
	// ReplaySize is how many events each topic keeps for `since` (1000).
	ReplaySize int
	// Channel is the bus channel (DefaultChannel).
	Channel string
	// MaxSubscribers bounds this instance's open streams; NewSubscriber
	// refuses more with ErrFull (10,000). Each costs a queue, goroutines
	// and a socket, so an unbounded number is a memory exhaustion waiting
	// for a client loop.
	MaxSubscribers int
	Logger         *slog.Logger
}

// Why a subscriber ended; the transport picks its close code from these.
var (
	ErrSlow     = errors.New("too slow: send queue full")
	ErrShutdown = errors.New("server shutting down")
	ErrClosed   = errors.New("subscriber closed")
	ErrBadSince = errors.New("since is not an event id")
	ErrFull     = errors.New("too many open streams on this instance")
)

// Hub keeps this instance's subscribers and replay buffers and feeds them
// from the bus. One mutex guards all topics: delivery is a few map reads
// and non-blocking channel sends, and one lock gives a single arrival
// order (seq) across topics, which makes `since` exact even for a client
// that follows several topics at once.
type Hub struct {
	bus     Bus
	opt     Options
	log     *slog.Logger
	unsub   func()
	leave   sync.Once
	mu      sync.Mutex
	closed  bool
	seq     uint64
	topics  [3]*topicState
	byID    map[string]*Event // every event still in a replay buffer
	subs    map[*Subscriber]struct{}
	clients sync.WaitGroup // one per live Subscriber, until Close
}

type topicState struct {
	ring    []*Event // circular, len == cap == ReplaySize once full
	start   int      // index of the oldest event once full
	evicted uint64   // seq of the newest event pushed out of ring (0: none yet)
	subs    map[*Subscriber]subscription
}

type subscription struct {
	filter *Filter // shared with the Deliveries made for it; never changed
	gen    uint64
}

// NewHub subscribes to the bus and returns a running hub.
func NewHub(ctx context.Context, bus Bus, opt Options) (*Hub, error) {
	if opt.QueueSize <= 0 {
		opt.QueueSize = 256
	}
	if opt.ReplaySize <= 0 {
		opt.ReplaySize = 1000
	}
	if opt.Channel == "" {
		opt.Channel = DefaultChannel
	}
	if opt.MaxSubscribers <= 0 {
		opt.MaxSubscribers = 10_000
	}
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	h := &Hub{bus: bus, opt: opt, log: opt.Logger, byID: map[string]*Event{}, subs: map[*Subscriber]struct{}{}}
	for i := range h.topics {
		h.topics[i] = &topicState{subs: map[*Subscriber]subscription{}}
	}
	unsub, err := bus.Subscribe(ctx, opt.Channel, h.receive)
	if err != nil {
		return nil, fmt.Errorf("cannot subscribe to the event bus: %w", err)
	}
	h.unsub = unsub
	return h, nil
}

// Publish sends one event to every instance. data is JSON-encoded unless
// it is already a json.RawMessage or []byte.
func (h *Hub) Publish(ctx context.Context, topic Topic, typ string, data any, attrs Attrs) error {
	if topicIndex(topic) < 0 {
		return fmt.Errorf("cannot publish: unknown topic %q", topic)
	}
	var raw json.RawMessage
	switch d := data.(type) {
	case json.RawMessage:
		raw = d
	case []byte:
		raw = d
	default:
		b, err := json.Marshal(data)
		if err != nil {
			return fmt.Errorf("cannot encode %s event: %w", typ, err)
		}
		raw = b
	}
	msg, err := appendEvent(make([]byte, 0, len(raw)+160), topic, Item{Type: typ, Data: raw, Attrs: attrs})
	if err != nil {
		return err
	}
	if err := h.bus.Publish(ctx, h.opt.Channel, msg); err != nil {
		return fmt.Errorf("cannot publish %s event: %w", typ, err)
	}
	metrics.StreamPublished.WithLabelValues(string(topic)).Inc()
	return nil
}

// Item is one event of a batch.
type Item struct {
	Type  string
	Data  json.RawMessage
	Attrs Attrs
}

// PublishBatch sends several events of one topic as one bus message (a
// log ingest batch). Each subscriber receives the whole batch as one
// queue entry, so a burst costs one slot of its bounded queue, not one
// per event.
func (h *Hub) PublishBatch(ctx context.Context, topic Topic, items []Item) error {
	if topicIndex(topic) < 0 {
		return fmt.Errorf("cannot publish: unknown topic %q", topic)
	}
	if len(items) == 0 {
		return nil
	}
	size := 2
	for _, it := range items {
		size += len(it.Data) + 160
	}
	msg := make([]byte, 0, size)
	msg = append(msg, '[')
	for i, it := range items {
		if i > 0 {
			msg = append(msg, ',')
		}
		var err error
		if msg, err = appendEvent(msg, topic, it); err != nil {
			return err
		}
	}
	msg = append(msg, ']')
	if err := h.bus.Publish(ctx, h.opt.Channel, msg); err != nil {
		return fmt.Errorf("cannot publish %s events: %w", topic, err)
	}
	metrics.StreamPublished.WithLabelValues(string(topic)).Add(float64(len(items)))
	return nil
}

// appendEvent encodes one event as encoding/json would encode Event, by
// hand: json.Marshal would scan each item's Data a second time, and
// publishers hand in valid JSON (what they rendered for the REST API).
func appendEvent(msg []byte, topic Topic, it Item) ([]byte, error) {
	msg = append(msg, `{"id":`...)
	msg = appendJSONString(msg, id.New("evt"))
	msg = append(msg, `,"topic":`...)
	msg = appendJSONString(msg, string(topic))
	msg = append(msg, `,"type":`...)
	msg = appendJSONString(msg, it.Type)
	msg = append(msg, `,"data":`...)
	msg = appendRaw(msg, it.Data)
	if it.Attrs != (Attrs{}) {
		a, err := json.Marshal(it.Attrs)
		if err != nil {
			return nil, fmt.Errorf("cannot encode %s event attributes: %w", topic, err)
		}
		msg = append(msg, `,"attrs":`...)
		msg = append(msg, a...)
	}
	return append(msg, '}'), nil
}

// receive is the bus handler: it stores the events for replay and offers
// them to each matching subscriber without ever blocking. A message is
// one event (a JSON object) or a batch of one topic (a JSON array).
func (h *Hub) receive(msg []byte) {
	var evs []*Event
	if len(msg) > 0 && msg[0] == '[' {
		if err := json.Unmarshal(msg, &evs); err != nil {
			h.log.Warn("dropping undecodable stream batch", "err", err)
			return
		}
	} else {
		ev := new(Event)
		if err := json.Unmarshal(msg, ev); err != nil {
			h.log.Warn("dropping undecodable stream event", "err", err)
			return
		}
		evs = []*Event{ev}
	}
	if len(evs) == 0 {
		return
	}
	ti := topicIndex(evs[0].Topic)
	for _, ev := range evs {
		if ev == nil || ev.Topic != evs[0].Topic || ti < 0 || !ValidEventID(ev.ID) {
			h.log.Warn("dropping stream message with an unknown or mixed topic or a bad id")
			return
		}
		if err := ev.encodeFrame(); err != nil {
			h.log.Warn("dropping stream message", "err", err)
			return
		}
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return
	}
	t := h.topics[ti]
	fresh := evs[:0]
	for _, ev := range evs {
		if _, dup := h.byID[ev.ID]; dup {
			continue // a bus that delivers twice must not make clients see twice
		}
		h.seq++
		ev.seq = h.seq
		if len(t.ring) < h.opt.ReplaySize {
			t.ring = append(t.ring, ev)
		} else {
			old := t.ring[t.start]
			delete(h.byID, old.ID)
			t.evicted = old.seq
			t.ring[t.start] = ev
			t.start = (t.start + 1) % len(t.ring)
		}
		h.byID[ev.ID] = ev
		fresh = append(fresh, ev)
	}
	if len(fresh) == 0 {
		return
	}
	for s, sub := range t.subs {
		d := Delivery{Events: fresh, filter: sub.filter, gen: sub.gen}
		if !slices.ContainsFunc(fresh, sub.filter.Match) {
			continue
		}
		if len(fresh) == 1 {
			d.filter = nil // already matched
		}
		select {
		case s.queue <- d:
		default:
			h.dropLocked(s, ErrSlow)
		}
	}
}

// dropLocked ends s and takes it off every topic; h.mu is held.
func (h *Hub) dropLocked(s *Subscriber, why error) {
	for _, t := range h.topics {
		delete(t.subs, s)
	}
	s.end(why)
}

// NewSubscriber registers a client with no topics yet. Its owner must
// call Close when done, whatever happened.
func (h *Hub) NewSubscriber() (*Subscriber, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, ErrShutdown
	}
	if len(h.subs) >= h.opt.MaxSubscribers {
		return nil, ErrFull
	}
	s := &Subscriber{hub: h, queue: make(chan Delivery, h.opt.QueueSize), done: make(chan struct{})}
	h.subs[s] = struct{}{}
	h.clients.Add(1)
	return s, nil
}

// Shutdown ends every subscriber with ErrShutdown, refuses new ones, and
// waits until their owners have closed them (so transports have sent
// their goodbye) or ctx ends. Then it leaves the bus.
func (h *Hub) Shutdown(ctx context.Context) error {
	h.mu.Lock()
	if !h.closed {
		h.closed = true
		for s := range h.subs {
			h.dropLocked(s, ErrShutdown)
		}
	}
	h.mu.Unlock()
	done := make(chan struct{})
	go func() { h.clients.Wait(); close(done) }()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		err = fmt.Errorf("cannot wait for stream clients to close: %w", ctx.Err())
	}
	h.leave.Do(func() {
		if h.unsub != nil {
			h.unsub()
		}
	})
	return err
}

// Replay is what Subscribe found in the buffer for `since`.
type Replay struct {
	Events []*Event
	// Gap is true when since was no longer (or never) in the buffer, so
	// events may have been missed; Events then holds what is buffered
	// after since by id order.
	Gap bool
}

// Delivery is one queue entry: an event, or a batch of one topic, tagged
// with the subscription it was queued for so that entries queued before
// an unsubscribe or a filter change are recognised and skipped (see
// Subscriber.Current). Send the Events for which Wants is true.
type Delivery struct {
	Events []*Event
	filter *Filter // nil: every event is wanted
	gen    uint64
}

// Wants reports whether the subscriber's filter takes e.
func (d Delivery) Wants(e *Event) bool { return d.filter == nil || d.filter.Match(e) }

// Subscriber is one client: a bounded queue shared by its topics.
// Subscribe, Unsubscribe and Current are meant for the one goroutine that
// drains Queue.
type Subscriber struct {
	hub   *Hub
	queue chan Delivery
	cur   [3]atomic.Uint64 // live generation per topic; 0 = not subscribed
	gen   uint64
	done  chan struct{}
	once  sync.Once
	why   error
	close sync.Once
}

func (s *Subscriber) end(why error) {
	s.once.Do(func() {
		s.why = why
		close(s.done)
	})
}

// Queue is where live events arrive.
func (s *Subscriber) Queue() <-chan Delivery { return s.queue }

// Done is closed when the hub ends the subscriber (Err says why).
func (s *Subscriber) Done() <-chan struct{} { return s.done }

// Err is why the subscriber ended: ErrSlow, ErrShutdown or ErrClosed;
// nil while it runs.
func (s *Subscriber) Err() error {
	select {
	case <-s.done:
		return s.why
	default:
		return nil
	}
}

// Current reports whether d belongs to a subscription still in force.
func (s *Subscriber) Current(d Delivery) bool {
	return len(d.Events) > 0 && s.cur[topicIndex(d.Events[0].Topic)].Load() == d.gen
}

// Subscribe starts (or replaces, with a new filter) the subscription to
// topic. With since, it also returns the buffered events after since
// that pass the filter; registration and the buffer snapshot happen under
// one lock, so the live queue holds exactly the events after the replay:
// no gap, no duplicate.
func (s *Subscriber) Subscribe(topic Topic, f Filter, since string) (Replay, error) {
	return s.SubscribeAll(map[Topic]Filter{topic: f}, since)
}

// SubscribeAll subscribes to several topics at once, each with its own
// filter, and one `since` that may name an event of any of them (SSE's
// Last-Event-ID). Events are replayed in their arrival order across
// topics.
func (s *Subscriber) SubscribeAll(filters map[Topic]Filter, since string) (Replay, error) {
	byIndex := make(map[int]Filter, len(filters))
	for t, f := range filters {
		ti := topicIndex(t)
		if ti < 0 {
			return Replay{}, fmt.Errorf("unknown topic %q", t)
		}
		if err := f.Validate(t); err != nil {
			return Replay{}, err
		}
		byIndex[ti] = f
	}
	if since != "" && !ValidEventID(since) {
		return Replay{}, ErrBadSince
	}
	h := s.hub
	h.mu.Lock()
	defer h.mu.Unlock()
	if err := s.Err(); err != nil {
		return Replay{}, err
	}
	var rep Replay
	if since != "" {
		rep = h.replayLocked(byIndex, since)
	}
	s.gen++
	for ti, f := range byIndex {
		h.topics[ti].subs[s] = subscription{filter: &f, gen: s.gen}
		s.cur[ti].Store(s.gen)
	}
	return rep, nil
}

// replayLocked collects, in arrival order, the events of the given topics
// that came after since and pass their topic's filter. When since is in
// the buffer the cut is exact (by arrival seq); otherwise it falls back
// to id order (ids sort by time) and reports a gap. A topic that has
// already evicted events newer than since also reports a gap.
func (h *Hub) replayLocked(filters map[int]Filter, since string) Replay {
	var rep Replay
	after := func(e *Event) bool { return e.ID > since }
	if ref, ok := h.byID[since]; ok {
		after = func(e *Event) bool { return e.seq > ref.seq }
		for ti := range filters {
			if h.topics[ti].evicted > ref.seq {
				rep.Gap = true
			}
		}
	} else {
		rep.Gap = true
	}
	for ti, f := range filters {
		t := h.topics[ti]
		n := len(t.ring)
		for i := range n {
			e := t.ring[(t.start+i)%n]
			if after(e) && f.Match(e) {
				rep.Events = append(rep.Events, e)
			}
		}
	}
	slices.SortFunc(rep.Events, func(a, b *Event) int { return cmp.Compare(a.seq, b.seq) })
	return rep
}

// Unsubscribe stops topic; events already queued for it are no longer
// Current.
func (s *Subscriber) Unsubscribe(topic Topic) {
	ti := topicIndex(topic)
	if ti < 0 {
		return
	}
	s.hub.mu.Lock()
	delete(s.hub.topics[ti].subs, s)
	s.cur[ti].Store(0)
	s.hub.mu.Unlock()
}

// Close releases the subscriber; safe to call more than once.
func (s *Subscriber) Close() {
	s.close.Do(func() {
		h := s.hub
		h.mu.Lock()
		h.dropLocked(s, ErrClosed)
		delete(h.subs, s)
		h.mu.Unlock()
		h.clients.Done()
	})
}
