package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/paymon/paymon/internal/id"
	"github.com/paymon/paymon/internal/payment"
	"github.com/paymon/paymon/internal/store/sqlite"
)

// BenchmarkOutbox measures what the events cost the create path's two
// writes: the same create and update, with a timeline that makes an event
// at each write (events) and one that makes none (none), in one run.
func BenchmarkOutbox(b *testing.B) {
	for _, withEvents := range []bool{false, true} {
		name := "none"
		if withEvents {
			name = "events"
		}
		b.Run(name, func(b *testing.B) {
			db, err := sqlite.Open(filepath.Join(b.TempDir(), "paymon.db"))
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			ctx := context.Background()
			b.SetParallelism(8)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					now := time.Now()
					entry := func(typ string) []payment.Event {
						if !withEvents {
							typ = "provider_" + typ // not a merchant event
						}
						return []payment.Event{{Type: typ, At: now}}
					}
					p := &payment.Payment{ID: id.New("pay"), Amount: 2500, Currency: "EUR", Status: payment.StatusPending,
						Provider: "simulator", CreatedAt: now, UpdatedAt: now, Events: entry("created")}
					if _, err := db.CreatePayment(ctx, p, nil); err != nil {
						b.Fatal(err)
					}
					p.Status = payment.StatusSucceeded
					p.Events = append(p.Events, entry("succeeded")...)
					if err := db.UpdatePayment(ctx, p, p.Version, payment.Extra{}); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "creates/s")
		})
	}
}
