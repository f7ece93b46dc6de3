package cache

import (
	"context"
	"strconv"
	"sync"
	"time"

	"github.com/paymon/paymon/internal/metrics"
)

// Memory is the in-process cache: bounded in entries, every entry with a
// TTL. It is only for a single instance; several instances use Redis.
type Memory struct {
	mu      sync.Mutex
	max     int
	now     func() time.Time
	entries map[string]entry
}

type entry struct {
	val     []byte
	list    [][]byte
	expires time.Time
}

// NewMemory returns a cache holding at most max keys (lists count as one).
func NewMemory(max int) *Memory {
	if max <= 0 {
		max = 100_000
	}
	return &Memory{max: max, now: time.Now, entries: make(map[string]entry)}
}

func (m *Memory) observe(op string, start time.Time) {
	metrics.CacheOperationDuration.WithLabelValues("memory", op).Observe(time.Since(start).Seconds())
}

func (m *Memory) get(key string) (entry, bool) {
	e, ok := m.entries[key]
	if ok && !e.expires.After(m.now()) {
		delete(m.entries, key)
		return entry{}, false
	}
	return e, ok
}

func (m *Memory) put(key string, e entry) {
	if _, exists := m.entries[key]; !exists && len(m.entries) >= m.max {
		m.evict()
	}
	m.entries[key] = e
}

// evict drops expired entries, then arbitrary ones, until a tenth of the
// room is free: cheap amortised eviction, fine for a cache of snapshots.
func (m *Memory) evict() {
	now := m.now()
	for k, e := range m.entries {
		if !e.expires.After(now) {
			delete(m.entries, k)
		}
	}
	for k := range m.entries {
		if len(m.entries) < m.max-m.max/10 {
			break
		}
		delete(m.entries, k)
	}
}

func clone(b []byte) []byte { return append([]byte(nil), b...) }

// Get implements Cache.
func (m *Memory) Get(_ context.Context, key string) ([]byte, error) {
	defer m.observe("get", time.Now())
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.get(key)
	if !ok || e.list != nil {
		return nil, ErrMiss
	}
	return clone(e.val), nil
}

// Set implements Cache.
func (m *Memory) Set(_ context.Context, key string, val []byte, ttl time.Duration) error {
	defer m.observe("set", time.Now())
	m.mu.Lock()
	defer m.mu.Unlock()
	m.put(key, entry{val: clone(val), expires: m.now().Add(ttl)})
	return nil
}

// SetNX implements Cache.
func (m *Memory) SetNX(_ context.Context, key string, val []byte, ttl time.Duration) (bool, error) {
	defer m.observe("setnx", time.Now())
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.get(key); ok {
		return false, nil
	}
	m.put(key, entry{val: clone(val), expires: m.now().Add(ttl)})
	return true, nil
}

// Del implements Cache.
func (m *Memory) Del(_ context.Context, keys ...string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, k := range keys {
		delete(m.entries, k)
	}
	return nil
}

// MGet implements Cache.
func (m *Memory) MGet(_ context.Context, keys ...string) ([][]byte, error) {
	defer m.observe("mget", time.Now())
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([][]byte, len(keys))
	for i, k := range keys {
		if e, ok := m.get(k); ok && e.list == nil {
			out[i] = clone(e.val)
		}
	}
	return out, nil
}

// ListPush implements Cache.
func (m *Memory) ListPush(_ context.Context, key string, val []byte, max int, ttl time.Duration) error {
	defer m.observe("list_push", time.Now())
	m.mu.Lock()
	defer m.mu.Unlock()
	e, _ := m.get(key)
	l := make([][]byte, 0, min(len(e.list)+1, max))
	l = append(l, clone(val))
	for _, v := range e.list {
		if len(l) >= max {
			break
		}
		l = append(l, v)
	}
	m.put(key, entry{list: l, expires: m.now().Add(ttl)})
	return nil
}

// ListRange implements Cache.
func (m *Memory) ListRange(_ context.Context, key string, n int) ([][]byte, error) {
	defer m.observe("list_range", time.Now())
	m.mu.Lock()
	defer m.mu.Unlock()
	e, _ := m.get(key)
	if n > len(e.list) {
		n = len(e.list)
	}
	out := make([][]byte, n)
	for i := 0; i < n; i++ {
		out[i] = clone(e.list[i])
	}
	return out, nil
}

// Incr implements Cache.
func (m *Memory) Incr(_ context.Context, key string, ttl time.Duration) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.get(key)
	var n int64
	if ok {
		n, _ = strconv.ParseInt(string(e.val), 10, 64)
	} else {
		e.expires = m.now().Add(ttl)
	}
	n++
	e.val = []byte(strconv.FormatInt(n, 10))
	m.put(key, e)
	return n, nil
}

// Ping implements Cache.
func (m *Memory) Ping(context.Context) error { return nil }

// Close implements Cache.
func (m *Memory) Close() error { return nil }
