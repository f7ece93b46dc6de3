package shippers

import (
	"strings"
	"testing"
	"time"
)

// TestPinoDefaultOutput runs testdata/node/pino.mjs: pino 10's default
// output (numeric levels, time in epoch ms, msg, pid, hostname) through
// pino's transport API (testdata/node/paymon-transport.mjs). Every level
// maps onto Paymon's, the fields are kept as attributes.
func TestPinoDefaultOutput(t *testing.T) {
	start := time.Now().Add(-time.Second)
	entries, out := nodeShip(t, "pino.mjs", nil, "pino", "pino-abstract-transport")
	if strings.Contains(out, "paymon answered") || strings.Contains(out, "paymon refused") {
		t.Fatalf("the transport reported a failure:\n%s", out)
	}
	want := map[string]struct{ level, original string }{
		"trace line": {"debug", "10"}, "debug line": {"debug", "20"}, "order placed": {"info", "30"},
		"warn line": {"warn", "40"}, "error line": {"error", "50"}, "fatal line": {"fatal", "60"}, "child line": {"info", "30"},
	}
	if len(entries) != len(want) {
		t.Fatalf("%d entries stored, want %d: %v\nnode output:\n%s", len(entries), len(want), entries, out)
	}
	got := nodeByMessage(t, entries)
	for msg, w := range want {
		e, ok := got[msg]
		if !ok {
			t.Errorf("%q not stored", msg)
			continue
		}
		attrs, _ := e["attributes"].(map[string]any)
		if e["level"] != w.level || attrs["level_original"] != w.original {
			t.Errorf("%q: level %v (original %v), want %s (%s)", msg, e["level"], attrs["level_original"], w.level, w.original)
		}
		if _, ok := attrs["pid"].(float64); !ok || attrs["hostname"] == "" || attrs["hostname"] == nil {
			t.Errorf("%q: pid/hostname not kept: %v", msg, attrs)
		}
		// pino's time (epoch ms) is the entry's time.
		ts, _ := time.Parse(time.RFC3339Nano, e["time"].(string))
		if _, kept := attrs["time"]; kept || ts.Before(start) || ts.After(time.Now()) {
			t.Errorf("%q: time %v (attributes %v)", msg, e["time"], attrs)
		}
	}
	if a, _ := got["order placed"]["attributes"].(map[string]any); a["orderId"] != "o-1" || a["amount"] != float64(1299) {
		t.Errorf("merged object not kept: %v", a)
	}
	if a, _ := got["child line"]["attributes"].(map[string]any); a["module"] != "ledger" {
		t.Errorf("child bindings not kept: %v", a)
	}
	if a, _ := got["error line"]["attributes"].(map[string]any); a["err"] == nil {
		t.Errorf("serialized error not kept: %v", a)
	}
}
