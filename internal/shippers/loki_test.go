package shippers

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/grafana/loki-client-go/loki"
	"github.com/grafana/loki/pkg/push"
	"github.com/prometheus/common/config"
	"github.com/prometheus/common/model"

	"github.com/paymon/paymon/internal/testenv"
)

// lokiLog keeps what the Loki client logs (it reports failed pushes only
// there).
type lokiLog struct {
	mu    sync.Mutex
	lines []string
}

func (l *lokiLog) Log(kv ...any) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, fmt.Sprint(kv...))
	return nil
}

func (l *lokiLog) text() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

// lokiPush sends lines through Grafana's Go Loki client (the push client
// Promtail was built on): protobuf + snappy, or JSON with encodeJSON.
func lokiPush(t *testing.T, p *testenv.Paymon, key, service string, encodeJSON bool) {
	t.Helper()
	cfg, err := loki.NewDefaultConfig(p.URL + "/loki/api/v1/push")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Client.BearerToken = config.Secret(key)
	cfg.TenantID = "team-" + service
	cfg.EncodeJson = encodeJSON
	cfg.BatchWait = 50 * time.Millisecond
	logs := &lokiLog{}
	c, err := loki.NewWithLogger(cfg, logs)
	if err != nil {
		t.Fatal(err)
	}
	base := time.Now().Add(-time.Minute)
	levels := []string{"debug", "info", "notice", "warning", "error", "critical"}
	for i, lvl := range levels {
		ls := model.LabelSet{"service_name": model.LabelValue(service), "level": model.LabelValue(lvl), "env": "test"}
		md := push.LabelsAdapter{{Name: "trace_id", Value: fmt.Sprintf("trace-%d", i)}, {Name: "order_id", Value: fmt.Sprintf("o-%d", i)}}
		if err := c.HandleWithMetadata(ls, base.Add(time.Duration(i)*time.Millisecond), fmt.Sprintf("loki line %d", i), md); err != nil {
			t.Fatal(err)
		}
	}
	c.Stop() // sends what is batched, and waits
	if out := logs.text(); strings.Contains(out, "error") {
		t.Errorf("the Loki client reported: %s", out)
	}
}

// lokiCheck reads the lines back; the client's JSON encoding (Loki's
// legacy JSON shape) drops structured metadata, so only withMetadata
// expects the trace and order ids.
func lokiCheck(t *testing.T, p *testenv.Paymon, service string, withMetadata bool) {
	t.Helper()
	want := []string{"debug", "info", "info", "warn", "error", "fatal"}
	got := p.SearchLogs(p.AdminToken(), "service="+service)
	if len(got) != len(want) {
		t.Fatalf("%s: stored %d lines, want %d: %v", service, len(got), len(want), got)
	}
	byMsg := map[string]map[string]any{}
	for _, e := range got {
		byMsg[e["message"].(string)] = e
	}
	for i, lvl := range want {
		e := byMsg[fmt.Sprintf("loki line %d", i)]
		if e == nil {
			t.Errorf("%s: line %d missing", service, i)
			continue
		}
		if e["level"] != lvl || otelAttr(e, "env") != "test" || otelAttr(e, "tenant") != "team-"+service ||
			withMetadata && (e["trace_id"] != fmt.Sprintf("trace-%d", i) || otelAttr(e, "order_id") != fmt.Sprintf("o-%d", i)) {
			t.Errorf("%s: line %d = %v, want level %s", service, i, e, lvl)
		}
	}
}

// TestLokiClientProtobuf pushes through the real client's default
// encoding, protobuf + snappy, as Promtail and Alloy send.
func TestLokiClientProtobuf(t *testing.T) {
	p := testenv.StartPaymon(t)
	_, key := p.APIKey("loki protobuf", "ingest")
	lokiPush(t, p, key, "loki-client-pb", false)
	lokiCheck(t, p, "loki-client-pb", true)
}

// TestLokiClientJSON pushes through the same client's JSON encoding
// (Loki's legacy JSON push: a label string and entries with ts and line).
func TestLokiClientJSON(t *testing.T) {
	p := testenv.StartPaymon(t)
	_, key := p.APIKey("loki json", "ingest")
	lokiPush(t, p, key, "loki-client-json", true)
	lokiCheck(t, p, "loki-client-json", false)
}
