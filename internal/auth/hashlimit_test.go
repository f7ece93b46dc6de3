package auth_test

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/paymon/paymon/internal/auth"
	"github.com/paymon/paymon/internal/store/sqlite"
)

// TestPasswordHashesAreBounded counts the argon2id computations running at
// once while many wrong passwords arrive together: never more than the
// limiter's slots, whatever the number of callers.
func TestPasswordHashesAreBounded(t *testing.T) {
	var running, peak atomic.Int64
	restore := auth.WrapIDKey(func(real auth.IDKeyFunc) auth.IDKeyFunc {
		return func(pw, salt []byte, time_, memory uint32, threads uint8, keyLen uint32) []byte {
			n := running.Add(1)
			for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
			}
			defer running.Add(-1)
			// Held a little longer than the hash, so that without a bound
			// the callers certainly overlap.
			time.Sleep(20 * time.Millisecond)
			return real(pw, salt, time_, memory, threads, keyLen)
		}
	})
	t.Cleanup(restore)

	s := newTestService(t, auth.NewHashLimiter(2, time.Minute))
	ctx := context.Background()
	if _, err := s.CreateUser(ctx, "ann@example.test", "right-password", auth.RoleViewer); err != nil {
		t.Fatal(err)
	}
	peak.Store(0)
	const callers = 12
	var wg sync.WaitGroup
	errs := make([]error, callers)
	for i := range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			email := "ann@example.test"
			if i%2 == 1 {
				email = "nobody@example.test" // the dummy hash counts too
			}
			_, errs[i] = s.Login(ctx, email, "wrong-password")
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if !errors.Is(err, auth.ErrInvalidCredentials) {
			t.Fatalf("caller %d: %v, want auth.ErrInvalidCredentials", i, err)
		}
	}
	if p := peak.Load(); p > 2 {
		t.Fatalf("%d password hashes ran at once; the limit is 2", p)
	}
}

// TestSaturatedHashLimiterSaysBusy: when every slot stays taken for the
// whole wait, a login gives up with auth.ErrBusy instead of queueing forever.
func TestSaturatedHashLimiterSaysBusy(t *testing.T) {
	l := auth.NewHashLimiter(1, 50*time.Millisecond)
	s := newTestService(t, l)
	ctx := context.Background()
	if _, err := s.CreateUser(ctx, "ann@example.test", "right-password", auth.RoleViewer); err != nil {
		t.Fatal(err)
	}
	if err := l.Acquire(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Login(ctx, "ann@example.test", "right-password"); !errors.Is(err, auth.ErrBusy) {
		t.Fatalf("login with every slot taken: %v, want auth.ErrBusy", err)
	}
	l.Release()
	if _, err := s.Login(ctx, "ann@example.test", "right-password"); err != nil {
		t.Fatalf("login once the slot is free: %v", err)
	}
}

func newTestService(t *testing.T, hashes *auth.HashLimiter) *auth.Service {
	t.Helper()
	db, err := sqlite.Open(filepath.Join(t.TempDir(), "a.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	s, err := auth.NewService(context.Background(), db, secret, auth.Options{Hashes: hashes})
	if err != nil {
		t.Fatal(err)
	}
	return s
}
