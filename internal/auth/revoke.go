package auth

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// Revocation voids every credential of Subject (a user id or an API key
// id) obtained at or before At: access tokens, client-credentials tokens
// and the streams opened with them.
type Revocation struct {
	Subject string    `json:"subject"`
	At      time.Time `json:"at"`
}

// Bus carries revocations to every instance at once; realtime.Bus (in
// process) and cache.RedisBus satisfy it. Delivery may be lost (Redis
// pub/sub is at most once), so Listen also reads the store.
type Bus interface {
	Publish(ctx context.Context, channel string, msg []byte) error
	Subscribe(ctx context.Context, channel string, handler func(msg []byte)) (unsubscribe func(), err error)
}

// RevocationChannel is the bus channel revocations travel on.
const RevocationChannel = "paymon.auth.revocations"

// DefaultRevocationPoll is how often Listen re-reads the store: a
// revocation whose bus message was lost still takes effect within it.
const DefaultRevocationPoll = 2 * time.Second

// revocations is this instance's view of recent revocations, and the
// open streams to end when one arrives.
type revocations struct {
	mu       sync.RWMutex
	at       map[string]time.Time
	watchers map[string]map[*watcher]struct{}
}

type watcher struct {
	issued time.Time
	ch     chan struct{}
}

func (r *revocations) revoked(subject string, issued time.Time) bool {
	r.mu.RLock()
	at, ok := r.at[subject]
	r.mu.RUnlock()
	return ok && !issued.After(at)
}

func (r *revocations) apply(rv Revocation) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.at == nil {
		r.at = map[string]time.Time{}
	}
	if rv.At.After(r.at[rv.Subject]) {
		r.at[rv.Subject] = rv.At
	}
	ws := r.watchers[rv.Subject]
	for w := range ws {
		if !w.issued.After(rv.At) {
			close(w.ch)
			delete(ws, w)
		}
	}
	if len(ws) == 0 {
		delete(r.watchers, rv.Subject)
	}
}

// prune forgets revocations older than before: every token they could
// void has expired.
func (r *revocations) prune(before time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for s, at := range r.at {
		if at.Before(before) {
			delete(r.at, s)
		}
	}
}

// revocationWindow is how long a revocation matters to access tokens:
// their lifetime and the expiry leeway, with a margin for clock skew.
func (s *Service) revocationWindow() time.Duration { return s.opt.AccessTTL + 3*jwtLeeway }

// WatchRevocation returns a channel that is closed when p's credential is
// revoked (its API key revoked; its user disabled, deleted or given
// another role), on this instance or any other. Call stop when done.
func (s *Service) WatchRevocation(p Principal) (revoked <-chan struct{}, stop func()) {
	w := &watcher{issued: p.IssuedAt, ch: make(chan struct{})}
	r := &s.rev
	r.mu.Lock()
	if at, ok := r.at[p.ID]; ok && !p.IssuedAt.After(at) {
		r.mu.Unlock()
		close(w.ch) // revoked between the check and now
		return w.ch, func() {}
	}
	if r.watchers == nil {
		r.watchers = map[string]map[*watcher]struct{}{}
	}
	if r.watchers[p.ID] == nil {
		r.watchers[p.ID] = map[*watcher]struct{}{}
	}
	r.watchers[p.ID][w] = struct{}{}
	r.mu.Unlock()
	return w.ch, func() {
		r.mu.Lock()
		if ws := r.watchers[p.ID]; ws != nil {
			delete(ws, w)
			if len(ws) == 0 {
				delete(r.watchers, p.ID)
			}
		}
		r.mu.Unlock()
	}
}

// revoke records a revocation of subject in the store (so every instance
// finds it, now or after a restart), applies it here and tells the other
// instances over the bus.
func (s *Service) revoke(ctx context.Context, subject string) error {
	rv := Revocation{Subject: subject, At: s.opt.Now().UTC().Truncate(time.Millisecond)}
	if err := s.store.RevokeSubject(ctx, rv.Subject, rv.At); err != nil {
		return fmt.Errorf("cannot record the revocation of %s: %w", subject, err)
	}
	s.rev.apply(rv)
	s.busMu.RLock()
	bus := s.bus
	s.busMu.RUnlock()
	if bus != nil {
		msg, _ := json.Marshal(rv)
		// Best effort: the store has it, and every instance reads it there
		// within DefaultRevocationPoll.
		if err := bus.Publish(context.WithoutCancel(ctx), RevocationChannel, msg); err != nil {
			s.log().Warn("cannot publish a revocation; other instances pick it up from the store", "subject", subject, "err", err)
		}
	}
	return nil
}

// revokeAround records a revocation of subject before change and again
// after it. The first voids what exists even if change or the second
// write fails (and the caller's retry then finds the change undone); the
// second voids a token issued from the old state while change was being
// made (a client-credentials exchange that read the key just before it
// was marked revoked).
func (s *Service) revokeAround(ctx context.Context, subject string, change func() error) error {
	if err := s.revoke(ctx, subject); err != nil {
		return err
	}
	if err := change(); err != nil {
		return err
	}
	return s.revoke(ctx, subject)
}

// Listen keeps this instance's revocations current: from bus (may be
// nil) as they happen, and from the store every interval, which also
// covers a lost bus message. It loads the recent ones before returning.
// stop ends it and waits.
func (s *Service) Listen(ctx context.Context, bus Bus, interval time.Duration) (stop func(), err error) {
	if interval <= 0 {
		interval = DefaultRevocationPoll
	}
	if err := s.pollRevocations(ctx); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	unsub := func() {}
	if bus != nil {
		unsub, err = bus.Subscribe(ctx, RevocationChannel, func(msg []byte) {
			var rv Revocation
			if json.Unmarshal(msg, &rv) == nil && rv.Subject != "" {
				s.rev.apply(rv)
			}
		})
		if err != nil {
			cancel()
			return nil, fmt.Errorf("cannot subscribe to revocations: %w", err)
		}
		s.busMu.Lock()
		s.bus = bus
		s.busMu.Unlock()
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if err := s.pollRevocations(ctx); err != nil && ctx.Err() == nil {
					s.log().Warn("cannot read revocations", "err", err)
				}
			}
		}
	}()
	return func() {
		cancel()
		unsub()
		<-done
		s.busMu.Lock()
		s.bus = nil
		s.busMu.Unlock()
	}, nil
}

func (s *Service) pollRevocations(ctx context.Context) error {
	now := s.opt.Now()
	rs, err := s.store.RevocationsSince(ctx, now.Add(-s.revocationWindow()))
	if err != nil {
		return fmt.Errorf("cannot read revocations: %w", err)
	}
	for _, rv := range rs {
		s.rev.apply(rv)
	}
	s.rev.prune(now.Add(-s.revocationWindow()))
	return nil
}

func (s *Service) log() *slog.Logger {
	if s.opt.Logger != nil {
		return s.opt.Logger
	}
	return slog.Default()
}
