package shippers

import (
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/paymon/paymon/internal/testenv"
)

// Go's log/slog JSON output, posted as it is, arrives with its levels,
// messages and attributes (the program is the one docs/shippers.md shows).
func TestSlogJSONHandler(t *testing.T) {
	p := testenv.StartPaymon(t)
	_, key := p.APIKey("slog", "ingest")
	cmd := exec.Command("go", "run", "./"+filepath.Join("internal", "shippers", "testdata", "slog"))
	cmd.Dir = testenv.Root()
	cmd.Env = append(cmd.Environ(), "PAYMON_URL="+p.URL, "PAYMON_API_KEY="+key)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("slog example: %v\n%s", err, out)
	}
	got := map[string]map[string]any{}
	for _, e := range p.SearchLogs(p.AdminToken(), "service=checkout") {
		got[e["message"].(string)] = e
	}
	want := map[string]string{"cart loaded": "debug", "payment started": "info", "slow provider": "warn", "payment declined": "error"}
	if len(got) != len(want) {
		t.Fatalf("stored %d entries, want %d: %v", len(got), len(want), got)
	}
	for msg, level := range want {
		if e, ok := got[msg]; !ok || e["level"] != level {
			t.Errorf("%q: %v, want level %s", msg, e, level)
		}
	}
	attrs, _ := got["payment started"]["attributes"].(map[string]any)
	if attrs["order_id"] != "A-1001" || attrs["amount"] != float64(1050) {
		t.Errorf("attributes of payment started: %v", attrs)
	}
	card, _ := got["payment declined"]["attributes"].(map[string]any)["card"].(map[string]any)
	if card["brand"] != "visa" {
		t.Errorf("nested group lost: %v", got["payment declined"]["attributes"])
	}
}
