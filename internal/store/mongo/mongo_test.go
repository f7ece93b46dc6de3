package mongo_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/paymon/paymon/internal/auth"
	"github.com/paymon/paymon/internal/auth/authtest"
	"github.com/paymon/paymon/internal/dependency"
	"github.com/paymon/paymon/internal/payment"
	"github.com/paymon/paymon/internal/payment/paymenttest"
	"github.com/paymon/paymon/internal/store/mongo"
	"github.com/paymon/paymon/internal/testenv"
)

var dbSeq atomic.Int64

// open returns a store on a fresh database of srv, so subtests sharing one
// server never see each other's data.
func open(t *testing.T, srv *testenv.Server) *mongo.Store {
	t.Helper()
	s, err := mongo.Open(context.Background(), srv.URL(), fmt.Sprintf("paymon_test_%d", dbSeq.Add(1)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func openBench(srv *testenv.Server) (*mongo.Store, error) {
	return mongo.Open(context.Background(), srv.URL(), fmt.Sprintf("paymon_bench_%d", dbSeq.Add(1)))
}

func TestPaymentStoreConformance(t *testing.T) {
	srv := testenv.FerretDB(t)
	paymenttest.RunStoreTests(t, func(t *testing.T) payment.Store { return open(t, srv) })
}

func TestAuthStoreConformance(t *testing.T) {
	srv := testenv.FerretDB(t)
	authtest.RunStoreTests(t, func(t *testing.T) auth.Store { return open(t, srv) })
}

// TestWritesAreMajorityJournaled checks that the server accepts the write
// concern every write of the store carries (w:majority, j:true).
func TestWritesAreMajorityJournaled(t *testing.T) {
	srv := testenv.FerretDB(t)
	s := open(t, srv)
	if _, err := s.GetOrCreateSecret(context.Background(), "probe", []byte("x")); err != nil {
		t.Fatalf("a w:majority j:true write was refused: %v", err)
	}
}

// TestDownAndBack checks that a stopped server gives dependency errors
// (503 with Retry-After upstream) within the selection timeout, and that
// the same Store works again once the server is back.
func TestDownAndBack(t *testing.T) {
	srv := testenv.FerretDB(t)
	s := open(t, srv)
	ctx := context.Background()
	if _, err := s.CountUsers(ctx); err != nil {
		t.Fatal(err)
	}
	srv.Stop(t)
	if _, err := s.CountUsers(ctx); !errors.Is(err, dependency.ErrUnavailable) {
		t.Fatalf("read with the server down: err = %v, want dependency.ErrUnavailable", err)
	}
	if err := s.Ping(ctx); !errors.Is(err, dependency.ErrUnavailable) {
		t.Fatalf("Ping with the server down: err = %v", err)
	}
	srv.Start(t)
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, err := s.CountUsers(ctx)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the store did not recover within 30s: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestTwoInstancesRace runs the races that matter between instances through
// two Stores (two connection pools, two sets of in-process locks) on one
// database: the settlement must come from the server, not from a lock.
func TestTwoInstancesRace(t *testing.T) {
	srv := testenv.FerretDB(t)
	name := fmt.Sprintf("paymon_two_%d", dbSeq.Add(1))
	var stores [2]*mongo.Store
	for i := range stores {
		s, err := mongo.Open(context.Background(), srv.URL(), name)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		stores[i] = s
	}
	ctx := context.Background()
	now := time.Now().Truncate(time.Millisecond)
	tok := auth.RefreshToken{Hash: "h-race", Family: "f", UserID: "u", ExpiresAt: now.Add(time.Hour), CreatedAt: now}
	if err := stores[0].CreateRefreshToken(ctx, tok); err != nil {
		t.Fatal(err)
	}
	const n = 12
	var wg sync.WaitGroup
	var used, claimed, firstEvents atomic.Int64
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := stores[i%2]
			if _, err := s.UseRefreshToken(ctx, tok.Hash); err == nil {
				used.Add(1)
			} else if !errors.Is(err, auth.ErrTokenReused) {
				t.Error(err)
			}
			rec := payment.IdempotencyRecord{Key: "k-race", RequestHash: "h", PaymentID: fmt.Sprint("pay_", i),
				LockedUntil: now.Add(time.Minute), CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
			if existing, err := s.ClaimIdempotency(ctx, rec); err != nil {
				t.Error(err)
			} else if existing == nil {
				claimed.Add(1)
			}
			if first, err := s.RecordWebhookEvent(ctx, "stripe", "evt_race", now); err != nil {
				t.Error(err)
			} else if first {
				firstEvents.Add(1)
			}
		}()
	}
	wg.Wait()
	if used.Load() != 1 || claimed.Load() != 1 || firstEvents.Load() != 1 {
		t.Fatalf("winners across two instances: token %d, idempotency key %d, webhook event %d; want 1 each",
			used.Load(), claimed.Load(), firstEvents.Load())
	}
}
