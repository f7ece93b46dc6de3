package realtime

import (
	"context"
	"errors"
	"slices"
	"sync"
)

// Bus carries published events between instances. Publish sends msg to
// every handler subscribed to channel on every instance (this one
// included); a handler must not keep msg after it returns. The in-process
// LocalBus serves a single instance; internal/cache implements Bus on
// Redis pub/sub for several.
type Bus interface {
	Publish(ctx context.Context, channel string, msg []byte) error
	Subscribe(ctx context.Context, channel string, handler func(msg []byte)) (unsubscribe func(), err error)
}

// ErrBusClosed is returned by a closed LocalBus.
var ErrBusClosed = errors.New("bus closed")

// LocalBus is an in-process Bus: Publish calls every handler of the
// channel synchronously, in subscription order, so events keep their
// publish order.
type LocalBus struct {
	mu       sync.RWMutex
	closed   bool
	next     int
	handlers map[string][]busHandler
}

type busHandler struct {
	key int
	fn  func([]byte)
}

// NewLocalBus returns an empty in-process bus.
func NewLocalBus() *LocalBus { return &LocalBus{handlers: map[string][]busHandler{}} }

// Publish delivers a copy of msg to the channel's handlers.
func (b *LocalBus) Publish(_ context.Context, channel string, msg []byte) error {
	b.mu.RLock()
	defer b.mu.RUnlock()
	if b.closed {
		return ErrBusClosed
	}
	// A copy, so a caller reusing its buffer cannot change what handlers see.
	m := append([]byte(nil), msg...)
	for _, h := range b.handlers[channel] {
		h.fn(m)
	}
	return nil
}

// Subscribe registers handler until unsubscribe is called.
func (b *LocalBus) Subscribe(_ context.Context, channel string, handler func([]byte)) (func(), error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil, ErrBusClosed
	}
	k := b.next
	b.next++
	b.handlers[channel] = append(b.handlers[channel], busHandler{k, handler})
	var once sync.Once
	return func() {
		once.Do(func() {
			b.mu.Lock()
			b.handlers[channel] = slices.DeleteFunc(slices.Clone(b.handlers[channel]), func(h busHandler) bool { return h.key == k })
			b.mu.Unlock()
		})
	}, nil
}

// Close drops every handler; later calls fail with ErrBusClosed.
func (b *LocalBus) Close() error {
	b.mu.Lock()
	b.closed = true
	b.handlers = map[string][]busHandler{}
	b.mu.Unlock()
	return nil
}
