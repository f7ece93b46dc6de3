package loadtest

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/paymon/paymon/internal/apitest"
)

// BenchmarkCreatePayments measures POST /api/v1/payments on the embedded
// default (SQLite with synchronous=FULL, in-process cache, simulator) with
// 50 concurrent clients over real loopback HTTP, each create durable before
// its 201. Every request carries its own Idempotency-Key, as real clients do.
func BenchmarkCreatePayments(b *testing.B) {
	e := apitest.New(b, "PAYMON_SIMULATOR_FAILURE_RATE=0")
	const clients = 50
	dur := Duration(15 * time.Second)
	tr := &http.Transport{MaxIdleConnsPerHost: clients, MaxConnsPerHost: clients}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	body := []byte(`{"amount":1999,"currency":"EUR","description":"bench","metadata":{"simulate":"succeed"}}`)
	var lat Latencies
	var failed atomic.Int64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		deadline := time.Now().Add(dur)
		start := time.Now()
		var wg sync.WaitGroup
		for c := 0; c < clients; c++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for n := 0; time.Now().Before(deadline); n++ {
					req, _ := http.NewRequest("POST", e.URL+"/api/v1/payments", bytes.NewReader(body))
					req.Header.Set("Authorization", "Bearer "+e.AdminToken)
					req.Header.Set("Content-Type", "application/json")
					req.Header.Set("Idempotency-Key", fmt.Sprintf("bench-%d-%d-%d", i, c, n))
					t0 := time.Now()
					resp, err := client.Do(req)
					if err != nil {
						failed.Add(1)
						continue
					}
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != 201 {
						failed.Add(1)
						continue
					}
					lat.Add(time.Since(t0))
				}
			}()
		}
		wg.Wait()
		elapsed := time.Since(start)
		b.ReportMetric(float64(lat.Count())/elapsed.Seconds(), "creates/s")
	}
	b.ReportMetric(lat.Percentile(50), "p50_ms")
	b.ReportMetric(lat.Percentile(99), "p99_ms")
	b.ReportMetric(float64(failed.Load()), "errors")
}
