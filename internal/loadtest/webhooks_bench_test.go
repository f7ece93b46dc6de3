package loadtest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/paymon/paymon/internal/apitest"
)

// BenchmarkWebhookDeliveries measures merchant webhooks on the embedded
// default: 10,000 payment changes (5,000 simulator creates, each a
// payment.created and a payment.succeeded) delivered to 10 local
// endpoints that all subscribe to every event, so 100,000 deliveries. It
// reports deliveries/s and the p50/p99 from the change (the event's time)
// to the receiver's 2xx, and creates/s with the 10 endpoints receiving
// against creates/s in the same run with no endpoint: the outbox and the
// worker's cost on the create path.
func BenchmarkWebhookDeliveries(b *testing.B) {
	e := apitest.New(b, "PAYMON_SIMULATOR_FAILURE_RATE=0", "PAYMON_WEBHOOK_ALLOW_PRIVATE=true")
	ctx, cancel := context.WithCancel(context.Background())
	worker := make(chan struct{})
	go func() { defer close(worker); e.App.Webhooks.Run(ctx) }()
	defer func() { cancel(); <-worker }()

	const endpoints, clients = 10, 50
	creates := 5000
	if v, err := strconv.Atoi(os.Getenv("PAYMON_BENCH_WEBHOOK_CREATES")); err == nil && v > 0 {
		creates = v // a shorter run, for profiling
	}
	var lat Latencies
	var received atomic.Int64
	var lastAt atomic.Int64
	recv := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var ev struct {
			CreatedAt time.Time `json:"created_at"`
		}
		if json.Unmarshal(body, &ev) == nil {
			lat.Add(time.Since(ev.CreatedAt))
		}
		received.Add(1)
		lastAt.Store(time.Now().UnixNano())
		w.WriteHeader(http.StatusNoContent)
	})
	tr := &http.Transport{MaxIdleConnsPerHost: clients, MaxConnsPerHost: clients}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	body := []byte(`{"amount":1999,"currency":"EUR","metadata":{"simulate":"succeed"}}`)
	var failed atomic.Int64
	run := func(phase string, n int) float64 {
		var next atomic.Int64
		start := time.Now()
		var wg sync.WaitGroup
		for c := 0; c < clients; c++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := next.Add(1); i <= int64(n); i = next.Add(1) {
					req, _ := http.NewRequest("POST", e.URL+"/api/v1/payments", bytes.NewReader(body))
					req.Header.Set("Authorization", "Bearer "+e.AdminToken)
					req.Header.Set("Idempotency-Key", fmt.Sprintf("%s-%d", phase, i))
					resp, err := client.Do(req)
					if err != nil {
						failed.Add(1)
						continue
					}
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != 201 {
						failed.Add(1)
					}
				}
			}()
		}
		wg.Wait()
		return float64(n) / time.Since(start).Seconds()
	}
	for i := 0; i < b.N; i++ {
		baseline := run(fmt.Sprintf("idle%d", i), creates)
		for k := 0; k < endpoints; k++ {
			srv := httptest.NewServer(recv)
			defer srv.Close()
			req, _ := http.NewRequest("POST", e.URL+"/api/v1/webhook-endpoints", strings.NewReader(fmt.Sprintf(`{"url":%q}`, srv.URL)))
			req.Header.Set("Authorization", "Bearer "+e.AdminToken)
			resp, err := client.Do(req)
			if err != nil || resp.StatusCode != 201 {
				b.Fatalf("create endpoint: %v %v", err, resp)
			}
			resp.Body.Close()
		}
		received.Store(0)
		start := time.Now()
		withHooks := run(fmt.Sprintf("hooks%d", i), creates)
		want := int64(2 * creates * endpoints)
		deadline := time.Now().Add(10 * time.Minute)
		for received.Load() < want && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
		}
		if got := received.Load(); got < want {
			b.Fatalf("received %d of %d deliveries", got, want)
		}
		b.ReportMetric(float64(want)/(time.Duration(lastAt.Load()-start.UnixNano())).Seconds(), "deliveries/s")
		b.ReportMetric(baseline, "creates/s_no_endpoint")
		b.ReportMetric(withHooks, "creates/s_10_endpoints")
		b.ReportMetric(withHooks/baseline, "create_ratio")
	}
	b.ReportMetric(lat.Percentile(50), "p50_ms")
	b.ReportMetric(lat.Percentile(99), "p99_ms")
	b.ReportMetric(float64(failed.Load()), "errors")
}
