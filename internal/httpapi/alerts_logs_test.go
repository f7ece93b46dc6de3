package httpapi_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/paymon/paymon/internal/apitest"
)

// An error-log spike fires ErrorLogSpike, and the transition is written
// into Paymon's own log store.
func TestErrorLogSpikeFiresAndIsLogged(t *testing.T) {
	e := apitest.New(t, "PAYMON_ALERT_ERROR_LOG_THRESHOLD=5")
	eng := e.App.Alerts
	read := subscribeAlerts(t, e)
	runEngine(t, eng)

	var batch []map[string]any
	for i := 0; i < 8; i++ {
		batch = append(batch, map[string]any{"level": "error", "service": "checkout", "message": "upstream timeout"})
	}
	if st, body := e.Do("POST", "/api/v1/logs", e.AdminToken, batch); st/100 != 2 {
		t.Fatalf("ingest: %d %s", st, body)
	}
	since := eng.Evaluations()
	untilRounds(t, eng, since, 2, "ErrorLogSpike firing", func() bool { return len(firing(t, e, "ErrorLogSpike")) == 1 })
	if ev, a := nextAlert(t, read, "ErrorLogSpike"); ev != "alert.fired" || a.Severity != "warning" {
		t.Fatalf("streamed %s %+v", ev, a)
	}

	// The log store write is queued (it never delays the engine): poll.
	deadline := time.Now().Add(10 * time.Second)
	for {
		st, body := e.Do("GET", "/api/v1/logs?service=paymon&level=warn&q=ErrorLogSpike", e.AdminToken, nil)
		var out struct {
			Data []struct {
				Level, Service, Message string
				Attributes              map[string]any
			}
		}
		_ = json.Unmarshal(body, &out)
		if st == 200 && len(out.Data) > 0 {
			l := out.Data[0]
			if l.Level != "warn" || l.Service != "paymon" || !strings.Contains(l.Message, "ErrorLogSpike firing") || l.Attributes["rule"] != "ErrorLogSpike" {
				t.Fatalf("log entry = %+v", l)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no log entry for the alert: %d %s", st, body)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
