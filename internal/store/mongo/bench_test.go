package mongo_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/paymon/paymon/internal/id"
	"github.com/paymon/paymon/internal/payment"
	"github.com/paymon/paymon/internal/store/mongo"
	"github.com/paymon/paymon/internal/store/sqlite"
	"github.com/paymon/paymon/internal/testenv"
)

// BenchmarkCreatePayment measures the create path's store writes (claim an
// idempotency key and insert the payment, then complete the key with the
// status update) from many goroutines, on MongoDB (FerretDB) next to the
// embedded SQLite store. Run with -cpu to vary the concurrency.
func BenchmarkCreatePayment(b *testing.B) {
	b.Run("sqlite", func(b *testing.B) {
		db := benchSQLite(b)
		benchCreate(b, db)
	})
	b.Run("ferretdb", func(b *testing.B) {
		s := benchMongo(b)
		benchCreate(b, s)
	})
}

func benchCreate(b *testing.B, s payment.Store) {
	ctx := context.Background()
	b.SetParallelism(8)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			now := time.Now()
			p := &payment.Payment{ID: id.New("pay"), Amount: 2500, Currency: "EUR", Status: payment.StatusPending,
				Provider: "simulator", CreatedAt: now, UpdatedAt: now}
			claim := payment.IdempotencyRecord{Key: "bench:" + p.ID, RequestHash: "h", PaymentID: p.ID,
				LockedUntil: now.Add(time.Minute), CreatedAt: now, ExpiresAt: now.Add(24 * time.Hour)}
			if _, err := s.CreatePayment(ctx, p, &claim); err != nil {
				b.Fatal(err)
			}
			p.Status = payment.StatusSucceeded
			err := s.UpdatePayment(ctx, p, p.Version, payment.Extra{
				Stats:    []payment.StatIncrement{{Bucket: now.Truncate(time.Minute), Kind: "succeeded", Currency: "EUR", Count: 1, Amount: 2500}},
				Complete: &payment.IdempotencyRecord{Key: claim.Key, Status: 201, Body: []byte("{}")},
			})
			if err != nil {
				b.Fatal(err)
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "creates/s")
}

// benchSQLite opens an embedded store in a temp dir for one benchmark.
func benchSQLite(b *testing.B) *sqlite.DB {
	db, err := sqlite.Open(filepath.Join(b.TempDir(), "paymon.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	return db
}

// benchMongo opens the MongoDB store on a fresh FerretDB for one benchmark.
func benchMongo(b *testing.B) *mongo.Store {
	s, err := openBench(testenv.FerretDB(b))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s
}
