// Package alerttest is the conformance suite every alert.Store adapter
// runs, so the SQLite and MongoDB adapters cannot drift apart. Above all it
// checks the property several instances rely on: of many concurrent
// attempts to fire (or resolve) one fingerprint, exactly one wins.
package alerttest

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/paymon/paymon/internal/alert"
	"github.com/paymon/paymon/internal/id"
)

// Run runs the suite. open returns an empty store; the suite never
// assumes two calls share data.
func Run(t *testing.T, open func(t *testing.T) alert.Store) {
	t.Run("FireListResolve", func(t *testing.T) { fireListResolve(t, open(t)) })
	t.Run("SecondFireIsIgnored", func(t *testing.T) { secondFireIsIgnored(t, open(t)) })
	t.Run("ConcurrentFireHasOneWinner", func(t *testing.T) { concurrentFire(t, open(t)) })
	t.Run("ConcurrentResolveHasOneWinner", func(t *testing.T) { concurrentResolve(t, open(t)) })
	t.Run("RefireAfterResolveIsNewEpisode", func(t *testing.T) { refire(t, open(t)) })
	t.Run("FingerprintsAreIndependent", func(t *testing.T) { independent(t, open(t)) })
	t.Run("FilterAndOrder", func(t *testing.T) { filterAndOrder(t, open(t)) })
}

var base = time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC)

func newAlert(rule string, labels map[string]string, started time.Time) alert.Alert {
	return alert.Alert{
		ID: id.New("alt"), Rule: rule, Severity: alert.Critical, State: alert.Firing,
		Summary: rule + " summary", Labels: labels, Fingerprint: alert.Fingerprint(rule, labels), StartedAt: started,
	}
}

func fire(t *testing.T, s alert.Store, a alert.Alert) bool {
	t.Helper()
	won, err := s.FireAlert(context.Background(), a)
	if err != nil {
		t.Fatalf("fire %s: %v", a.Rule, err)
	}
	return won
}

func list(t *testing.T, s alert.Store, f alert.Filter) []alert.Alert {
	t.Helper()
	as, err := s.ListAlerts(context.Background(), f)
	if err != nil {
		t.Fatalf("list %+v: %v", f, err)
	}
	return as
}

func fireListResolve(t *testing.T, s alert.Store) {
	ctx := context.Background()
	a := newAlert("PaymentFailureStreak", map[string]string{"provider": "stripe"}, base)
	if !fire(t, s, a) {
		t.Fatal("first fire did not win")
	}
	got := list(t, s, alert.Filter{State: alert.Firing})
	if len(got) != 1 {
		t.Fatalf("firing = %d alerts, want 1", len(got))
	}
	g := got[0]
	if g.ID != a.ID || g.Rule != a.Rule || g.Severity != a.Severity || g.State != alert.Firing || g.Summary != a.Summary ||
		g.Fingerprint != a.Fingerprint || g.Labels["provider"] != "stripe" || len(g.Labels) != 1 || !g.StartedAt.Equal(a.StartedAt) || g.ResolvedAt != nil {
		t.Fatalf("stored %+v, want %+v", g, a)
	}
	if n := len(list(t, s, alert.Filter{State: alert.Resolved})); n != 0 {
		t.Fatalf("resolved = %d before any resolve", n)
	}
	at := base.Add(3 * time.Minute)
	res, err := s.ResolveAlert(ctx, a.Fingerprint, at)
	if err != nil {
		t.Fatalf("resolve: %v", err)
	}
	if res.ID != a.ID || res.State != alert.Resolved || res.ResolvedAt == nil || !res.ResolvedAt.Equal(at) || res.Labels["provider"] != "stripe" {
		t.Fatalf("resolve returned %+v", res)
	}
	if _, err := s.ResolveAlert(ctx, a.Fingerprint, at); !errors.Is(err, alert.ErrNotFiring) {
		t.Fatalf("second resolve: err = %v, want ErrNotFiring", err)
	}
	if n := len(list(t, s, alert.Filter{State: alert.Firing})); n != 0 {
		t.Fatalf("firing = %d after resolve", n)
	}
	r := list(t, s, alert.Filter{State: alert.Resolved})
	if len(r) != 1 || r[0].ID != a.ID || r[0].ResolvedAt == nil || !r[0].ResolvedAt.Equal(at) {
		t.Fatalf("resolved list = %+v", r)
	}
	// Empty labels come back as an empty map, not nil: clients get {}.
	b := newAlert("NoPaymentsReceived", nil, base)
	fire(t, s, b)
	for _, x := range list(t, s, alert.Filter{Rule: "NoPaymentsReceived"}) {
		if x.Labels == nil {
			t.Fatal("labels of an alert without labels are nil")
		}
	}
	if _, err := s.ResolveAlert(ctx, alert.Fingerprint("Unknown", nil), at); !errors.Is(err, alert.ErrNotFiring) {
		t.Fatalf("resolve of unknown fingerprint: err = %v", err)
	}
}

