package mongo_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/paymon/paymon/internal/id"
	"github.com/paymon/paymon/internal/logbook"
	"github.com/paymon/paymon/internal/logbook/logbooktest"
	"github.com/paymon/paymon/internal/store/mongo"
	"github.com/paymon/paymon/internal/testenv"
)

func openLogs(t *testing.T, s *mongo.Store) *mongo.LogStore {
	t.Helper()
	l, err := mongo.NewLogStore(context.Background(), s)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestLogStoreConformance(t *testing.T) {
	srv := testenv.FerretDB(t)
	logbooktest.RunStoreTests(t, func(t *testing.T) logbook.Store { return openLogs(t, open(t, srv)) })
}

// TestLogCountersTwoInstances writes batches touching the same counters
// from two LogStores (two instances) and several goroutines each at once:
// every line must count, which shared $inc documents would not give on
// FerretDB.
func TestLogCountersTwoInstances(t *testing.T) {
	srv := testenv.FerretDB(t)
	name := fmt.Sprintf("paymon_logs_two_%d", time.Now().UnixNano())
	var stores [2]*mongo.LogStore
	for i := range stores {
		s, err := mongo.Open(context.Background(), srv.URL(), name)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		stores[i] = openLogs(t, s)
	}
	ctx := context.Background()
	at := time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC)
	const writers, batches, perBatch = 8, 5, 20
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range batches {
				es := make([]logbook.Entry, perBatch)
				for i := range es {
					es[i] = logbook.Entry{ID: id.New("log"), Time: at.Add(time.Duration(i) * time.Second), Level: logbook.LevelError, Service: "svc", Message: "boom"}
				}
				if err := stores[w%2].InsertEntries(ctx, es, logbook.BuildRollup(es)); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	const want = writers * batches * perBatch
	for i, s := range stores {
		bc, err := s.CountsByLevel(ctx, logbook.CountQuery{Res: logbook.ResHour, From: at, To: at.Add(time.Hour), Step: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		if len(bc) != 1 || bc[0].N != want {
			t.Fatalf("store %d counts %+v, want one bucket of %d", i, bc, want)
		}
		bs, err := s.CountsByService(ctx, logbook.CountQuery{Res: logbook.ResMinute, From: at, To: at.Add(time.Hour), Step: time.Minute})
		if err != nil || bs["svc"] != want {
			t.Fatalf("store %d by service %v, %v; want %d", i, bs, err, want)
		}
		top, err := s.TopMessages(ctx, logbook.CountQuery{Res: logbook.ResHour, From: at, To: at.Add(time.Hour), Step: time.Hour}, 10)
		if err != nil || len(top) != 1 || top[0].Count != want {
			t.Fatalf("store %d top %v, %v; want boom × %d", i, top, err, want)
		}
	}
}

func mongoLogStore(s *mongo.Store) (*mongo.LogStore, error) {
	return mongo.NewLogStore(context.Background(), s)
}

// TestLogCountersManyKeys writes two batches that touch the same few
// hundred counters: the second updates existing documents, which
// FerretDB v1 cannot do in one command of 100 statements or more (it
// hangs), so the store must split its updates.
func TestLogCountersManyKeys(t *testing.T) {
	srv := testenv.FerretDB(t)
	l := openLogs(t, open(t, srv))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var want int64
	var from time.Time
	for i := range 2 {
		es := benchEntries(i)
		if i == 0 {
			from = es[0].Time.Add(-time.Hour).Truncate(time.Hour)
		}
		r := logbook.BuildRollup(es)
		if len(r.Counts) < 100 {
			t.Fatalf("a batch touches %d counters; the test needs 100 or more", len(r.Counts))
		}
		if err := l.InsertEntries(ctx, es, r); err != nil {
			t.Fatalf("batch %d: %v", i, err)
		}
		want += int64(len(es))
	}
	bs, err := l.CountsByService(ctx, logbook.CountQuery{Res: logbook.ResHour, From: from, To: from.Add(3 * time.Hour), Step: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	var total int64
	for _, n := range bs {
		total += n
	}
	if total != want {
		t.Fatalf("counted %d lines, want %d", total, want)
	}
}
