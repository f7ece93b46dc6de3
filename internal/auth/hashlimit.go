package auth

import (
	"context"
	"runtime"
	"time"
)

// HashLimiter bounds how many argon2id computations run at once. Each
// takes argonMemory (19 MiB) for its whole run, so without a bound a
// burst of wrong passwords grows memory with the number of requests (120
// at once took a process to 2.3 GB); with one, memory stays near slots ×
// 19 MiB and the rest wait their turn, briefly.
type HashLimiter struct {
	slots chan struct{}
	wait  time.Duration
}

// DefaultHashWait is how long a password check waits for a slot before
// giving up with ErrBusy (the client gets 503 and Retry-After).
const DefaultHashWait = 2 * time.Second

// NewHashLimiter allows n computations at once (n <= 0: one per
// available core), each waiting up to wait (<= 0: DefaultHashWait) for
// its turn.
func NewHashLimiter(n int, wait time.Duration) *HashLimiter {
	if n <= 0 {
		n = runtime.GOMAXPROCS(0)
	}
	if wait <= 0 {
		wait = DefaultHashWait
	}
	return &HashLimiter{slots: make(chan struct{}, n), wait: wait}
}

// Acquire takes a slot, waiting up to the limiter's wait; ErrBusy when
// none came free, ctx's error when the caller left. Release it after.
func (l *HashLimiter) Acquire(ctx context.Context) error {
	select {
	case l.slots <- struct{}{}:
		return nil
	default:
	}
	t := time.NewTimer(l.wait)
	defer t.Stop()
	select {
	case l.slots <- struct{}{}:
		return nil
	case <-t.C:
		return ErrBusy
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Release gives a slot back.
func (l *HashLimiter) Release() { <-l.slots }

// checkPassword is CheckPassword within the limiter.
func (s *Service) checkPassword(ctx context.Context, hash, pw string) (bool, error) {
	if err := s.hashes.Acquire(ctx); err != nil {
		return false, err
	}
	defer s.hashes.Release()
	return CheckPassword(hash, pw), nil
}

// hashPassword is HashPassword within the limiter.
func (s *Service) hashPassword(ctx context.Context, pw string) (string, error) {
	if err := s.hashes.Acquire(ctx); err != nil {
		return "", err
	}
	defer s.hashes.Release()
	return HashPassword(pw)
}
