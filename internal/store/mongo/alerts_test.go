package mongo_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/paymon/paymon/internal/alert"
	"github.com/paymon/paymon/internal/alert/alerttest"
	"github.com/paymon/paymon/internal/id"
	"github.com/paymon/paymon/internal/store/mongo"
	"github.com/paymon/paymon/internal/testenv"
)

func openAlerts(t *testing.T, s *mongo.Store) *mongo.AlertStore {
	t.Helper()
	a, err := mongo.NewAlertStore(context.Background(), s)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestAlertStoreConformance(t *testing.T) {
	srv := testenv.FerretDB(t)
	alerttest.Run(t, func(t *testing.T) alert.Store { return openAlerts(t, open(t, srv)) })
}

// TestAlertTwoInstancesRace fires and resolves one fingerprint from two
// Stores (two connection pools, as two instances) on one database: the
// unique inserts, not anything in-process, must pick one winner.
func TestAlertTwoInstancesRace(t *testing.T) {
	srv := testenv.FerretDB(t)
	name := fmt.Sprintf("paymon_alert_two_%d", time.Now().UnixNano())
	var stores [2]*mongo.AlertStore
	for i := range stores {
		s, err := mongo.Open(context.Background(), srv.URL(), name)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		stores[i] = openAlerts(t, s)
	}
	ctx := context.Background()
	labels := map[string]string{"provider": "stripe"}
	fp := alert.Fingerprint("PaymentFailureStreak", labels)
	for round := range 3 {
		var fired, resolved atomic.Int32
		var wg sync.WaitGroup
		for i := range 16 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				a := alert.Alert{ID: id.New("alt"), Rule: "PaymentFailureStreak", Severity: alert.Critical, State: alert.Firing,
					Labels: labels, Fingerprint: fp, StartedAt: time.Now()}
				won, err := stores[i%2].FireAlert(ctx, a)
				if err != nil {
					t.Error(err)
				} else if won {
					fired.Add(1)
				}
			}()
		}
		wg.Wait()
		for i := range 16 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := stores[i%2].ResolveAlert(ctx, fp, time.Now())
				if err == nil {
					resolved.Add(1)
				} else if !errors.Is(err, alert.ErrNotFiring) {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		if fired.Load() != 1 || resolved.Load() != 1 {
			t.Fatalf("round %d: %d fires and %d resolves won across two instances, want 1 each", round, fired.Load(), resolved.Load())
		}
	}
	all, err := stores[1].ListAlerts(ctx, alert.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 3 {
		t.Fatalf("%d episodes stored, want 3", len(all))
	}
	for _, a := range all {
		if a.State != alert.Resolved || a.ResolvedAt == nil {
			t.Fatalf("episode %s left %s", a.ID, a.State)
		}
	}
}

// TestAlertResolveCompletesAnInterruptedResolve plays an instance that
// won a resolve (its marker is stored) and died before updating the
// alert: the next resolve finishes the job without claiming the win, so
// the alert does not stay firing and nobody notifies twice.
func TestAlertResolveCompletesAnInterruptedResolve(t *testing.T) {
	srv := testenv.FerretDB(t)
	s := open(t, srv)
	as := openAlerts(t, s)
	ctx := context.Background()
	a := alert.Alert{ID: id.New("alt"), Rule: "ErrorLogSpike", Severity: alert.Warning, State: alert.Firing,
		Labels: map[string]string{}, Fingerprint: alert.Fingerprint("ErrorLogSpike", nil), StartedAt: time.Now()}
	if won, err := as.FireAlert(ctx, a); err != nil || !won {
		t.Fatalf("fire: %v %v", won, err)
	}
	at := time.Now().Add(time.Minute).Truncate(time.Millisecond).UTC()
	if _, err := s.Database().Collection("alert_resolutions").InsertOne(ctx, bson.D{{Key: "_id", Value: a.ID}, {Key: "resolved_at", Value: at}}); err != nil {
		t.Fatal(err)
	}
	if _, err := as.ResolveAlert(ctx, a.Fingerprint, time.Now().Add(time.Hour)); !errors.Is(err, alert.ErrNotFiring) {
		t.Fatalf("resolve after another's marker: err = %v, want ErrNotFiring", err)
	}
	got, err := as.ListAlerts(ctx, alert.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].State != alert.Resolved || got[0].ResolvedAt == nil || !got[0].ResolvedAt.Equal(at) {
		t.Fatalf("alert after the completed resolve: %+v; want resolved at the marker's time %v", got, at)
	}
	b := a
	b.ID = id.New("alt")
	if won, err := as.FireAlert(ctx, b); err != nil || !won {
		t.Fatalf("fire of a new episode: %v %v", won, err)
	}
}
