package backoff

import (
	"context"
	"errors"
	"testing"
	"time"
)

var errTemp = errors.New("temporary")
var errFinal = errors.New("final")

func isTemp(err error) bool { return errors.Is(err, errTemp) }

func noSleep(waits *[]time.Duration) func(context.Context, time.Duration) error {
	return func(ctx context.Context, d time.Duration) error { *waits = append(*waits, d); return ctx.Err() }
}

func TestDoRetriesTemporaryThenSucceeds(t *testing.T) {
	var waits []time.Duration
	calls := 0
	err := Do(context.Background(), Policy{Attempts: 5, Sleep: noSleep(&waits)}, isTemp, func(context.Context, int) error {
		calls++
		if calls < 3 {
			return errTemp
		}
		return nil
	})
	if err != nil || calls != 3 || len(waits) != 2 {
		t.Fatalf("err=%v calls=%d waits=%d, want nil 3 2", err, calls, len(waits))
	}
}

func TestDoStopsOnFinalError(t *testing.T) {
	var waits []time.Duration
	calls := 0
	err := Do(context.Background(), Policy{Attempts: 5, Sleep: noSleep(&waits)}, isTemp, func(context.Context, int) error {
		calls++
		return errFinal
	})
	if !errors.Is(err, errFinal) || calls != 1 {
		t.Fatalf("err=%v calls=%d, want final after 1 call", err, calls)
	}
}

func TestDoIsBounded(t *testing.T) {
	var waits []time.Duration
	calls := 0
	err := Do(context.Background(), Policy{Attempts: 4, Sleep: noSleep(&waits)}, isTemp, func(context.Context, int) error {
		calls++
		return errTemp
	})
	if !errors.Is(err, errTemp) || calls != 4 || len(waits) != 3 {
		t.Fatalf("err=%v calls=%d waits=%d, want temp 4 3", err, calls, len(waits))
	}
}

func TestDoStopsWhenContextEnds(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	calls := 0
	err := Do(ctx, Policy{Attempts: 10, Base: time.Hour, Max: time.Hour}, isTemp, func(context.Context, int) error {
		calls++
		cancel()
		return errTemp
	})
	if !errors.Is(err, errTemp) || calls != 1 {
		t.Fatalf("err=%v calls=%d, want the provider's error after 1 call", err, calls)
	}
}

func TestDelayStaysUnderTheGrowingCeiling(t *testing.T) {
	p := Policy{Base: 100 * time.Millisecond, Max: time.Second}
	ceil := []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond, 800 * time.Millisecond, time.Second, time.Second}
	for n, c := range ceil {
		var maxSeen time.Duration
		for range 2000 {
			d := p.Delay(n + 1)
			if d < 0 || d > c {
				t.Fatalf("retry %d: delay %v outside [0, %v]", n+1, d, c)
			}
			maxSeen = max(maxSeen, d)
		}
		// Jitter must actually spread: with 2000 draws the largest is
		// almost surely in the top half of the range.
		if maxSeen < c/2 {
			t.Fatalf("retry %d: largest of 2000 delays %v, want jitter up to %v", n+1, maxSeen, c)
		}
	}
}
