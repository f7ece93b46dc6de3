package alert_test

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/paymon/paymon/internal/alert"
	"github.com/paymon/paymon/internal/metrics"
	"github.com/paymon/paymon/internal/payment"
	"github.com/paymon/paymon/internal/store/sqlite"

	dto "github.com/prometheus/client_model/go"
)

type transitions struct {
	mu  sync.Mutex
	got []alert.Alert
}

func (tr *transitions) hook(_ context.Context, a alert.Alert) {
	tr.mu.Lock()
	tr.got = append(tr.got, a)
	tr.mu.Unlock()
}

func (tr *transitions) all() []alert.Alert {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return append([]alert.Alert(nil), tr.got...)
}

func gauge(t *testing.T, rule, severity string) float64 {
	t.Helper()
	var m dto.Metric
	if err := metrics.AlertsFiring.WithLabelValues(rule, severity).Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetGauge().GetValue()
}

func TestEngineFiresOnceAndResolves(t *testing.T) {
	c := newClock()
	db := openDB(t)
	ps := newPayments(t, db, c)
	e := alert.NewEngine(db, alert.Builtin(alert.Rules{}, ps, nil), alert.Options{Now: c.Now})
	var tr transitions
	e.OnTransition(tr.hook)
	ctx := context.Background()

	pay(t, ps, 30, "fail")
	for i := 0; i < 3; i++ { // evaluating again while firing changes nothing
		if err := e.Evaluate(ctx); err != nil {
			t.Fatal(err)
		}
	}
	got := tr.all()
	rules := map[string]alert.Alert{}
	for _, a := range got {
		rules[a.Rule] = a
	}
	if len(got) != 2 || rules["PaymentFailureRateHigh"].State != alert.Firing || rules["PaymentFailureStreak"].Labels["provider"] != "simulator" {
		t.Fatalf("transitions = %+v, want PaymentFailureRateHigh and PaymentFailureStreak firing once each", got)
	}
	if g := gauge(t, "PaymentFailureRateHigh", "critical"); g != 1 {
		t.Fatalf("paymon_alerts_firing = %v while firing", g)
	}
	firing, err := e.List(ctx, alert.Filter{State: alert.Firing})
	if err != nil || len(firing) != 2 {
		t.Fatalf("stored firing = %d, %v", len(firing), err)
	}

	pay(t, ps, 130, "succeed") // 30/160 < 20%, and the streak is broken
	c.Advance(time.Minute)
	if err := e.Evaluate(ctx); err != nil {
		t.Fatal(err)
	}
	got = tr.all()[2:]
	if len(got) != 2 || got[0].State != alert.Resolved || got[1].State != alert.Resolved || got[0].ResolvedAt == nil || !got[0].ResolvedAt.Equal(c.Now()) {
		t.Fatalf("transitions after recovery = %+v, want both resolved at %s", got, c.Now())
	}
	if g := gauge(t, "PaymentFailureRateHigh", "critical"); g != 0 {
		t.Fatalf("paymon_alerts_firing = %v after resolve", g)
	}
	if firing, _ := e.List(ctx, alert.Filter{State: alert.Firing}); len(firing) != 0 {
		t.Fatalf("still firing in the store: %+v", firing)
	}
}

// Two instances share one store file and evaluate at the same moment:
// each transition is won, and so notified, by exactly one of them.
func TestTwoInstancesNotifyOnce(t *testing.T) {
	c := newClock()
	path := filepath.Join(t.TempDir(), "shared.db")
	var trs [2]transitions
	var engines [2]*alert.Engine
	var payments [2]*payment.Service
	for i := range engines {
		db, err := sqlite.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		payments[i] = newPayments(t, db, c)
		engines[i] = alert.NewEngine(db, alert.Builtin(alert.Rules{FailureStreak: 5}, payments[i], nil), alert.Options{Now: c.Now})
		engines[i].OnTransition(trs[i].hook)
	}
	evalBoth := func() {
		var wg sync.WaitGroup
		for _, e := range engines {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := e.Evaluate(context.Background()); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
	}
	count := func(state alert.State) int {
		n := 0
		for i := range trs {
			for _, a := range trs[i].all() {
				if a.State == state {
					n++
				}
			}
		}
		return n
	}
	pay(t, payments[0], 15, "fail")
	pay(t, payments[1], 15, "fail")
	evalBoth()
	evalBoth()
	if n := count(alert.Firing); n != 2 { // rate + streak, once each in total
		t.Fatalf("%d fired transitions across two instances, want 2", n)
	}
	pay(t, payments[1], 200, "succeed")
	evalBoth()
	if n := count(alert.Resolved); n != 2 {
		t.Fatalf("%d resolved transitions across two instances, want 2", n)
	}
}
