package webhook

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/paymon/paymon/internal/id"
)

// Options tunes the service; zero values take the defaults.
type Options struct {
	// AllowPrivate lets endpoints target loopback and private networks
	// (tests, or a receiver inside the same network on purpose).
	AllowPrivate bool
	// RetryBase is the first retry's delay; each next one doubles, up to
	// RetryMax, with ±20% jitter. RetryFor is how long an event is retried
	// before its endpoint is disabled.
	RetryBase, RetryMax, RetryFor time.Duration
	// Timeout bounds one delivery (connect to last byte).
	Timeout time.Duration
	// Poll is how often the queue is read when nothing woke the worker.
	Poll time.Duration
	// Workers is how many deliveries one instance makes at once.
	Workers int
	// RotationOverlap is how long the previous secret still signs.
	RotationOverlap time.Duration
	Retention       time.Duration
	Logger          *slog.Logger
	Now             func() time.Time
}

func (o Options) withDefaults() Options {
	def := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&o.RetryBase, 10*time.Second)
	def(&o.RetryMax, 6*time.Hour)
	def(&o.RetryFor, 72*time.Hour)
	def(&o.Timeout, 10*time.Second)
	def(&o.Poll, 250*time.Millisecond)
	def(&o.RotationOverlap, 24*time.Hour)
	def(&o.Retention, 30*24*time.Hour)
	if o.Workers <= 0 {
		o.Workers = 64
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// Service manages endpoints and events and runs the delivery worker.
type Service struct {
	store  Store
	opt    Options
	log    *slog.Logger
	client *http.Client
	wake   chan struct{}

	mu        sync.Mutex
	endpoints map[string]Endpoint // refreshed by the worker each round
	// events caches event bodies for the worker: events never change, and
	// one event goes to every subscribed endpoint. Bounded by eventCache.
	events map[string]Event
}

const eventCache = 8192

// NewService returns a service over store.
func NewService(store Store, opt Options) *Service {
	opt = opt.withDefaults()
	return &Service{store: store, opt: opt, log: opt.Logger, client: newClient(opt), wake: make(chan struct{}, 1)}
}

func (s *Service) now() time.Time { return s.opt.Now().UTC() }

// EndpointInput is a create or a patch; nil fields are left unchanged.
type EndpointInput struct {
	URL         *string
	EventTypes  []string
	Enabled     *bool
	Description *string
}

func (in EndpointInput) apply(ctx context.Context, e *Endpoint, allowPrivate bool) error {
	if in.URL != nil {
		if err := CheckURL(ctx, *in.URL, allowPrivate, nil); err != nil {
			return err
		}
		e.URL = *in.URL
	}
	if in.EventTypes != nil {
		if len(in.EventTypes) == 0 || len(in.EventTypes) > len(EventTypes) {
			return &InvalidError{Field: "event_types", Reason: "event_types must list 1 to 6 event types, or be [\"*\"]"}
		}
		seen := map[string]bool{}
		for _, t := range in.EventTypes {
			if t != "*" && !ValidEventType(t) {
				return &InvalidError{Field: "event_types", Reason: fmt.Sprintf("unknown event type %q; known: * and %s", t, strings.Join(EventTypes, ", "))}
			}
			if t == "*" && len(in.EventTypes) > 1 {
				return &InvalidError{Field: "event_types", Reason: "\"*\" cannot be combined with other types"}
			}
			if seen[t] {
				return &InvalidError{Field: "event_types", Reason: fmt.Sprintf("event type %q listed twice", t)}
			}
			seen[t] = true
		}
		e.EventTypes = append([]string(nil), in.EventTypes...)
	}
	if in.Description != nil {
		if len(*in.Description) > 500 {
			return &InvalidError{Field: "description", Reason: "description must be at most 500 bytes"}
		}
		e.Description = *in.Description
	}
	if in.Enabled != nil {
		e.Enabled = *in.Enabled
		if e.Enabled {
			e.DisabledReason = ""
		}
	}
	return nil
}

// CreateEndpoint registers an endpoint and returns it with its secret,
// the only time the secret is shown.
func (s *Service) CreateEndpoint(ctx context.Context, in EndpointInput) (Endpoint, error) {
	if in.URL == nil {
		return Endpoint{}, &InvalidError{Field: "url", Reason: "url is required"}
	}
	if in.EventTypes == nil {
		in.EventTypes = []string{"*"}
	}
	now := s.now()
	e := Endpoint{ID: id.New("we"), Enabled: true, CreatedAt: now, UpdatedAt: now}
	if err := in.apply(ctx, &e, s.opt.AllowPrivate); err != nil {
		return Endpoint{}, err
	}
	secret, err := NewSecret()
	if err != nil {
		return Endpoint{}, err
	}
	e.Secret = secret
	if err := s.store.CreateEndpoint(ctx, e); err != nil {
		return Endpoint{}, fmt.Errorf("cannot store endpoint: %w", err)
	}
	return e, nil
}

// GetEndpoint returns one endpoint.
func (s *Service) GetEndpoint(ctx context.Context, id string) (Endpoint, error) {
	return s.store.GetEndpoint(ctx, id)
}

// ListEndpoints returns every endpoint, newest first.
func (s *Service) ListEndpoints(ctx context.Context) ([]Endpoint, error) {
	return s.store.ListEndpoints(ctx)
}

// UpdateEndpoint applies a patch.
func (s *Service) UpdateEndpoint(ctx context.Context, id string, in EndpointInput) (Endpoint, error) {
	e, err := s.store.GetEndpoint(ctx, id)
	if err != nil {
		return Endpoint{}, err
	}
	if err := in.apply(ctx, &e, s.opt.AllowPrivate); err != nil {
		return Endpoint{}, err
	}
	e.UpdatedAt = s.now()
	if err := s.store.UpdateEndpoint(ctx, e); err != nil {
		return Endpoint{}, fmt.Errorf("cannot update endpoint: %w", err)
	}
	return e, nil
}

// DeleteEndpoint removes an endpoint and its queued deliveries.
func (s *Service) DeleteEndpoint(ctx context.Context, id string) error {
	return s.store.DeleteEndpoint(ctx, id)
}

// RotateSecret gives the endpoint a new secret and keeps signing with the
// old one too for RotationOverlap. It returns the endpoint with the new
// secret, the only time it is shown.
func (s *Service) RotateSecret(ctx context.Context, id string) (Endpoint, error) {
	e, err := s.store.GetEndpoint(ctx, id)
	if err != nil {
		return Endpoint{}, err
	}
	secret, err := NewSecret()
	if err != nil {
		return Endpoint{}, err
	}
	now := s.now()
	e.PrevSecret, e.PrevSecretUntil, e.Secret, e.UpdatedAt = e.Secret, now.Add(s.opt.RotationOverlap), secret, now
	if err := s.store.UpdateEndpoint(ctx, e); err != nil {
		return Endpoint{}, fmt.Errorf("cannot store the rotated secret: %w", err)
	}
	return e, nil
}

// GetEvent returns one event.
func (s *Service) GetEvent(ctx context.Context, id string) (Event, error) {
	return s.store.GetEvent(ctx, id)
}

// ListEvents pages through events, newest first. startingAfter is the id
// of the last event of the previous page.
func (s *Service) ListEvents(ctx context.Context, f EventFilter, startingAfter string) ([]Event, bool, error) {
	if startingAfter != "" {
		e, err := s.store.GetEvent(ctx, startingAfter)
		if errors.Is(err, ErrNotFound) {
			return nil, false, &InvalidError{Field: "starting_after", Reason: "starting_after names no event"}
		}
		if err != nil {
			return nil, false, err
		}
		f.After = &e
	}
	return s.store.ListEvents(ctx, f)
}

// ListDeliveries pages through an endpoint's delivery log, newest first.
func (s *Service) ListDeliveries(ctx context.Context, endpointID, startingAfter string, limit int) ([]Delivery, bool, error) {
	if _, err := s.store.GetEndpoint(ctx, endpointID); err != nil {
		return nil, false, err
	}
	return s.store.ListDeliveries(ctx, endpointID, startingAfter, limit)
}

// Resend queues event eventID again for endpointID, or for every endpoint
// that subscribes to its type when endpointID is empty. It returns the
// endpoints it was queued for.
func (s *Service) Resend(ctx context.Context, eventID, endpointID string) ([]string, error) {
	ev, err := s.store.GetEvent(ctx, eventID)
	if err != nil {
		return nil, err
	}
	var targets []Endpoint
	if endpointID != "" {
		e, err := s.store.GetEndpoint(ctx, endpointID)
		if err != nil {
			return nil, err
		}
		targets = []Endpoint{e}
	} else {
		all, err := s.store.ListEndpoints(ctx)
		if err != nil {
			return nil, err
		}
		for _, e := range all {
			if e.Enabled && e.Wants(ev.Type) {
				targets = append(targets, e)
			}
		}
	}
	now := s.now()
	out := []string{}
	for _, e := range targets {
		a := Attempt{ID: AttemptID(ev.ID, e.ID), EventID: ev.ID, EndpointID: e.ID, State: StatePending, NextAt: now, FirstAt: now}
		if err := s.store.Requeue(ctx, a); err != nil {
			return out, fmt.Errorf("cannot queue the resend: %w", err)
		}
		out = append(out, e.ID)
	}
	s.Wake()
	return out, nil
}

// Wake tells the worker there may be new events, so a change is
// delivered without waiting for the next poll.
func (s *Service) Wake() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}
