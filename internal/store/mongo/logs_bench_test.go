package mongo_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/paymon/paymon/internal/id"
	"github.com/paymon/paymon/internal/logbook"
	"github.com/paymon/paymon/internal/store/mongo"
	"github.com/paymon/paymon/internal/testenv"
)

// BenchmarkLogIngest measures log ingest through logbook.Store, one batch
// of 5,000 entries per operation (what the ingest batcher hands the store
// under load), on MongoDB (FerretDB) next to the embedded SQLite store:
// the entries and their roll-up counters, as InsertEntries does them.
// Entries spread over 10 services, 5 levels, 6 message templates and ten
// minutes, so one batch touches a few hundred counters.
func BenchmarkLogIngest(b *testing.B) {
	b.Run("sqlite", func(b *testing.B) {
		db := benchSQLite(b)
		benchLogs(b, db)
	})
	b.Run("ferretdb", func(b *testing.B) {
		s := benchMongo(b)
		l, err := mongoLogStore(s)
		if err != nil {
			b.Fatal(err)
		}
		benchLogs(b, l)
	})
}

const benchBatch = 5000

var (
	benchServices = []string{"checkout", "ledger", "gateway", "auth", "search", "billing", "notifier", "fraud", "catalog", "paymon"}
	benchLevels   = []logbook.Level{"debug", "info", "info", "info", "info", "info", "warn", "warn", "error", "fatal"}
	benchMessages = []string{
		"request %d handled in %dms", "cache miss for key user:%d after %dms", "payment pay_%d declined: insufficient funds (%d)",
		"upstream timeout after %dms on attempt %d", "order %d shipped to warehouse %d", "retrying job %d in %ds",
	}
)

func benchEntries(seed int) []logbook.Entry {
	now := time.Now().UTC()
	es := make([]logbook.Entry, benchBatch)
	for i := range es {
		k := seed*benchBatch + i
		es[i] = logbook.Entry{ID: id.New("log"), Time: now.Add(-time.Duration(k%600) * time.Second),
			Level: benchLevels[k%len(benchLevels)], Service: benchServices[k%len(benchServices)],
			Message:    fmt.Sprintf(benchMessages[k%len(benchMessages)], k, k%997),
			TraceID:    fmt.Sprintf("tr-%08x", k),
			Attributes: map[string]any{"host": fmt.Sprintf("web-%d", k%16), "region": "eu-west-1", "http.status": 200 + k%5*100}}
	}
	return es
}

func benchLogs(b *testing.B, s logbook.Store) {
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		es := benchEntries(i)
		r := logbook.BuildRollup(es)
		b.StartTimer()
		if err := s.InsertEntries(ctx, es, r); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*benchBatch)/b.Elapsed().Seconds(), "lines/s")
}

// BenchmarkLogStats measures the three counter reads of one stats request
// (by level, by service, top messages) over a day by the hour and two
// hours by the minute, after 20 batches (100,000 lines) from each of two
// instances: their cost follows the counters in range, not the entries.
func BenchmarkLogStats(b *testing.B) {
	b.Run("sqlite", func(b *testing.B) {
		db := benchSQLite(b)
		benchStats(b, db, db)
	})
	b.Run("ferretdb", func(b *testing.B) {
		srv := testenv.FerretDB(b)
		var stores [2]logbook.Store
		name := fmt.Sprintf("paymon_bench_stats_%d", time.Now().UnixNano())
		for i := range stores {
			s, err := mongo.Open(context.Background(), srv.URL(), name)
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { s.Close() })
			if stores[i], err = mongoLogStore(s); err != nil {
				b.Fatal(err)
			}
		}
		benchStats(b, stores[0], stores[1])
	})
}

func benchStats(b *testing.B, a, c logbook.Store) {
	ctx := context.Background()
	for i := range 20 {
		for _, s := range []logbook.Store{a, c} {
			es := benchEntries(i)
			if err := s.InsertEntries(ctx, es, logbook.BuildRollup(es)); err != nil {
				b.Fatal(err)
			}
		}
	}
	now := time.Now().UTC()
	for _, q := range []logbook.CountQuery{
		{Res: logbook.ResHour, From: now.Add(-24 * time.Hour).Truncate(time.Hour), To: now.Truncate(time.Hour).Add(time.Hour), Step: time.Hour},
		{Res: logbook.ResMinute, From: now.Add(-2 * time.Hour).Truncate(time.Minute), To: now.Truncate(time.Minute).Add(time.Minute), Step: time.Minute},
	} {
		b.Run(q.Step.String(), func(b *testing.B) {
			for b.Loop() {
				if _, err := a.CountsByLevel(ctx, q); err != nil {
					b.Fatal(err)
				}
				if _, err := a.CountsByService(ctx, q); err != nil {
					b.Fatal(err)
				}
				hq := q
				hq.Res, hq.From = logbook.ResHour, q.From.Truncate(time.Hour)
				if _, err := a.TopMessages(ctx, hq, logbook.TopMessages); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
