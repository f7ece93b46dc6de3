// Package cachetest is the conformance suite every cache.Cache adapter
// passes (in-process and Redis), and a small one for pub/sub buses.
package cachetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/paymon/paymon/internal/cache"
)

// RunCacheTests runs the suite; newCache must return an empty cache that
// the test may use alone.
func RunCacheTests(t *testing.T, newCache func(t *testing.T) cache.Cache) {
	tests := []struct {
		name string
		fn   func(t *testing.T, c cache.Cache)
	}{
		{"GetSetMiss", testGetSet},
		{"TTL", testTTL},
		{"SetNX", testSetNX},
		{"Del", testDel},
		{"MGet", testMGet},
		{"List", testList},
		{"ListTTL", testListTTL},
		{"Incr", testIncr},
		{"Ping", func(t *testing.T, c cache.Cache) {
			if err := c.Ping(context.Background()); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.fn(t, newCache(t))
		})
	}
}

const long = time.Hour

// short is long enough for a loaded machine to read the key back before it
// expires, and short enough to keep the suite quick.
const short = 300 * time.Millisecond

// eventually polls cond until it holds or 5 s pass; expiry is checked this
// way so the suite never depends on exact timings.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s did not happen within 5s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func testGetSet(t *testing.T, c cache.Cache) {
	ctx := context.Background()
	if _, err := c.Get(ctx, "k"); !errors.Is(err, cache.ErrMiss) {
		t.Fatalf("Get(absent): err = %v, want ErrMiss", err)
	}
	val := []byte("v\x00\xff binary")
	if err := c.Set(ctx, "k", val, long); err != nil {
		t.Fatal(err)
	}
	got, err := c.Get(ctx, "k")
	if err != nil || !bytes.Equal(got, val) {
		t.Fatalf("Get = %q, %v; want %q", got, err, val)
	}
	got[0] = 'X' // the caller's copy is its own
	if err := c.Set(ctx, "k", []byte("v2"), long); err != nil {
		t.Fatal(err)
	}
	if got, _ := c.Get(ctx, "k"); string(got) != "v2" {
		t.Fatalf("Get after overwrite = %q", got)
	}
	if err := c.Set(ctx, "empty", []byte{}, long); err != nil {
		t.Fatal(err)
	}
	if got, err := c.Get(ctx, "empty"); err != nil || len(got) != 0 {
		t.Fatalf("Get(empty value) = %q, %v; want a hit", got, err)
	}
}

func testTTL(t *testing.T, c cache.Cache) {
	ctx := context.Background()
	if err := c.Set(ctx, "brief", []byte("x"), short); err != nil {
		t.Fatal(err)
	}
	if err := c.Set(ctx, "lasting", []byte("y"), long); err != nil {
		t.Fatal(err)
	}
	eventually(t, "expiry of a short-lived key", func() bool {
		_, err := c.Get(ctx, "brief")
		return errors.Is(err, cache.ErrMiss)
	})
	if got, err := c.Get(ctx, "lasting"); err != nil || string(got) != "y" {
		t.Fatalf("a long-lived key went with it: %q, %v", got, err)
	}
}

