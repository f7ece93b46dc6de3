package httpapi

import (
	"testing"
	"time"
)

// TestLoginThrottleDelays: free failures cost nothing, then each failure
// doubles the wait, which never passes Max (the real user's worst case).
func TestLoginThrottleDelays(t *testing.T) {
	th := LoginThrottle{}.withDefaults()
	for _, c := range []struct {
		n    int64
		want time.Duration
	}{
		{0, 0}, {5, 0}, {6, 250 * time.Millisecond}, {7, 500 * time.Millisecond}, {8, time.Second},
		{10, 4 * time.Second}, {11, 5 * time.Second}, {1000, 5 * time.Second},
	} {
		if got := th.delay(c.n, th.AccountFree); got != c.want {
			t.Errorf("delay after %d failures = %v, want %v", c.n, got, c.want)
		}
	}
}

// TestLoginGateBoundsLoginsPerAddress: a third login from one address
// while two are under way is refused; another address is not affected; a
// finished login frees its place.
func TestLoginGateBoundsLoginsPerAddress(t *testing.T) {
	var g loginGate
	r1, ok1 := g.enter("192.0.2.1", 2)
	_, ok2 := g.enter("192.0.2.1", 2)
	if !ok1 || !ok2 {
		t.Fatal("the first two logins of an address were refused")
	}
	if _, ok := g.enter("192.0.2.1", 2); ok {
		t.Fatal("a third concurrent login from one address was let in")
	}
	if _, ok := g.enter("192.0.2.2", 2); !ok {
		t.Fatal("another address was refused")
	}
	r1()
	if _, ok := g.enter("192.0.2.1", 2); !ok {
		t.Fatal("a finished login did not free its place")
	}
}
