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
// subscriber's connection is down is lost, so consumers that need every
// event read the store (the realtime replay buffer covers short gaps).
type RedisBus struct {
	rdb *redis.Client
}

// NewRedisBus returns a bus on rdb; the caller keeps ownership of rdb.
func NewRedisBus(rdb *redis.Client) *RedisBus { return &RedisBus{rdb: rdb} }

// Publish sends msg to every current subscriber of channel, on every
// instance.
func (b *RedisBus) Publish(ctx context.Context, channel string, msg []byte) error {
	start := time.Now()
	err := b.rdb.Publish(ctx, channel, msg).Err()
	metrics.CacheOperationDuration.WithLabelValues("redis", "publish").Observe(time.Since(start).Seconds())
	if err != nil {
		metrics.CacheErrors.WithLabelValues("redis", "publish").Inc()
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
	var stopped atomic.Bool
	go func() {
		for m := range ch {
			if stopped.Load() {
				continue
			}
			handler([]byte(m.Payload))
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() {
			stopped.Store(true)
			_ = ps.Close()
		})
	}, nil
}

// Ping checks that Redis answers, for /readyz.
func (b *RedisBus) Ping(ctx context.Context) error {
	if err := b.rdb.Ping(ctx).Err(); err != nil {
		return dependency.Unavailable("redis", err)
	}
	return nil
}