func testSetNX(t *testing.T, c cache.Cache) {
	ctx := context.Background()
	ok, err := c.SetNX(ctx, "lock", []byte("a"), long)
	if err != nil || !ok {
		t.Fatalf("first SetNX = %v, %v; want true", ok, err)
	}
	ok, err = c.SetNX(ctx, "lock", []byte("b"), long)
	if err != nil || ok {
		t.Fatalf("second SetNX = %v, %v; want false", ok, err)
	}
	if got, _ := c.Get(ctx, "lock"); string(got) != "a" {
		t.Fatalf("a refused SetNX changed the value to %q", got)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	won := 0
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ok, err := c.SetNX(ctx, "race", []byte(fmt.Sprint(i)), long)
			if err != nil {
				t.Error(err)
			}
			if ok {
				mu.Lock()
				won++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if won != 1 {
		t.Fatalf("%d concurrent SetNX won, want 1", won)
	}
	if ok, _ := c.SetNX(ctx, "brief", []byte("1"), short); !ok {
		t.Fatal("SetNX of a new key failed")
	}
	eventually(t, "SetNX succeeding again after expiry", func() bool {
		ok, err := c.SetNX(ctx, "brief", []byte("2"), long)
		return err == nil && ok
	})
}

func testDel(t *testing.T, c cache.Cache) {
	ctx := context.Background()
	for _, k := range []string{"a", "b", "c"} {
		if err := c.Set(ctx, k, []byte(k), long); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.ListPush(ctx, "l", []byte("x"), 10, long); err != nil {
		t.Fatal(err)
	}
	if err := c.Del(ctx, "a", "c", "l", "absent"); err != nil {
		t.Fatal(err)
	}
	for k, present := range map[string]bool{"a": false, "b": true, "c": false} {
		_, err := c.Get(ctx, k)
		if present != (err == nil) {
			t.Fatalf("after Del, Get(%s) err = %v", k, err)
		}
	}
	if l, _ := c.ListRange(ctx, "l", 10); len(l) != 0 {
		t.Fatalf("deleted list still has %q", l)
	}
	if err := c.Del(ctx); err != nil {
		t.Fatalf("Del with no keys: %v", err)
	}
}

func testMGet(t *testing.T, c cache.Cache) {
	ctx := context.Background()
	if err := c.Set(ctx, "a", []byte("1"), long); err != nil {
		t.Fatal(err)
	}
	if err := c.Set(ctx, "c", []byte("3"), long); err != nil {
		t.Fatal(err)
	}
	got, err := c.MGet(ctx, "a", "b", "c", "a")
	if err != nil {
		t.Fatal(err)
	}
	want := [][]byte{[]byte("1"), nil, []byte("3"), []byte("1")}
	if len(got) != len(want) {
		t.Fatalf("MGet returned %d entries, want %d", len(got), len(want))
	}
	for i := range want {
		if (got[i] == nil) != (want[i] == nil) || !bytes.Equal(got[i], want[i]) {
			t.Fatalf("MGet[%d] = %q, want %q (all %q)", i, got[i], want[i], got)
		}
	}
	if got, err := c.MGet(ctx); err != nil || len(got) != 0 {
		t.Fatalf("MGet() = %q, %v", got, err)
	}
}

func strs(b [][]byte) []string {
	out := make([]string, len(b))
	for i, v := range b {
		out[i] = string(v)
	}
	return out
}

func testList(t *testing.T, c cache.Cache) {
	ctx := context.Background()
	if l, err := c.ListRange(ctx, "recent", 10); err != nil || len(l) != 0 {
		t.Fatalf("ListRange(absent) = %q, %v", l, err)
	}
	for i := 1; i <= 5; i++ {
		if err := c.ListPush(ctx, "recent", []byte(fmt.Sprint(i)), 3, long); err != nil {
			t.Fatal(err)
		}
	}
	l, err := c.ListRange(ctx, "recent", 10)
	if err != nil || fmt.Sprint(strs(l)) != "[5 4 3]" {
		t.Fatalf("capped list = %q, %v; want newest first [5 4 3]", strs(l), err)
	}
	l, _ = c.ListRange(ctx, "recent", 2)
	if fmt.Sprint(strs(l)) != "[5 4]" {
		t.Fatalf("ListRange(2) = %q", strs(l))
	}
	if l, _ := c.ListRange(ctx, "recent", 0); len(l) != 0 {
		t.Fatalf("ListRange(0) = %q", strs(l))
	}
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := c.ListPush(ctx, "busy", []byte(fmt.Sprint(i)), 20, long); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if l, _ := c.ListRange(ctx, "busy", 100); len(l) != 20 {
		t.Fatalf("concurrent pushes left %d entries, want the cap of 20", len(l))
	}
}

func testListTTL(t *testing.T, c cache.Cache) {
	ctx := context.Background()
	if err := c.ListPush(ctx, "l", []byte("a"), 10, short); err != nil {
		t.Fatal(err)
	}
	eventually(t, "expiry of a list", func() bool {
		l, err := c.ListRange(ctx, "l", 10)
		return err == nil && len(l) == 0
	})
	// Each push renews the TTL of the whole list.
	if err := c.ListPush(ctx, "m", []byte("a"), 10, short); err != nil {
		t.Fatal(err)
	}
	if err := c.ListPush(ctx, "m", []byte("b"), 10, long); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * short)
	if l, _ := c.ListRange(ctx, "m", 10); fmt.Sprint(strs(l)) != "[b a]" {
		t.Fatalf("a push did not renew the list's TTL: %q", strs(l))
	}
}

func testIncr(t *testing.T, c cache.Cache) {
	ctx := context.Background()
	for want := int64(1); want <= 3; want++ {
		n, err := c.Incr(ctx, "hits", long)
		if err != nil || n != want {
			t.Fatalf("Incr = %d, %v; want %d", n, err, want)
		}
	}
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := c.Incr(ctx, "hits", long); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if n, _ := c.Incr(ctx, "hits", long); n != 24 {
		t.Fatalf("after concurrent Incr: %d, want 24", n)
	}
	// The TTL is set when the counter is created and not pushed back by
	// later increments: a rate-limit window ends on time.
	if n, _ := c.Incr(ctx, "window", short); n != 1 {
		t.Fatalf("new counter = %d", n)
	}
	eventually(t, "a counter's window ending", func() bool {
		_, _ = c.Incr(ctx, "probe", long) // keep the store busy
		n, err := c.Incr(ctx, "window", short)
		return err == nil && n == 1
	})
}

// Bus is the pub/sub surface the realtime package uses.
type Bus interface {
	Publish(ctx context.Context, channel string, msg []byte) error
	Subscribe(ctx context.Context, channel string, handler func(msg []byte)) (unsubscribe func(), err error)
}

// RunBusTests checks that newBus's buses deliver every message published
// after Subscribe returned, on the right channel, to every subscriber (two
// buses from one newBus call share a backend, as two instances would).
func RunBusTests(t *testing.T, newBus func(t *testing.T) (Bus, Bus)) {
	t.Run("FanOut", func(t *testing.T) {
		a, b := newBus(t)
		ctx := context.Background()
		gotA, gotB, gotOther := collector(), collector(), collector()
		unsubA, err := a.Subscribe(ctx, "payments", gotA.add)
		if err != nil {
			t.Fatal(err)
		}
		defer unsubA()
		unsubB, err := b.Subscribe(ctx, "payments", gotB.add)
		if err != nil {
			t.Fatal(err)
		}
		defer unsubB()
		unsubO, err := b.Subscribe(ctx, "logs", gotOther.add)
		if err != nil {
			t.Fatal(err)
		}
		defer unsubO()
		for i := range 5 {
			if err := a.Publish(ctx, "payments", []byte(fmt.Sprint(i))); err != nil {
				t.Fatal(err)
			}
		}
		want := "[0 1 2 3 4]"
		gotA.wait(t, want)
		gotB.wait(t, want)
		if err := b.Publish(ctx, "logs", []byte("L")); err != nil {
			t.Fatal(err)
		}
		gotOther.wait(t, "[L]")
		if s := gotA.String(); s != want {
			t.Fatalf("a message of another channel reached a payments subscriber: %s", s)
		}
	})
	t.Run("Unsubscribe", func(t *testing.T) {
		a, b := newBus(t)
		ctx := context.Background()
		stopped, live := collector(), collector()
		unsub, err := b.Subscribe(ctx, "c", stopped.add)
		if err != nil {
			t.Fatal(err)
		}
		unsubLive, err := b.Subscribe(ctx, "c", live.add)
		if err != nil {
			t.Fatal(err)
		}
		defer unsubLive()
		if err := a.Publish(ctx, "c", []byte("1")); err != nil {
			t.Fatal(err)
		}
		stopped.wait(t, "[1]")
		live.wait(t, "[1]")
		unsub()
		unsub() // twice is harmless
		if err := a.Publish(ctx, "c", []byte("2")); err != nil {
			t.Fatal(err)
		}
		live.wait(t, "[1 2]")
		if s := stopped.String(); s != "[1]" {
			t.Fatalf("an unsubscribed handler still received: %s", s)
		}
	})
}

type msgs struct {
	mu  sync.Mutex
	got []string
}

func collector() *msgs { return &msgs{} }

func (m *msgs) add(b []byte) {
	m.mu.Lock()
	m.got = append(m.got, string(b))
	m.mu.Unlock()
}

func (m *msgs) String() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return fmt.Sprint(m.got)
}

func (m *msgs) wait(t *testing.T, want string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for m.String() != want {
		if time.Now().After(deadline) {
			t.Fatalf("received %s, want %s", m.String(), want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
