package sqlite

import (
	"path/filepath"
	"testing"

	"github.com/paymon/paymon/internal/auth"
	"github.com/paymon/paymon/internal/auth/authtest"
	"github.com/paymon/paymon/internal/payment"
	"github.com/paymon/paymon/internal/payment/paymenttest"
)

func openConformance(t *testing.T) *DB {
	t.Helper()
	db, err := Open(filepath.Join(t.TempDir(), "paymon.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestPaymentStoreConformance(t *testing.T) {
	paymenttest.RunStoreTests(t, func(t *testing.T) payment.Store { return openConformance(t) })
}

func TestAuthStoreConformance(t *testing.T) {
	authtest.RunStoreTests(t, func(t *testing.T) auth.Store { return openConformance(t) })
}
