package shippers

import (
	"strings"
	"testing"
	"time"
)

// TestWinstonHTTPTransport runs testdata/node/winston.js: winston 3's
// stock Http transport with format.json(), format.timestamp() and
// metadata, one line per npm level. Every line arrives with its level and
// fields, and winston reports no warning (it warned "Invalid HTTP Status
// Code: 201" on every line, and refused orderId and http/verbose lines).
// Once one request per line (the transport's default), once in batches,
// which it sends as JSON arrays.
func TestWinstonHTTPTransport(t *testing.T) {
	t.Run("per line", func(t *testing.T) { winstonShip(t, nil) })
	t.Run("batch", func(t *testing.T) { winstonShip(t, []string{"WINSTON_BATCH=1"}) })
}

func winstonShip(t *testing.T, env []string) {
	start := time.Now().Add(-time.Second)
	entries, out := nodeShip(t, "winston.js", env, "winston")
	if strings.Contains(out, "Invalid HTTP Status Code") || strings.Contains(out, "winston warning") || strings.Contains(out, "winston error") {
		t.Fatalf("winston warned:\n%s", out)
	}
	got := nodeByMessage(t, entries)
	want := map[string]struct{ level, orderID, original string }{
		"payment failed":    {"error", "o-1", ""},
		"retrying capture":  {"warn", "o-2", ""},
		"order placed":      {"info", "o-3", ""},
		"POST /orders 201":  {"info", "o-4", "http"},
		"cart recomputed":   {"debug", "o-5", "verbose"},
		"cache miss":        {"debug", "o-6", ""},
		"tick":              {"debug", "o-7", "silly"},
		"shipped via log()": {"info", "o-8", ""},
	}
	if len(entries) != len(want) {
		t.Fatalf("%d entries stored, want %d: %v\nnode output:\n%s", len(entries), len(want), entries, out)
	}
	for msg, w := range want {
		e, ok := got[msg]
		if !ok {
			t.Errorf("%q not stored", msg)
			continue
		}
		attrs, _ := e["attributes"].(map[string]any)
		if e["level"] != w.level || attrs["orderId"] != w.orderID {
			t.Errorf("%q: level %v, orderId %v; want %s, %s", msg, e["level"], attrs["orderId"], w.level, w.orderID)
		}
		orig, has := attrs["level_original"]
		if w.original == "" && has || w.original != "" && orig != w.original {
			t.Errorf("%q: level_original %v, want %q", msg, orig, w.original)
		}
		// format.timestamp() is the entry's time, not an attribute.
		ts, _ := time.Parse(time.RFC3339Nano, e["time"].(string))
		if _, kept := attrs["timestamp"]; kept || ts.Before(start) || ts.After(time.Now()) {
			t.Errorf("%q: time %v (attributes %v)", msg, e["time"], attrs)
		}
	}
	attrs, _ := got["payment failed"]["attributes"].(map[string]any)
	card, _ := attrs["card"].(map[string]any)
	if attrs["amount"] != float64(1299) || card["brand"] != "visa" {
		t.Errorf("nested metadata: %v", attrs)
	}
}
