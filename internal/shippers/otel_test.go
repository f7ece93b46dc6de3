package shippers

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlplog/otlploghttp"
	"go.opentelemetry.io/otel/log"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	"go.opentelemetry.io/otel/sdk/resource"
	"go.opentelemetry.io/otel/trace"

	"github.com/paymon/paymon/internal/testenv"
)

// otelErrors collects what the SDK reports through otel.Handle (export
// failures, partial successes).
type otelErrors struct {
	mu   sync.Mutex
	errs []error
}

func (o *otelErrors) Handle(err error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.errs = append(o.errs, err)
}

func (o *otelErrors) all() []error {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]error(nil), o.errs...)
}

// otelAttr reads one attribute of a stored entry.
func otelAttr(e map[string]any, k string) any {
	a, _ := e["attributes"].(map[string]any)
	return a[k]
}

// TestOTelSDKExporter ships records through the OpenTelemetry Go SDK's
// OTLP/HTTP log exporter (protobuf, gzip), batched as an application
// would, and reads them back.
func TestOTelSDKExporter(t *testing.T) {
	p := testenv.StartPaymon(t)
	_, key := p.APIKey("otel sdk", "ingest")
	errs := &otelErrors{}
	otel.SetErrorHandler(errs)

	ctx := context.Background()
	u, _ := url.Parse(p.URL)
	exp, err := otlploghttp.New(ctx, otlploghttp.WithEndpoint(u.Host), otlploghttp.WithInsecure(),
		otlploghttp.WithCompression(otlploghttp.GzipCompression),
		otlploghttp.WithHeaders(map[string]string{"Authorization": "Bearer " + key}))
	if err != nil {
		t.Fatal(err)
	}
	res := resource.NewSchemaless(attribute.String("service.name", "otel-sdk-checkout"), attribute.String("deployment.environment", "test"))
	provider := sdklog.NewLoggerProvider(sdklog.WithResource(res), sdklog.WithProcessor(sdklog.NewBatchProcessor(exp)))
	logger := provider.Logger("checkout/payments", log.WithInstrumentationVersion("1.4.0"))

	traceID, _ := trace.TraceIDFromHex("4bf92f3577b34da6a3ce929d0e0e4736")
	spanID, _ := trace.SpanIDFromHex("00f067aa0ba902b7")
	traced := trace.ContextWithSpanContext(ctx, trace.NewSpanContext(trace.SpanContextConfig{TraceID: traceID, SpanID: spanID, TraceFlags: trace.FlagsSampled}))

	levels := []struct {
		sev  log.Severity
		want string
	}{{log.SeverityTrace, "debug"}, {log.SeverityDebug, "debug"}, {log.SeverityInfo, "info"}, {log.SeverityWarn, "warn"}, {log.SeverityError, "error"}, {log.SeverityFatal, "fatal"}}
	now := time.Now()
	for i, l := range levels {
		var r log.Record
		r.SetTimestamp(now.Add(time.Duration(i) * time.Millisecond))
		r.SetSeverity(l.sev)
		r.SetSeverityText(l.sev.String())
		r.SetBody(attribute.StringValue("otel record " + strconv.Itoa(i)))
		r.AddAttributes(attribute.String("order.id", "o-"+strconv.Itoa(i)), attribute.Int("attempt", i), attribute.Map("card", attribute.String("brand", "visa")))
		logger.Emit(traced, r)
	}
	// A record without a body: refused, and the SDK must hear so through
	// the partial success it parses from the response.
	var empty log.Record
	empty.SetSeverity(log.SeverityInfo)
	logger.Emit(ctx, empty)
	// Shutdown flushes the batch and returns what the export reported.
	if err := provider.Shutdown(ctx); err != nil {
		errs.Handle(err)
	}

	got := p.SearchLogs(p.AdminToken(), "service=otel-sdk-checkout")
	if len(got) != len(levels) {
		t.Fatalf("stored %d records, want %d: %v", len(got), len(levels), got)
	}
	byMsg := map[string]map[string]any{}
	for _, e := range got {
		byMsg[e["message"].(string)] = e
	}
	for i, l := range levels {
		e := byMsg["otel record "+strconv.Itoa(i)]
		if e == nil {
			t.Errorf("record %d missing", i)
			continue
		}
		if e["level"] != l.want || e["trace_id"] != traceID.String() || otelAttr(e, "span_id") != spanID.String() {
			t.Errorf("record %d (%s) = level %v trace %v span %v, want %s", i, l.sev, e["level"], e["trace_id"], otelAttr(e, "span_id"), l.want)
		}
		if otelAttr(e, "order.id") != "o-"+strconv.Itoa(i) || otelAttr(e, "attempt") != float64(i) || otelAttr(e, "deployment.environment") != "test" ||
			otelAttr(e, "otel.scope.name") != "checkout/payments" {
			t.Errorf("record %d attributes = %v", i, e["attributes"])
		}
		if card, _ := otelAttr(e, "card").(map[string]any); card["brand"] != "visa" {
			t.Errorf("record %d nested attribute = %v", i, otelAttr(e, "card"))
		}
	}
	var partial bool
	for _, err := range errs.all() {
		if strings.Contains(err.Error(), "partial success") && strings.Contains(err.Error(), "(1 logs rejected)") {
			partial = true
		} else {
			t.Errorf("exporter error: %v", err)
		}
	}
	if !partial {
		t.Errorf("the exporter did not report the refused record as a partial success; it reported %v", errs.all())
	}
}

// TestOTLPJSONRequest sends OTLP's JSON encoding as the OpenTelemetry
// Collector's otlphttp exporter does with encoding: json (the Collector
// does not run here).
func TestOTLPJSONRequest(t *testing.T) {
	p := testenv.StartPaymon(t)
	_, key := p.APIKey("otlp json", "ingest")
	ns := strconv.FormatInt(time.Now().UnixNano(), 10)
	body := `{"resourceLogs":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"otlp-json-svc"}}]},
	 "scopeLogs":[{"scope":{"name":"collector"},"logRecords":[
	  {"timeUnixNano":"` + ns + `","severityNumber":17,"severityText":"Error","body":{"stringValue":"db down"},
	   "traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174","attributes":[{"key":"db","value":{"stringValue":"orders"}}]}]}]}]}`
	status, resp := otelPost(t, p.URL+"/v1/logs", key, body)
	if status != 200 || strings.TrimSpace(resp) != "{}" {
		t.Fatalf("export: %d %s", status, resp)
	}
	got := p.SearchLogs(p.AdminToken(), "service=otlp-json-svc")
	if len(got) != 1 || got[0]["level"] != "error" || got[0]["trace_id"] != "5b8efff798038103d269b633813fc60c" || otelAttr(got[0], "db") != "orders" {
		t.Errorf("stored = %v", got)
	}
}

func otelPost(t *testing.T, url, key, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest("POST", url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}
