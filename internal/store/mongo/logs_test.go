package mongo_test

import (
	"context"
	"testing"

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
