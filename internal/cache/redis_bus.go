package cache

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/paymon/paymon/internal/dependency"
	"github.com/paymon/paymon/internal/metrics"
)

// RedisBus fans messages out to every instance through Redis pub/sub.
// Delivery is at most once: a message published while Redis or the
// subscriber's connection is down is lost for the other instances, so
// consumers that need every event read the store (the realtime replay
// buffer covers short gaps). This instance's own subscribers still get
// it: a failed publish is handed to them directly.
type RedisBus struct {
	rdb *redis.Client

	mu    sync.Mutex
	local map[string]map[*localSub]struct{} // this instance's subscribers, by channel
}

// localSub is one Subscribe's handler, for delivery without Redis.
type localSub struct {
	handler func(msg []byte)
	stopped atomic.Bool
}

// NewRedisBus returns a bus on rdb; the caller keeps ownership of rdb.
func NewRedisBus(rdb *redis.Client) *RedisBus {
	return &RedisBus{rdb: rdb, local: map[string]map[*localSub]struct{}{}}
}

// Publish sends msg to every current subscriber of channel, on every
// instance. If Redis cannot take it, this instance's subscribers get it
// anyway and the error says the others did not; a subscriber that gets
// it twice (Redis took it after all) sees one event, since the realtime
// hub drops repeated event ids.
func (b *RedisBus) Publish(ctx context.Context, channel string, msg []byte) error {
	start := time.Now()
	err := b.rdb.Publish(ctx, channel, msg).Err()
	metrics.CacheOperationDuration.WithLabelValues("redis", "publish").Observe(time.Since(start).Seconds())
	if err != nil {
		metrics.CacheErrors.WithLabelValues("redis", "publish").Inc()
		b.deliverLocally(channel, msg)
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return err
		}
		return dependency.Unavailable("redis", fmt.Errorf("cannot publish: %w", err))
	}
	return nil
}

// Subscribe calls handler, from one goroutine, for every message published
// on channel after Subscribe returns. ctx bounds only the wait for Redis to
// confirm. If Redis cannot be reached, Subscribe still succeeds (an
// instance starts degraded rather than not at all) and the subscription is
// made when Redis answers; likewise after a dropped connection (Redis
// restarted). Messages published meanwhile are lost. After unsubscribe
// returns no new handler call starts; it may be called from the handler
// and more than once.
func (b *RedisBus) Subscribe(ctx context.Context, channel string, handler func(msg []byte)) (func(), error) {
	ps := b.rdb.Subscribe(ctx, channel)
	// Wait for Redis to confirm, so a message published right after
	// Subscribe returns is delivered.
	if _, err := ps.Receive(ctx); err != nil {
		if ctx.Err() != nil {
			_ = ps.Close()
			return nil, ctx.Err()
		}
		metrics.CacheErrors.WithLabelValues("redis", "subscribe").Inc()
		slog.WarnContext(ctx, "redis bus: subscription deferred until Redis answers", "channel", channel, "err", err)
	}
	// The health check pings an idle connection, so a Redis that went
	// away is noticed and reconnected to within a few seconds.
	ch := ps.Channel(redis.WithChannelHealthCheckInterval(3*time.Second), redis.WithChannelSize(1024))
	sub := &localSub{handler: handler}
	b.mu.Lock()
	if b.local[channel] == nil {
		b.local[channel] = map[*localSub]struct{}{}
	}
	b.local[channel][sub] = struct{}{}
	b.mu.Unlock()
	go func() {
		for m := range ch {
			if sub.stopped.Load() {
				continue
			}
			handler([]byte(m.Payload))
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() {
			sub.stopped.Store(true)
			b.mu.Lock()
			delete(b.local[channel], sub)
			b.mu.Unlock()
			_ = ps.Close()
		})
	}, nil
}

// deliverLocally hands msg to this instance's subscribers of channel. The
// lock is not held during the calls: a handler may unsubscribe.
func (b *RedisBus) deliverLocally(channel string, msg []byte) {
	b.mu.Lock()
	subs := make([]*localSub, 0, len(b.local[channel]))
	for s := range b.local[channel] {
		subs = append(subs, s)
	}
	b.mu.Unlock()
	for _, s := range subs {
		if !s.stopped.Load() {
			s.handler(msg)
		}
	}
}

// Ping checks that Redis answers, for /readyz.
func (b *RedisBus) Ping(ctx context.Context) error {
	if err := b.rdb.Ping(ctx).Err(); err != nil {
		return dependency.Unavailable("redis", err)
	}
	return nil
}
