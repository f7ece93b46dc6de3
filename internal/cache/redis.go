package cache

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/paymon/paymon/internal/dependency"
	"github.com/paymon/paymon/internal/metrics"
)

// Redis is the cache shared by several instances. Every key it writes has
// a TTL, so a Redis without maxmemory settings still cannot fill up with
// forgotten keys.
type Redis struct {
	rdb *redis.Client
}

// NewRedisClient opens a client for url (redis://[user:pass@]host:port/db
// or rediss://). It does not connect: Redis being down at start-up makes
// Paymon degraded, not dead, and the client connects when Redis returns.
func NewRedisClient(url string) (*redis.Client, error) {
	quietRedisLog.Do(func() { redis.SetLogger(slogPrintf{}) })
	opt, err := redis.ParseURL(url)
	if err != nil {
		return nil, fmt.Errorf("cannot parse Redis URL: %w", err)
	}
	// Short timeouts: a slow cache must not slow payments down; callers
	// fall back to the store.
	opt.DialTimeout = 2 * time.Second
	opt.ReadTimeout = time.Second
	opt.WriteTimeout = time.Second
	opt.MaxRetries = 1
	return redis.NewClient(opt), nil
}

var quietRedisLog sync.Once

// slogPrintf sends go-redis's own messages (one per failed dial while Redis
// is down) to slog at debug level: the failure is already reported by
// paymon_cache_errors_total, /readyz and the callers' warnings.
type slogPrintf struct{}

func (slogPrintf) Printf(ctx context.Context, format string, v ...any) {
	slog.DebugContext(ctx, "redis client: "+fmt.Sprintf(format, v...))
}

// NewRedis returns a cache on url.
func NewRedis(url string) (*Redis, error) {
	rdb, err := NewRedisClient(url)
	if err != nil {
		return nil, err
	}
	return &Redis{rdb: rdb}, nil
}

// Client exposes the connection so the bus can share it.
func (r *Redis) Client() *redis.Client { return r.rdb }

func (r *Redis) done(op string, start time.Time, err error) error {
	metrics.CacheOperationDuration.WithLabelValues("redis", op).Observe(time.Since(start).Seconds())
	if err == nil || errors.Is(err, ErrMiss) {
		return err
	}
	metrics.CacheErrors.WithLabelValues("redis", op).Inc()
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return dependency.Unavailable("redis", fmt.Errorf("cannot %s: %w", op, err))
}

func checkTTL(ttl time.Duration) error {
	if ttl <= 0 {
		return fmt.Errorf("cache: ttl %s must be positive: every key expires", ttl)
	}
	return nil
}

// Get implements Cache.
func (r *Redis) Get(ctx context.Context, key string) ([]byte, error) {
	start := time.Now()
	b, err := r.rdb.Get(ctx, key).Bytes()
	if errors.Is(err, redis.Nil) || isWrongType(err) {
		err = ErrMiss
	}
	return b, r.done("get", start, err)
}

func isWrongType(err error) bool {
	var re redis.Error
	return errors.As(err, &re) && len(re.Error()) >= 9 && re.Error()[:9] == "WRONGTYPE"
}

// Set implements Cache.
func (r *Redis) Set(ctx context.Context, key string, val []byte, ttl time.Duration) error {
	if err := checkTTL(ttl); err != nil {
		return err
	}
	start := time.Now()
	return r.done("set", start, r.rdb.Set(ctx, key, val, ttl).Err())
}

// SetNX implements Cache.
func (r *Redis) SetNX(ctx context.Context, key string, val []byte, ttl time.Duration) (bool, error) {
	if err := checkTTL(ttl); err != nil {
		return false, err
	}
	start := time.Now()
	ok, err := r.rdb.SetNX(ctx, key, val, ttl).Result()
	return ok, r.done("setnx", start, err)
}

// Del implements Cache.
func (r *Redis) Del(ctx context.Context, keys ...string) error {
	if len(keys) == 0 {
		return nil
	}
	start := time.Now()
	return r.done("del", start, r.rdb.Del(ctx, keys...).Err())
}

// MGet implements Cache.
func (r *Redis) MGet(ctx context.Context, keys ...string) ([][]byte, error) {
	if len(keys) == 0 {
		return [][]byte{}, nil
	}
	start := time.Now()
	vals, err := r.rdb.MGet(ctx, keys...).Result()
	if err != nil {
		return nil, r.done("mget", start, err)
	}
	out := make([][]byte, len(keys))
	for i, v := range vals {
		if s, ok := v.(string); ok {
			out[i] = []byte(s)
		}
	}
	return out, r.done("mget", start, nil)
}

// ListPush implements Cache. The push, trim and expiry run as one MULTI so
// no reader sees an uncapped list or a list without a TTL.
func (r *Redis) ListPush(ctx context.Context, key string, val []byte, max int, ttl time.Duration) error {
	if err := checkTTL(ttl); err != nil {
		return err
	}
	if max <= 0 {
		return fmt.Errorf("cache: list cap %d must be positive", max)
	}
	start := time.Now()
	_, err := r.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.LPush(ctx, key, val)
		p.LTrim(ctx, key, 0, int64(max-1))
		p.PExpire(ctx, key, ttl)
		return nil
	})
	return r.done("list_push", start, err)
}

// ListRange implements Cache.
func (r *Redis) ListRange(ctx context.Context, key string, n int) ([][]byte, error) {
	if n <= 0 {
		return [][]byte{}, nil
	}
	start := time.Now()
	vals, err := r.rdb.LRange(ctx, key, 0, int64(n-1)).Result()
	if isWrongType(err) {
		return [][]byte{}, r.done("list_range", start, nil)
	}
	if err != nil {
		return nil, r.done("list_range", start, err)
	}
	out := make([][]byte, len(vals))
	for i, v := range vals {
		out[i] = []byte(v)
	}
	return out, r.done("list_range", start, nil)
}

// Incr implements Cache. PEXPIRE … NX sets the TTL only on the counter's
// first increment, so a rate-limit window is never pushed back.
func (r *Redis) Incr(ctx context.Context, key string, ttl time.Duration) (int64, error) {
	if err := checkTTL(ttl); err != nil {
		return 0, err
	}
	start := time.Now()
	var incr *redis.IntCmd
	_, err := r.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		incr = p.Incr(ctx, key)
		p.Do(ctx, "pexpire", key, ttl.Milliseconds(), "nx")
		return nil
	})
	if err != nil {
		return 0, r.done("incr", start, err)
	}
	return incr.Val(), r.done("incr", start, nil)
}

// Ping implements Cache.
func (r *Redis) Ping(ctx context.Context) error {
	start := time.Now()
	return r.done("ping", start, r.rdb.Ping(ctx).Err())
}

// Close implements Cache.
func (r *Redis) Close() error { return r.rdb.Close() }
