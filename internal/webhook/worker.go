package webhook

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/paymon/paymon/internal/id"
	"github.com/paymon/paymon/internal/metrics"
)

const (
	batch         = 256
	responseBytes = 1024
)

func newClient(opt Options) *http.Client {
	d := &net.Dialer{Timeout: opt.Timeout}
	if !opt.AllowPrivate {
		d.Control = guardControl
	}
	tr := &http.Transport{
		DialContext:           d.DialContext,
		TLSHandshakeTimeout:   opt.Timeout,
		ResponseHeaderTimeout: opt.Timeout,
		MaxIdleConnsPerHost:   16,
		IdleConnTimeout:       90 * time.Second,
		// A proxy would dial on the endpoint's behalf, past the guard.
		Proxy: nil,
	}
	return &http.Client{
		Transport: tr, Timeout: opt.Timeout,
		// A redirect is the receiver's answer, not a place to follow to.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// lease is how long an instance holds an attempt. A holder only starts
// the request while more than Timeout+leaseSlack of it is left (see
// attempt), so a live holder records its result before anyone else may
// take the attempt, even with a slow store; an attempt of a dead instance
// waits this long.
func (s *Service) lease() time.Duration { return 3*s.opt.Timeout + 30*time.Second }

const leaseSlack = 20 * time.Second

// Rounds woken by a payment change or a finished delivery are spaced
// minRound apart, so a busy instance does not read the queue after every
// change (with several instances on MongoDB that load is the store's);
// moreRound when the last round left due attempts waiting for a free
// worker.
const (
	minRound  = 100 * time.Millisecond
	moreRound = 5 * time.Millisecond
)

// Run dispatches and delivers until ctx ends; every instance runs it.
func (s *Service) Run(ctx context.Context) {
	t := time.NewTicker(s.opt.Poll)
	defer t.Stop()
	sweep := time.NewTicker(time.Minute)
	defer sweep.Stop()
	gauges := time.NewTicker(10 * time.Second)
	defer gauges.Stop()
	sem := make(chan struct{}, s.opt.Workers)
	var wg sync.WaitGroup
	defer wg.Wait()
	s.sweep(ctx)
	for {
		started := time.Now()
		busy, more := s.round(ctx, sem, &wg)
		if busy {
			// More may be waiting: go again without sleeping.
			select {
			case <-ctx.Done():
				return
			default:
				continue
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-s.wake:
			gap := minRound
			if more {
				gap = moreRound
			}
			if d := gap - time.Since(started); d > 0 {
				time.Sleep(d)
			}
		case <-t.C:
		case <-sweep.C:
			s.sweep(ctx)
		case <-gauges.C:
			s.gauges(ctx)
		}
	}
}

// round queues the deliveries of new events and starts the due ones; it
// reports whether a full batch of events was seen (busy: go again now)
// and whether due attempts were left for want of a free worker (more).
func (s *Service) round(ctx context.Context, sem chan struct{}, wg *sync.WaitGroup) (busy, more bool) {
	eps, err := s.store.ListEndpoints(ctx)
	if err != nil {
		s.log.Warn("webhooks: cannot list endpoints", "err", err)
		return false, false
	}
	byID := make(map[string]Endpoint, len(eps))
	for _, e := range eps {
		byID[e.ID] = e
	}
	s.mu.Lock()
	s.endpoints = byID
	s.mu.Unlock()
	n, err := s.dispatch(ctx, eps)
	if err != nil {
		s.log.Warn("webhooks: cannot queue deliveries", "err", err)
	}
	busy = n == batch
	free := s.opt.Workers - len(sem)
	if free <= 0 {
		return busy, true
	}
	now := s.now()
	due, err := s.store.LeaseAttempts(ctx, now, now.Add(s.lease()), free)
	if err != nil {
		s.log.Warn("webhooks: cannot lease deliveries", "err", err)
		return busy, false
	}
	for _, a := range due {
		sem <- struct{}{}
		wg.Add(1)
		go func(a Attempt) {
			defer wg.Done()
			defer func() { <-sem }()
			s.attempt(context.WithoutCancel(ctx), a, byID[a.EndpointID])
			s.Wake()
		}(a)
	}
	return busy, len(due) == free
}

// dispatch turns new events into queued attempts, one per subscribed,
// enabled endpoint.
func (s *Service) dispatch(ctx context.Context, eps []Endpoint) (int, error) {
	evs, err := s.store.UndispatchedEvents(ctx, batch)
	if err != nil || len(evs) == 0 {
		return 0, err
	}
	ids := make([]string, len(evs))
	var as []Attempt
	for i, ev := range evs {
		ids[i] = ev.ID
		for _, e := range eps {
			if e.Enabled && e.Wants(ev.Type) {
				as = append(as, Attempt{ID: AttemptID(ev.ID, e.ID), EventID: ev.ID, EndpointID: e.ID, State: StatePending, NextAt: ev.CreatedAt, FirstAt: ev.CreatedAt})
			}
		}
	}
	if err := s.store.Dispatch(ctx, ids, as); err != nil {
		return 0, err
	}
	if len(as) > 0 {
		s.remember(evs...)
	}
	return len(evs), nil
}

// attempt makes one delivery and records it.
func (s *Service) attempt(ctx context.Context, a Attempt, e Endpoint) {
	now := s.now()
	d := Delivery{ID: id.New("whd"), EndpointID: a.EndpointID, EventID: a.EventID, Attempt: a.Attempts + 1, At: now}
	ev, err := s.event(ctx, a.EventID)
	switch {
	case err != nil && !errors.Is(err, ErrNotFound):
		// Store trouble: leave the lease to run out and try again then.
		s.log.Warn("webhooks: cannot read event", "event_id", a.EventID, "err", err)
		return
	case err != nil:
		d.Result, d.Error = "refused", "event no longer stored"
		s.finish(ctx, a, d, Finish{State: StateFailed})
		return
	case e.ID == "":
		d.Result, d.Error = "refused", "endpoint deleted"
		s.finish(ctx, a, d, Finish{State: StateFailed})
		return
	case !e.Enabled:
		// Disabled while queued: keep it for when it is enabled again,
		// without counting an attempt.
		s.finish(ctx, a, d, Finish{State: StatePending, NextAt: now.Add(s.opt.RetryMax), Skip: true})
		return
	}
	if time.Until(a.LeaseUntil) < s.opt.Timeout+leaseSlack {
		// The lease was taken long ago (a slow store): leave the attempt
		// to its next lease rather than risk a second instance sending it
		// at the same time.
		s.log.Warn("webhooks: lease too short to deliver; left for the next lease", "event_id", a.EventID, "endpoint_id", a.EndpointID)
		return
	}
	d.EventType = ev.Type
	status, body, latency, err := s.post(ctx, e, ev, now)
	d.Status, d.Response, d.LatencyMS = status, body, latency.Milliseconds()
	metrics.WebhookDeliveryDuration.Observe(latency.Seconds())
	if err == nil && status >= 200 && status < 300 {
		d.Result = "delivered"
		metrics.WebhookDeliveries.WithLabelValues("delivered").Inc()
		s.finish(ctx, a, d, Finish{State: StateDelivered})
		return
	}
	d.Result = "failed"
	if err != nil {
		d.Error = err.Error()
	} else {
		d.Error = fmt.Sprintf("endpoint answered %d", status)
	}
	first := a.FirstAt
	if first.IsZero() {
		first = now
	}
	next := now.Add(s.backoff(a.Attempts + 1))
	if !next.Before(first.Add(s.opt.RetryFor)) {
		metrics.WebhookDeliveries.WithLabelValues("gave_up").Inc()
		s.finish(ctx, a, d, Finish{State: StateFailed})
		s.disable(ctx, e, fmt.Sprintf("deliveries failed for %s (last: %s)", s.opt.RetryFor, d.Error))
		return
	}
	metrics.WebhookDeliveries.WithLabelValues("failed").Inc()
	s.finish(ctx, a, d, Finish{State: StatePending, NextAt: next})
}

// event reads an event through the worker's cache.
func (s *Service) event(ctx context.Context, id string) (Event, error) {
	s.mu.Lock()
	ev, ok := s.events[id]
	s.mu.Unlock()
	if ok {
		return ev, nil
	}
	ev, err := s.store.GetEvent(ctx, id)
	if err != nil {
		return ev, err
	}
	s.remember(ev)
	return ev, nil
}

func (s *Service) remember(evs ...Event) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, ev := range evs {
		if len(s.events) >= eventCache || s.events == nil {
			s.events = make(map[string]Event, eventCache)
		}
		s.events[ev.ID] = ev
	}
}

func (s *Service) finish(ctx context.Context, a Attempt, d Delivery, f Finish) {
	if err := s.store.FinishAttempt(ctx, a, d, f); err != nil {
		// The lease runs out and the attempt is made again: at least once.
		s.log.Warn("webhooks: cannot record delivery", "event_id", a.EventID, "endpoint_id", a.EndpointID, "err", err)
	}
}

func (s *Service) disable(ctx context.Context, e Endpoint, reason string) {
	cur, err := s.store.GetEndpoint(ctx, e.ID)
	if err != nil {
		s.log.Warn("webhooks: cannot disable endpoint", "endpoint_id", e.ID, "err", err)
		return
	}
	if !cur.Enabled {
		return
	}
	cur.Enabled, cur.DisabledReason, cur.UpdatedAt = false, reason, s.now()
	if err := s.store.UpdateEndpoint(ctx, cur); err != nil {
		s.log.Warn("webhooks: cannot disable endpoint", "endpoint_id", e.ID, "err", err)
		return
	}
	s.log.Error("webhook endpoint disabled after failing deliveries", "endpoint_id", e.ID, "url", e.URL, "reason", reason)
}

// backoff is the delay after the n-th failed attempt: RetryBase doubled
// n-1 times, capped at RetryMax, ±20% so that retries of many events to
// one endpoint spread out.
func (s *Service) backoff(n int) time.Duration {
	d := float64(s.opt.RetryBase) * math.Pow(2, float64(n-1))
	if d > float64(s.opt.RetryMax) || math.IsInf(d, 0) {
		d = float64(s.opt.RetryMax)
	}
	return time.Duration(d * (0.8 + 0.4*rand.Float64()))
}

// post sends ev to e, signed with every live secret.
func (s *Service) post(ctx context.Context, e Endpoint, ev Event, now time.Time) (int, string, time.Duration, error) {
	body := ev.Body()
	secrets := []string{e.Secret}
	if e.PrevSecret != "" && now.Before(e.PrevSecretUntil) {
		secrets = append(secrets, e.PrevSecret)
	}
	ctx, cancel := context.WithTimeout(ctx, s.opt.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.URL, bytes.NewReader(body))
	if err != nil {
		return 0, "", 0, fmt.Errorf("cannot build request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Paymon-Webhooks/1")
	req.Header.Set(EventIDHeader, ev.ID)
	req.Header.Set(SignatureHeader, Sign(now, body, secrets...))
	start := time.Now()
	resp, err := s.client.Do(req)
	if err != nil {
		return 0, "", time.Since(start), err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, responseBytes))
	// Drain a little more so the connection can be reused.
	_, _ = io.CopyN(io.Discard, resp.Body, 64<<10)
	return resp.StatusCode, validPrefix(b), time.Since(start), nil
}

// validPrefix keeps b as text, dropping a UTF-8 sequence the 1 KiB cut
// split.
func validPrefix(b []byte) string {
	for len(b) > 0 && !utf8.Valid(b) {
		b = b[:len(b)-1]
	}
	return strings.ToValidUTF8(string(b), "")
}

// sweep removes expired events and, on stores without transactions,
// writes events whose payment change was stored without them.
func (s *Service) sweep(ctx context.Context) {
	if o, ok := s.store.(OutboxSweeper); ok {
		if n, err := o.SweepOutbox(ctx, s.now().Add(-10*time.Second)); err != nil {
			s.log.Warn("webhooks: outbox sweep", "err", err)
		} else if n > 0 {
			s.log.Info("webhooks: wrote events left behind by an interrupted write", "events", n)
		}
	}
	if _, err := s.store.DeleteEventsBefore(ctx, s.now().Add(-s.opt.Retention)); err != nil {
		s.log.Warn("webhooks: event retention sweep", "err", err)
	}
	s.gauges(ctx)
}

// gauges refreshes the queue gauges from the shared store, so every
// instance reports the whole queue.
func (s *Service) gauges(ctx context.Context) {
	n, oldest, err := s.store.QueueStats(ctx)
	if err != nil {
		s.log.Warn("webhooks: cannot count the queue", "err", err)
		return
	}
	metrics.WebhookQueueDepth.Set(float64(n))
	age := 0.0
	if !oldest.IsZero() {
		age = s.now().Sub(oldest).Seconds()
	}
	metrics.WebhookOldestFailing.Set(age)
}
