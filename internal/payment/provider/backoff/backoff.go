// Package backoff retries provider calls whose failure may be temporary,
// with exponential backoff and full jitter, a bounded number of times.
// Callers pass the same idempotency key on every attempt, so a retry of a
// call that did reach the provider never moves money twice.
package backoff

import (
	"context"
	"math/rand/v2"
	"time"
)

// Policy bounds the retries. Zero values take the defaults in brackets.
type Policy struct {
	Attempts int           // total tries, the first included [4]
	Base     time.Duration // ceiling of the first wait [200ms]
	Max      time.Duration // ceiling of any wait [5s]
	// Sleep waits d or until ctx ends; tests replace it to run instantly.
	Sleep func(ctx context.Context, d time.Duration) error
}

func (p Policy) withDefaults() Policy {
	if p.Attempts <= 0 {
		p.Attempts = 4
	}
	if p.Base <= 0 {
		p.Base = 200 * time.Millisecond
	}
	if p.Max <= 0 {
		p.Max = 5 * time.Second
	}
	if p.Sleep == nil {
		p.Sleep = sleep
	}
	return p
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Delay is the wait before retry number n (1 for the first retry): a
// uniformly random duration in [0, min(Max, Base·2^(n-1))]. Full jitter
// keeps many clients that failed together from retrying together.
func (p Policy) Delay(n int) time.Duration {
	p = p.withDefaults()
	ceil := p.Base
	for i := 1; i < n && ceil < p.Max; i++ {
		ceil *= 2
	}
	if ceil > p.Max {
		ceil = p.Max
	}
	return time.Duration(rand.Int64N(int64(ceil) + 1))
}

// Do calls fn until it succeeds, returns an error retriable does not
// accept, the attempts run out, or ctx ends. It returns fn's last error
// (not ctx's), so callers keep the provider's classification.
func Do(ctx context.Context, p Policy, retriable func(error) bool, fn func(ctx context.Context, attempt int) error) error {
	p = p.withDefaults()
	var err error
	for attempt := 1; ; attempt++ {
		err = fn(ctx, attempt)
		if err == nil || !retriable(err) || attempt >= p.Attempts || ctx.Err() != nil {
			return err
		}
		if p.Sleep(ctx, p.Delay(attempt)) != nil {
			return err
		}
	}
}