func secondFireIsIgnored(t *testing.T, s alert.Store) {
	a := newAlert("PaymentFailureRateHigh", map[string]string{}, base)
	if !fire(t, s, a) {
		t.Fatal("first fire did not win")
	}
	b := newAlert("PaymentFailureRateHigh", map[string]string{}, base.Add(time.Minute))
	b.Summary = "other"
	if fire(t, s, b) {
		t.Fatal("second fire of a firing fingerprint won")
	}
	got := list(t, s, alert.Filter{})
	if len(got) != 1 || got[0].ID != a.ID || got[0].Summary != a.Summary {
		t.Fatalf("alerts = %+v, want only the first", got)
	}
}

func concurrentFire(t *testing.T, s alert.Store) {
	const n = 32
	var wins atomic.Int32
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a := newAlert("PaymentFailureStreak", map[string]string{"provider": "paypal"}, base)
			won, err := s.FireAlert(context.Background(), a)
			if err != nil {
				t.Errorf("fire: %v", err)
			}
			if won {
				wins.Add(1)
			}
		}()
	}
	wg.Wait()
	if w := wins.Load(); w != 1 {
		t.Fatalf("%d of %d concurrent fires won, want exactly 1", w, n)
	}
	if got := list(t, s, alert.Filter{State: alert.Firing}); len(got) != 1 {
		t.Fatalf("firing = %d, want 1", len(got))
	}
}

func concurrentResolve(t *testing.T, s alert.Store) {
	a := newAlert("ErrorLogSpike", map[string]string{}, base)
	fire(t, s, a)
	const n = 32
	var wins atomic.Int32
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := s.ResolveAlert(context.Background(), a.Fingerprint, base.Add(time.Minute))
			switch {
			case err == nil:
				wins.Add(1)
			case !errors.Is(err, alert.ErrNotFiring):
				t.Errorf("resolve: %v", err)
			}
		}()
	}
	wg.Wait()
	if w := wins.Load(); w != 1 {
		t.Fatalf("%d of %d concurrent resolves won, want exactly 1", w, n)
	}
}

func refire(t *testing.T, s alert.Store) {
	ctx := context.Background()
	a := newAlert("NoPaymentsReceived", map[string]string{}, base)
	fire(t, s, a)
	if _, err := s.ResolveAlert(ctx, a.Fingerprint, base.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	b := newAlert("NoPaymentsReceived", map[string]string{}, base.Add(2*time.Minute))
	if !fire(t, s, b) {
		t.Fatal("fire after resolve did not win")
	}
	firing := list(t, s, alert.Filter{State: alert.Firing})
	if len(firing) != 1 || firing[0].ID != b.ID {
		t.Fatalf("firing = %+v, want the new episode", firing)
	}
	if all := list(t, s, alert.Filter{}); len(all) != 2 {
		t.Fatalf("history = %d alerts, want 2 episodes", len(all))
	}
}

func independent(t *testing.T, s alert.Store) {
	a := newAlert("PaymentFailureStreak", map[string]string{"provider": "stripe"}, base)
	b := newAlert("PaymentFailureStreak", map[string]string{"provider": "paypal"}, base)
	c := newAlert("PaymentFailureRateHigh", map[string]string{"provider": "stripe"}, base)
	for _, x := range []alert.Alert{a, b, c} {
		if !fire(t, s, x) {
			t.Fatalf("fire %s %v did not win", x.Rule, x.Labels)
		}
	}
	if _, err := s.ResolveAlert(context.Background(), a.Fingerprint, base.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	firing := list(t, s, alert.Filter{State: alert.Firing})
	if len(firing) != 2 {
		t.Fatalf("firing = %d after resolving one of three, want 2", len(firing))
	}
	for _, x := range firing {
		if x.ID == a.ID {
			t.Fatal("resolved alert still firing")
		}
	}
}

func filterAndOrder(t *testing.T, s alert.Store) {
	var ids []string
	for i := 0; i < 5; i++ {
		a := newAlert("PaymentFailureStreak", map[string]string{"provider": string(rune('a' + i))}, base.Add(time.Duration(i)*time.Minute))
		fire(t, s, a)
		ids = append(ids, a.ID)
	}
	x := newAlert("ErrorLogSpike", map[string]string{}, base.Add(10*time.Minute))
	fire(t, s, x)
	all := list(t, s, alert.Filter{})
	if len(all) != 6 || all[0].ID != x.ID {
		t.Fatalf("all = %d alerts, first %s; want 6 newest first", len(all), all[0].ID)
	}
	for i := 1; i < len(all); i++ {
		if all[i].StartedAt.After(all[i-1].StartedAt) {
			t.Fatalf("not newest first at %d", i)
		}
	}
	streak := list(t, s, alert.Filter{Rule: "PaymentFailureStreak"})
	if len(streak) != 5 || streak[0].ID != ids[4] || streak[4].ID != ids[0] {
		t.Fatalf("rule filter = %d alerts", len(streak))
	}
	if got := list(t, s, alert.Filter{Rule: "PaymentFailureStreak", Limit: 2}); len(got) != 2 || got[0].ID != ids[4] || got[1].ID != ids[3] {
		t.Fatalf("limit 2 = %+v", got)
	}
}
