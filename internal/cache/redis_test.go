package cache_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/paymon/paymon/internal/cache"
	"github.com/paymon/paymon/internal/cache/cachetest"
	"github.com/paymon/paymon/internal/dependency"
	"github.com/paymon/paymon/internal/testenv"
)

func newRedis(t *testing.T, url string) *cache.Redis {
	t.Helper()
	c, err := cache.NewRedis(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestRedisConformance(t *testing.T) {
	srv := testenv.Redis(t)
	db := 0
	cachetest.RunCacheTests(t, func(t *testing.T) cache.Cache {
		// One logical database per subtest keeps them apart without a
		// server each (Redis has 16).
		db++
		return newRedis(t, fmt.Sprintf("%s/%d", srv.URL(), db%16))
	})
}

func TestRedisEveryKeyHasTTL(t *testing.T) {
	srv := testenv.Redis(t)
	c := newRedis(t, srv.URL())
	ctx := context.Background()
	_ = c.Set(ctx, "a", []byte("1"), time.Hour)
	_, _ = c.SetNX(ctx, "b", []byte("1"), time.Hour)
	_ = c.ListPush(ctx, "c", []byte("1"), 5, time.Hour)
	_, _ = c.Incr(ctx, "d", time.Hour)
	_, _ = c.Incr(ctx, "d", time.Hour)
	for _, k := range []string{"a", "b", "c", "d"} {
		ttl, err := c.Client().PTTL(ctx, k).Result()
		if err != nil || ttl <= 0 {
			t.Errorf("key %s has TTL %v (%v); every key must expire", k, ttl, err)
		}
	}
	if err := c.Set(ctx, "e", []byte("1"), 0); err == nil {
		t.Error("Set without a TTL was accepted")
	}
}

func TestRedisBusConformance(t *testing.T) {
	srv := testenv.Redis(t)
	cachetest.RunBusTests(t, func(t *testing.T) (cachetest.Bus, cachetest.Bus) {
		a, b := newRedis(t, srv.URL()), newRedis(t, srv.URL())
		return cache.NewRedisBus(a.Client()), cache.NewRedisBus(b.Client())
	})
}

// TestRedisDownAndBack checks that a stopped Redis gives dependency errors
// (so callers degrade) and that the cache and a bus subscription work
// again once it is back, without new clients.
func TestRedisDownAndBack(t *testing.T) {
	srv := testenv.Redis(t)
	c := newRedis(t, srv.URL())
	pubC := newRedis(t, srv.URL())
	bus, pub := cache.NewRedisBus(c.Client()), cache.NewRedisBus(pubC.Client())
	ctx := context.Background()

	got := make(chan string, 100)
	unsub, err := bus.Subscribe(ctx, "events", func(m []byte) { got <- string(m) })
	if err != nil {
		t.Fatal(err)
	}
	defer unsub()
	if err := pub.Publish(ctx, "events", []byte("before")); err != nil {
		t.Fatal(err)
	}
	if m := <-got; m != "before" {
		t.Fatalf("got %q", m)
	}

	srv.Stop(t)
	if err := c.Set(ctx, "k", []byte("v"), time.Minute); !errors.Is(err, dependency.ErrUnavailable) {
		t.Fatalf("Set with Redis down: err = %v, want dependency.ErrUnavailable", err)
	}
	if _, err := c.Get(ctx, "k"); !errors.Is(err, dependency.ErrUnavailable) {
		t.Fatalf("Get with Redis down: err = %v, want dependency.ErrUnavailable", err)
	}
	if err := pub.Publish(ctx, "events", []byte("lost")); !errors.Is(err, dependency.ErrUnavailable) {
		t.Fatalf("Publish with Redis down: err = %v", err)
	}
	if err := c.Ping(ctx); err == nil {
		t.Fatal("Ping succeeded with Redis down")
	}

	srv.Start(t)
	if err := c.Set(ctx, "k", []byte("v"), time.Minute); err != nil {
		t.Fatalf("Set after Redis came back: %v", err)
	}
	// The subscription comes back by itself; publish until it hears.
	deadline := time.Now().Add(20 * time.Second)
	for i := 0; ; i++ {
		if time.Now().After(deadline) {
			t.Fatal("the subscription did not recover within 20s of Redis restarting")
		}
		_ = pub.Publish(ctx, "events", []byte(fmt.Sprint("after-", i)))
		select {
		case m := <-got:
			if m == "lost" {
				t.Fatal("a message published while Redis was down was delivered")
			}
			t.Logf("subscription recovered: received %q", m)
			return
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// TestRedisBusSubscribeWhileDown: an instance started while Redis is down
// gets its subscription once Redis is up.
func TestRedisBusSubscribeWhileDown(t *testing.T) {
	srv := testenv.Redis(t)
	c, pubC := newRedis(t, srv.URL()), newRedis(t, srv.URL())
	bus, pub := cache.NewRedisBus(c.Client()), cache.NewRedisBus(pubC.Client())
	ctx := context.Background()
	srv.Stop(t)
	got := make(chan string, 100)
	unsub, err := bus.Subscribe(ctx, "events", func(m []byte) { got <- string(m) })
	if err != nil {
		t.Fatalf("Subscribe with Redis down: %v", err)
	}
	defer unsub()
	srv.Start(t)
	deadline := time.Now().Add(20 * time.Second)
	for i := 0; ; i++ {
		if time.Now().After(deadline) {
			t.Fatal("the deferred subscription was not made within 20s of Redis starting")
		}
		_ = pub.Publish(ctx, "events", []byte(fmt.Sprint(i)))
		select {
		case <-got:
			return
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// TestRedisBusLocalWhileDown: with Redis down, a message is lost for the
// other instances but still reaches this instance's own subscribers (the
// live feed of the instance that made the change keeps working), and not
// once it is unsubscribed.
func TestRedisBusLocalWhileDown(t *testing.T) {
	srv := testenv.Redis(t)
	c, otherC := newRedis(t, srv.URL()), newRedis(t, srv.URL())
	bus, other := cache.NewRedisBus(c.Client()), cache.NewRedisBus(otherC.Client())
	ctx := context.Background()
	mine, theirs := make(chan string, 10), make(chan string, 10)
	unsub, err := bus.Subscribe(ctx, "events", func(m []byte) { mine <- string(m) })
	if err != nil {
		t.Fatal(err)
	}
	unsubOther, err := other.Subscribe(ctx, "events", func(m []byte) { theirs <- string(m) })
	if err != nil {
		t.Fatal(err)
	}
	defer unsubOther()
	srv.Stop(t)
	if err := bus.Publish(ctx, "events", []byte("while down")); !errors.Is(err, dependency.ErrUnavailable) {
		t.Fatalf("Publish with Redis down: err = %v, want dependency.ErrUnavailable", err)
	}
	select {
	case m := <-mine:
		if m != "while down" {
			t.Fatalf("own subscriber got %q", m)
		}
	default:
		t.Fatal("own subscriber did not get the message published while Redis was down")
	}
	select {
	case m := <-theirs:
		t.Fatalf("another instance's subscriber got %q without Redis", m)
	default:
	}
	unsub()
	_ = bus.Publish(ctx, "events", []byte("after unsubscribe"))
	select {
	case m := <-mine:
		t.Fatalf("unsubscribed handler got %q", m)
	default:
	}
}
