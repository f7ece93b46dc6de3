package httpapi

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/paymon/paymon/internal/auth"
)

// LoginThrottle tunes how password logins are slowed after failures
// (docs/operations.md, "Login throttling"). Zero fields take the defaults.
// Nothing here ever refuses a login outright: a delay grows with the
// failures, up to Max, and the right password is then checked like any
// other, so an attacker slows the real user down but cannot lock them out.
type LoginThrottle struct {
	// Window is how long failures are remembered (15 min).
	Window time.Duration
	// AccountFree and AddressFree are the failures an account, and an
	// address, may have in a window before attempts are delayed (5, 30).
	AccountFree, AddressFree int64
	// Base is the first delay (250 ms); each further failure doubles it,
	// up to Max (5 s).
	Base, Max time.Duration
	// InFlightPerAddress is how many password logins one address may have
	// under way on this instance at once (2): waiting out the delay in
	// parallel would otherwise undo it. More get 429.
	InFlightPerAddress int
}

func (t LoginThrottle) withDefaults() LoginThrottle {
	if t.Window <= 0 {
		t.Window = 15 * time.Minute
	}
	if t.AccountFree <= 0 {
		t.AccountFree = 5
	}
	if t.AddressFree <= 0 {
		t.AddressFree = 30
	}
	if t.Base <= 0 {
		t.Base = 250 * time.Millisecond
	}
	if t.Max <= 0 {
		t.Max = 5 * time.Second
	}
	if t.InFlightPerAddress <= 0 {
		t.InFlightPerAddress = 2
	}
	return t
}

// delay is the wait before checking a password after n failures when free
// are allowed without one.
func (t LoginThrottle) delay(n, free int64) time.Duration {
	if n <= free {
		return 0
	}
	d := t.Base
	for i := free + 1; i < n && d < t.Max; i++ {
		d *= 2
	}
	return min(d, t.Max)
}

// loginGate counts the password logins in flight per address.
type loginGate struct {
	mu       sync.Mutex
	inFlight map[string]int
}

func (g *loginGate) enter(addr string, limit int) (release func(), ok bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.inFlight == nil {
		g.inFlight = map[string]int{}
	}
	if g.inFlight[addr] >= limit {
		return nil, false
	}
	g.inFlight[addr]++
	return func() {
		g.mu.Lock()
		defer g.mu.Unlock()
		if g.inFlight[addr]--; g.inFlight[addr] <= 0 {
			delete(g.inFlight, addr)
		}
	}, true
}

var (
	errLoginsInFlight = &apiError{Status: http.StatusTooManyRequests, Code: "rate_limited", Message: "another login from your address is under way; wait for its answer", RetryAfter: 1}
	errLoginBusy      = &apiError{Status: http.StatusServiceUnavailable, Code: "unavailable", Message: "too many password checks at once; retry shortly", RetryAfter: 1}
	// errLoginLeft answers a client that went away while waiting: it
	// will not read it, but a 500 would be logged as a server fault.
	errLoginLeft = &apiError{Status: http.StatusServiceUnavailable, Code: "unavailable", Message: "the request ended before the password was checked", RetryAfter: 1}
)

// login is the password grant behind the throttle: failures per account
// and per address, kept in the shared cache (so every instance counts
// them), delay the next attempt; a success clears the account's count.
func (s *server) login(r *http.Request, email, password string) (auth.TokenPair, error) {
	t := s.LoginThrottle.withDefaults()
	addr := clientAddress(r)
	release, ok := s.logins.enter(addr, t.InFlightPerAddress)
	if !ok {
		return auth.TokenPair{}, errLoginsInFlight
	}
	defer release()
	ctx := r.Context()
	bucket := strconv.FormatInt(time.Now().Unix()/int64(t.Window.Seconds()), 10)
	sum := sha256.Sum256([]byte(auth.NormalizeEmail(email)))
	accountKey := "loginfail:account:" + hex.EncodeToString(sum[:12]) + ":" + bucket
	addressKey := "loginfail:address:" + addr + ":" + bucket
	if s.Limiter != nil {
		vals, err := s.Limiter.MGet(ctx, accountKey, addressKey)
		if err != nil {
			// The hash limit still bounds memory; only the slowing is lost.
			s.log.Warn("login throttle unavailable; checking without delay", "err", err)
		} else {
			d := max(t.delay(counter(vals[0]), t.AccountFree), t.delay(counter(vals[1]), t.AddressFree))
			if err := sleep(ctx, d); err != nil {
				return auth.TokenPair{}, errLoginLeft
			}
		}
	}
	pair, err := s.Auth.Login(ctx, email, password)
	switch {
	case errors.Is(err, auth.ErrBusy):
		return pair, errLoginBusy
	case errors.Is(err, context.Canceled):
		return pair, errLoginLeft
	case errors.Is(err, auth.ErrInvalidCredentials) && s.Limiter != nil:
		// Counted even if the client left meanwhile: the guess was made.
		cctx := context.WithoutCancel(ctx)
		for _, k := range []string{accountKey, addressKey} {
			if _, err := s.Limiter.Incr(cctx, k, t.Window); err != nil {
				s.log.Warn("cannot count a failed login", "err", err)
			}
		}
	case err == nil && s.Limiter != nil:
		if err := s.Limiter.Del(context.WithoutCancel(ctx), accountKey); err != nil {
			s.log.Warn("cannot clear the failed logins of an account", "err", err)
		}
	}
	return pair, err
}

func counter(b []byte) int64 {
	n, _ := strconv.ParseInt(string(b), 10, 64)
	return n
}

func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
