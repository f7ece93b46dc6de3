package sqlite

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/paymon/paymon/internal/auth"
	"github.com/paymon/paymon/internal/metrics"
)

func storeErrors(op string) float64 {
	var m dto.Metric
	_ = metrics.StoreErrors.WithLabelValues("sqlite", op).(prometheus.Metric).Write(&m)
	return m.GetCounter().GetValue()
}

// A client presenting a used refresh token is the client's error (it is
// answered 401 and the family revoked), not a failed store call: it must
// not raise paymon_store_errors_total, which pages an operator.
func TestReusedRefreshTokenIsNoStoreError(t *testing.T) {
	db, err := Open(filepath.Join(t.TempDir(), "paymon.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	ctx := context.Background()
	tok := auth.RefreshToken{Hash: "h1", Family: "f1", UserID: "usr_1", ExpiresAt: time.Now().Add(time.Hour), CreatedAt: time.Now()}
	if err := db.CreateRefreshToken(ctx, tok); err != nil {
		t.Fatal(err)
	}
	if _, err := db.UseRefreshToken(ctx, "h1"); err != nil {
		t.Fatal(err)
	}
	before := storeErrors("use_refresh_token")
	if _, err := db.UseRefreshToken(ctx, "h1"); !errors.Is(err, auth.ErrTokenReused) {
		t.Fatalf("second use: %v, want ErrTokenReused", err)
	}
	if after := storeErrors("use_refresh_token"); after != before {
		t.Fatalf("paymon_store_errors_total{operation=use_refresh_token} went from %v to %v on a client's reuse", before, after)
	}
}
