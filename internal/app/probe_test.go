package app_test

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/paymon/paymon/internal/testenv"
)

// A real `paymon serve` publishes paymon_dependency_up and
// paymon_payments_pending from the start: no one calls /readyz here and
// no payment is ever pending (issue 12: both were absent).
func TestMetricsExistWithoutReadyz(t *testing.T) {
	p := testenv.StartPaymon(t)
	want := []string{`paymon_dependency_up{dependency="store"} 1`, `paymon_dependency_up{dependency="cache"} 1`,
		`paymon_payments_pending{provider="simulator"} 0`}
	var body string
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		resp, err := http.Get(p.URL + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		body = string(b)
		missing := 0
		for _, w := range want {
			if !strings.Contains(body, w) {
				missing++
			}
		}
		if missing == 0 {
			return
		}
		if time.Now().After(deadline) {
			break
		}
	}
	for _, w := range want {
		if !strings.Contains(body, w) {
			t.Errorf("/metrics lacks %s", w)
		}
	}
}
