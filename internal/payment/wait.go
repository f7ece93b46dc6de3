package payment

import (
	"context"
	"sync"
	"time"
)

// waiters lets a duplicate request sleep until the first request with its
// idempotency key finishes on this instance; the poll interval covers the
// first request running on another instance.
type waiters struct {
	mu sync.Mutex
	m  map[string]chan struct{}
}

func newWaiters() *waiters { return &waiters{m: map[string]chan struct{}{}} }

func (w *waiters) wait(ctx context.Context, key string, poll time.Duration) {
	w.mu.Lock()
	ch, ok := w.m[key]
	if !ok {
		ch = make(chan struct{})
		w.m[key] = ch
	}
	w.mu.Unlock()
	t := time.NewTimer(poll)
	defer t.Stop()
	select {
	case <-ch:
	case <-t.C:
	case <-ctx.Done():
	}
}

func (w *waiters) wake(key string) {
	w.mu.Lock()
	if ch, ok := w.m[key]; ok {
		close(ch)
		delete(w.m, key)
	}
	w.mu.Unlock()
}
