// Package metrics defines every Prometheus metric Paymon exports, in this
// one file, so names, labels and buckets are reviewed together and the
// dashboards and alert rules in deploy/ have one place to check against.
// Labels never carry ids or free text: cardinality stays bounded.
package metrics

import (
	"sort"

	dto "github.com/prometheus/client_model/go"
	"runtime"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Registry holds every Paymon metric plus the Go and process collectors.
var Registry = prometheus.NewRegistry()

var latencyBuckets = []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}

var (
	BuildInfo = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "paymon_build_info", Help: "Build identity; always 1.",
	}, []string{"version", "goversion"})

	HTTPRequests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "paymon_http_requests_total", Help: "HTTP requests served, by route pattern, method and status code.",
	}, []string{"route", "method", "code"})
	HTTPDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "paymon_http_request_duration_seconds", Help: "HTTP request latency.", Buckets: latencyBuckets,
	}, []string{"route", "method", "code"})

	PaymentsCreated = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "paymon_payments_created_total", Help: "Payments created.",
	}, []string{"provider", "currency"})
	Payments = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "paymon_payments_total", Help: "Payments entering a status.",
	}, []string{"provider", "status", "currency"})
	PaymentAmount = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "paymon_payment_amount", Help: "Amounts of created payments, in major units of their currency.",
		Buckets: []float64{1, 5, 10, 25, 50, 100, 250, 500, 1000, 5000, 10000, 100000},
	}, []string{"currency"})
	PaymentsPending = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "paymon_payments_pending", Help: "Payments currently pending, as last counted by the reconciler.",
	}, []string{"provider"})
	Refunds = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "paymon_refunds_total", Help: "Refunds made.",
	}, []string{"provider", "currency"})
	ProviderDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "paymon_provider_request_duration_seconds", Help: "Calls to payment providers.", Buckets: latencyBuckets,
	}, []string{"provider", "operation", "outcome"})

	LogsIngested = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "paymon_logs_ingested_total", Help: "Log entries stored, by level and by the format they came in (json, loki, otlp, elastic, syslog, paymon).",
	}, []string{"level", "format"})
	LogIngestBatchSize = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "paymon_log_ingest_batch_size", Help: "Log entries per store write.",
		Buckets: prometheus.ExponentialBuckets(1, 4, 9),
	})

	StreamClients = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "paymon_stream_clients", Help: "Connected stream clients.",
	}, []string{"transport"})
	StreamDropped = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "paymon_stream_clients_dropped_total", Help: "Stream clients cut off.",
	}, []string{"reason"})
	StreamPublished = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "paymon_stream_events_published_total", Help: "Events published to the stream.",
	}, []string{"topic"})

	StoreOperationDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "paymon_store_operation_duration_seconds", Help: "Store calls, including the wait for group commit.", Buckets: latencyBuckets,
	}, []string{"store", "operation"})
	StoreErrors = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "paymon_store_errors_total", Help: "Failed store calls.",
	}, []string{"store", "operation"})
	StoreBatchSize = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "paymon_store_batch_size", Help: "Writes committed together by the embedded store's group commit.",
		Buckets: prometheus.ExponentialBuckets(1, 2, 10),
	})
	CacheOperationDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "paymon_cache_operation_duration_seconds", Help: "Cache calls.", Buckets: latencyBuckets,
	}, []string{"cache", "operation"})
	CacheErrors = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "paymon_cache_errors_total", Help: "Failed cache calls.",
	}, []string{"cache", "operation"})
	DependencyUp = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "paymon_dependency_up", Help: "1 when the dependency answered its last check, 0 when not.",
	}, []string{"dependency"})

	AlertsFiring = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "paymon_alerts_firing", Help: "1 while the alert engine's rule fires.",
	}, []string{"rule", "severity"})
	// PaymentFailureStreak carries the engine's own streak count, so the
	// Prometheus rule of the same name uses the engine's definition ("the
	// last N finished payments all failed") instead of approximating it
	// from counters.
	PaymentFailureStreak = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "paymon_payment_failure_streak",
		Help: "Failed payments of the provider since its last success (newest first, pending and canceled skipped), counted up to the PaymentFailureStreak threshold at each alert evaluation.",
	}, []string{"provider"})

	WebhookDeliveries = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "paymon_webhook_deliveries_total", Help: "Merchant webhook delivery attempts, by result (delivered, failed, gave_up).",
	}, []string{"result"})
	WebhookDeliveryDuration = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "paymon_webhook_delivery_duration_seconds", Help: "Merchant webhook delivery attempts, from request to answer.", Buckets: latencyBuckets,
	})
	WebhookQueueDepth = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "paymon_webhook_queue_depth", Help: "Merchant webhook deliveries waiting (due or retrying), as last counted.",
	})
	WebhookOldestFailing = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "paymon_webhook_oldest_failing_seconds", Help: "Age of the oldest webhook delivery still retrying after a failure; 0 when none.",
	})
)

func init() {
	Registry.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		BuildInfo, HTTPRequests, HTTPDuration,
		PaymentsCreated, Payments, PaymentAmount, PaymentsPending, Refunds, ProviderDuration,
		LogsIngested, LogIngestBatchSize,
		StreamClients, StreamDropped, StreamPublished,
		StoreOperationDuration, StoreErrors, StoreBatchSize, CacheOperationDuration, CacheErrors, DependencyUp,
		AlertsFiring, PaymentFailureStreak,
		WebhookDeliveries, WebhookDeliveryDuration, WebhookQueueDepth, WebhookOldestFailing,
	)
}

// SetBuildInfo records the running version.
func SetBuildInfo(version string) {
	BuildInfo.WithLabelValues(version, runtime.Version()).Set(1)
}

// HistogramQuantile estimates quantile q over every series of h since start,
// by linear interpolation inside the bucket, as Prometheus does. It is for
// the dashboard's headline figure; Prometheus gives the windowed value.
func HistogramQuantile(h *prometheus.HistogramVec, q float64) float64 {
	ch := make(chan prometheus.Metric, 256)
	go func() { h.Collect(ch); close(ch) }()
	var bounds []float64
	counts := map[float64]uint64{}
	var total uint64
	for m := range ch {
		var pb dto.Metric
		if m.Write(&pb) != nil || pb.Histogram == nil {
			continue
		}
		total += pb.Histogram.GetSampleCount()
		for _, b := range pb.Histogram.Bucket {
			ub := b.GetUpperBound()
			if _, ok := counts[ub]; !ok {
				bounds = append(bounds, ub)
			}
			counts[ub] += b.GetCumulativeCount()
		}
	}
	if total == 0 {
		return 0
	}
	sort.Float64s(bounds)
	rank := q * float64(total)
	prevBound, prevCount := 0.0, uint64(0)
	for _, ub := range bounds {
		c := counts[ub]
		if float64(c) >= rank {
			if c == prevCount {
				return ub
			}
			return prevBound + (ub-prevBound)*(rank-float64(prevCount))/float64(c-prevCount)
		}
		prevBound, prevCount = ub, c
	}
	return prevBound
}

// GaugeSum adds up every series of a gauge vector.
func GaugeSum(g *prometheus.GaugeVec) float64 {
	ch := make(chan prometheus.Metric, 64)
	go func() { g.Collect(ch); close(ch) }()
	var sum float64
	for m := range ch {
		var pb dto.Metric
		if m.Write(&pb) == nil && pb.Gauge != nil {
			sum += pb.Gauge.GetValue()
		}
	}
	return sum
}
