package mongo_test

import (
	"context"
	"testing"

	"github.com/paymon/paymon/internal/alert"
	"github.com/paymon/paymon/internal/alert/alerttest"
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
