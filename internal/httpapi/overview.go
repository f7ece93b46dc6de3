package httpapi

import (
	"net/http"
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
	// One point per step, zeros included, so charts do not jump over
	// quiet minutes; long windows use hourly points.
	step := time.Minute
	if window > 24*time.Hour {
		step = time.Hour
	}
	to := time.Now().UTC().Truncate(step).Add(step)
	from := to.Add(-window).Truncate(step)
	incs, err := s.Payments.Stats(r.Context(), from, to)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	byStatus := map[string]int64{}
	volume := map[string]int64{}
	var total int64
	series := make([]overviewSeries, 0, int(to.Sub(from)/step))
	for t := from; t.Before(to); t = t.Add(step) {
		series = append(series, overviewSeries{Time: t, ByStatus: map[string]int64{}, AmountByCurrency: map[string]int64{}})
	}
	for _, in := range incs {
		i := int(in.Bucket.Sub(from) / step)
		if i < 0 || i >= len(series) {
			continue
		}
		b := &series[i]
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
	var rate *float64
	if done := byStatus["succeeded"] + byStatus["failed"]; done > 0 {
		v := float64(byStatus["succeeded"]) / float64(done)
		rate = &v
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"from": from, "to": to, "step": step.String(),
		"payments": map[string]any{
			"total": total, "by_status": byStatus, "success_rate": rate, "volume": volume, "series": series,
		},
		"api_latency_p99_seconds": metrics.HistogramQuantile(metrics.HTTPDuration, 0.99),
		"alerts_firing":           metrics.GaugeSum(metrics.AlertsFiring),
	})
}
