package httpapi_test

import (
	"encoding/json"
	"testing"

	"github.com/paymon/paymon/internal/apitest"
)

func TestOverviewCountsAndZeroFills(t *testing.T) {
	e := apitest.New(t)
	for _, sim := range []string{"succeed", "succeed", "succeed", "fail"} {
		if st, body := e.Do("POST", "/api/v1/payments", e.AdminToken, `{"amount":250,"currency":"EUR","metadata":{"simulate":"`+sim+`"}}`); st != 201 {
			t.Fatalf("create: %d %s", st, body)
		}
	}
	st, body := e.Do("GET", "/api/v1/overview?window=15m", e.AdminToken, nil)
	var o struct {
		Step     string `json:"step"`
		Payments struct {
			Total       int64            `json:"total"`
			ByStatus    map[string]int64 `json:"by_status"`
			SuccessRate float64          `json:"success_rate"`
			Volume      map[string]int64 `json:"volume"`
			Series      []struct {
				ByStatus map[string]int64 `json:"by_status"`
			} `json:"series"`
		} `json:"payments"`
	}
	if st != 200 || json.Unmarshal(body, &o) != nil {
		t.Fatalf("overview: %d %s", st, body)
	}
	p := o.Payments
	if p.Total != 4 || p.ByStatus["succeeded"] != 3 || p.ByStatus["failed"] != 1 || p.SuccessRate != 0.75 || p.Volume["EUR"] != 750 {
		t.Fatalf("figures: %+v", p)
	}
	if o.Step != "1m0s" || len(p.Series) != 15 {
		t.Fatalf("series: step %s, %d points", o.Step, len(p.Series))
	}
	var sum int64
	for _, s := range p.Series {
		sum += s.ByStatus["succeeded"]
	}
	if sum != 3 {
		t.Fatalf("series sum %d", sum)
	}
	if st, _ := e.Do("GET", "/api/v1/overview?window=1s", e.AdminToken, nil); st != 400 {
		t.Fatalf("bad window: %d", st)
	}
}
