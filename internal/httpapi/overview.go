package httpapi

import (
	"net/http"
	"sort"
	"time"

	"github.com/paymon/paymon/internal/metrics"
)

type overviewSeries struct {
	Time             time.Time        `json:"time"`
	ByStatus         map[string]int64 `json:"by_status"`
	AmountByCurrency map[string]int64 `json:"amount_by_currency"`
}

// overview answers the dashboard's first screen from the per-minute
// payment roll-ups, never from a scan of payments.
func (s *server) overview(w http.ResponseWriter, r *http.Request) {
	window := time.Hour
	if v := r.URL.Query().Get("window"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < time.Minute || d > 7*24*time.Hour {
			s.writeError(w, r, errBadRequest("invalid_parameter", "window must be a duration from 1m to 168h"))
			return
		}
		window = d
	}
	to := time.Now().UTC().Truncate(time.Minute).Add(time.Minute)
	from := to.Add(-window)
	incs, err := s.Payments.Stats(r.Context(), from, to)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	byStatus := map[string]int64{}
	volume := map[string]int64{}
	var total int64
	buckets := map[time.Time]*overviewSeries{}
	for _, in := range incs {
		b := buckets[in.Bucket]
		if b == nil {
			b = &overviewSeries{Time: in.Bucket, ByStatus: map[string]int64{}, AmountByCurrency: map[string]int64{}}
			buckets[in.Bucket] = b
		}
		switch in.Kind {
		case "created":
			total += in.Count
			b.AmountByCurrency[in.Currency] += in.Amount
		case "refund":
		default:
			byStatus[in.Kind] += in.Count
			b.ByStatus[in.Kind] += in.Count
			if in.Kind == "succeeded" {
				volume[in.Currency] += in.Amount
			}
		}
	}
	series := make([]overviewSeries, 0, len(buckets))
	for _, b := range buckets {
		series = append(series, *b)
	}
	sort.Slice(series, func(i, j int) bool { return series[i].Time.Before(series[j].Time) })
	var rate *float64
	if done := byStatus["succeeded"] + byStatus["failed"]; done > 0 {
		v := float64(byStatus["succeeded"]) / float64(done)
		rate = &v
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"from": from, "to": to, "step": "1m",
		"payments": map[string]any{
			"total": total, "by_status": byStatus, "success_rate": rate, "volume": volume, "series": series,
		},
		"api_latency_p99_seconds": metrics.HistogramQuantile(metrics.HTTPDuration, 0.99),
		"alerts_firing":           metrics.GaugeSum(metrics.AlertsFiring),
	})
}
