// Package cache holds the cache adapters: an in-process cache for the
// embedded default and Redis for several instances. Both implement Cache
// and pass the same conformance suite (cachetest). Every entry has a TTL.
package cache

import (
	"context"
	"errors"
	"time"
)

// ErrMiss is returned by Get for an absent or expired key.
var ErrMiss = errors.New("cache miss")

// Cache is the full set of operations the domains use; each domain declares
// the subset it needs.
type Cache interface {
	Get(ctx context.Context, key string) ([]byte, error)
	Set(ctx context.Context, key string, val []byte, ttl time.Duration) error
	// SetNX sets key only if absent and reports whether it did.
	SetNX(ctx context.Context, key string, val []byte, ttl time.Duration) (bool, error)
	Del(ctx context.Context, keys ...string) error
	// MGet returns one entry per key, nil for a miss.
	MGet(ctx context.Context, keys ...string) ([][]byte, error)
	// ListPush puts val at the head of a list capped at max entries, and
	// (re)sets the list's TTL.
	ListPush(ctx context.Context, key string, val []byte, max int, ttl time.Duration) error
	// ListRange returns up to n entries from the head (newest first).
	ListRange(ctx context.Context, key string, n int) ([][]byte, error)
	// Incr adds one to a counter, creating it with ttl when absent.
	Incr(ctx context.Context, key string, ttl time.Duration) (int64, error)
	Ping(ctx context.Context) error
	Close() error
}
