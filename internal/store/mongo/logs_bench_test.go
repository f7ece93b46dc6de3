package mongo_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/paymon/paymon/internal/id"
	"github.com/paymon/paymon/internal/logbook"
	"github.com/paymon/paymon/internal/store/sqlite"
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
		db, err := sqlite.Open(filepath.Join(b.TempDir(), "paymon.db"))
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { db.Close() })
		benchLogs(b, db)
	})
	b.Run("ferretdb", func(b *testing.B) {
		srv := testenv.FerretDB(b)
		s, err := openBench(srv)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { s.Close() })
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
