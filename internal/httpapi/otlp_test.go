package httpapi_test

import (
	"encoding/hex"
	"encoding/json"
	"io"
	"strconv"
	"strings"
	"testing"
	"time"

	collogs "go.opentelemetry.io/proto/otlp/collector/logs/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	logspb "go.opentelemetry.io/proto/otlp/logs/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	"google.golang.org/protobuf/proto"

	"github.com/paymon/paymon/internal/apitest"
)

func otlpStr(k, v string) *commonpb.KeyValue {
	return &commonpb.KeyValue{Key: k, Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: v}}}
}

func TestOTLPLogsProtobuf(t *testing.T) {
	e := apitest.New(t)
	at := time.Now().Add(-time.Minute).Truncate(time.Millisecond)
	trace, _ := hex.DecodeString("0af7651916cd43dd8448eb211c80319c")
	span, _ := hex.DecodeString("b7ad6b7169203331")
	req := &collogs.ExportLogsServiceRequest{ResourceLogs: []*logspb.ResourceLogs{{
		Resource: &resourcepb.Resource{Attributes: []*commonpb.KeyValue{otlpStr("service.name", "otlp-pb"), otlpStr("host.name", "web-1")}},
		ScopeLogs: []*logspb.ScopeLogs{{
			Scope: &commonpb.InstrumentationScope{Name: "checkout/lib", Version: "1.2.0"},
			LogRecords: []*logspb.LogRecord{
				{TimeUnixNano: uint64(at.UnixNano()), SeverityNumber: logspb.SeverityNumber_SEVERITY_NUMBER_ERROR, SeverityText: "ERROR",
					Body: &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: "charge failed"}}, TraceId: trace, SpanId: span,
					Attributes: []*commonpb.KeyValue{otlpStr("host.name", "record wins"), {Key: "attempt", Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_IntValue{IntValue: 3}}}}},
				{TimeUnixNano: uint64(at.UnixNano()) + 1e6, SeverityText: "Warning",
					Body: &commonpb.AnyValue{Value: &commonpb.AnyValue_KvlistValue{KvlistValue: &commonpb.KeyValueList{Values: []*commonpb.KeyValue{otlpStr("k", "v")}}}}},
			},
		}},
	}}}
	raw, err := proto.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	resp := e.Request("POST", "/v1/logs", e.AdminToken, gz(string(raw)), "Content-Type: application/x-protobuf", "Content-Encoding: gzip")
	defer resp.Body.Close()
	var out collogs.ExportLogsServiceResponse
	b := readAll(t, resp.Body)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/x-protobuf" || proto.Unmarshal(b, &out) != nil {
		t.Fatalf("export: %d %s %q", resp.StatusCode, resp.Header.Get("Content-Type"), b)
	}
	if out.PartialSuccess != nil {
		t.Errorf("partial success on a clean request: %v", out.PartialSuccess)
	}
	got := pushFind(t, e, "otlp-pb")
	if len(got) != 2 {
		t.Fatalf("stored %d, want 2", len(got))
	}
	r := got[0]
	if r["message"] != "charge failed" || r["level"] != "error" || r["trace_id"] != "0af7651916cd43dd8448eb211c80319c" {
		t.Errorf("record = %v", r)
	}
	for k, want := range map[string]any{"span_id": "b7ad6b7169203331", "host.name": "record wins", "attempt": 3.0, "otel.scope.name": "checkout/lib", "otel.scope.version": "1.2.0"} {
		if got := pushAttr(r, k); got != want {
			t.Errorf("attribute %s = %#v, want %#v", k, got, want)
		}
	}
	if pushAttr(r, "service.name") != nil || pushAttr(r, "level_original") != nil {
		t.Errorf("service.name is the service and ERROR the level, not attributes: %v", r["attributes"])
	}
	w := got[1]
	if w["level"] != "warn" || w["message"] != `{"k":"v"}` || pushAttr(w, "level_original") != "Warning" {
		t.Errorf("severity text and structured body: %v", w)
	}
}

func TestOTLPLogsJSON(t *testing.T) {
	e := apitest.New(t)
	ns := strconv.FormatInt(time.Now().Add(-time.Minute).UnixNano(), 10)
	body := `{"resourceLogs":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"otlp-json"}}]},
	  "scopeLogs":[{"scope":{"name":"s"},"logRecords":[
	    {"timeUnixNano":"` + ns + `","severityNumber":13,"body":{"stringValue":"slow query"},
	     "traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174",
	     "attributes":[{"key":"rows","value":{"intValue":"120"}},{"key":"tags","value":{"arrayValue":{"values":[{"stringValue":"a"},{"boolValue":true}]}}}],
	     "someFutureField":1},
	    {"timeUnixNano":"` + ns + `","severityNumber":9}
	  ]}]}]}`
	resp := e.Request("POST", "/v1/logs", e.AdminToken, body, "Content-Type: application/json")
	defer resp.Body.Close()
	b := readAll(t, resp.Body)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("export: %d %s", resp.StatusCode, b)
	}
	var out struct {
		PartialSuccess struct {
			RejectedLogRecords string `json:"rejectedLogRecords"`
			ErrorMessage       string `json:"errorMessage"`
		} `json:"partialSuccess"`
	}
	if err := json.Unmarshal(b, &out); err != nil || out.PartialSuccess.RejectedLogRecords != "1" || !strings.Contains(out.PartialSuccess.ErrorMessage, "message is required") {
		t.Errorf("partial success for the record without a body: %s", b)
	}
	got := pushFind(t, e, "otlp-json")
	if len(got) != 1 {
		t.Fatalf("stored %d, want 1", len(got))
	}
	r := got[0]
	if r["level"] != "warn" || r["trace_id"] != "5b8efff798038103d269b633813fc60c" || pushAttr(r, "span_id") != "eee19b7ec3c1b174" || pushAttr(r, "rows") != 120.0 {
		t.Errorf("record = %v", r)
	}
	if tags, _ := pushAttr(r, "tags").([]any); len(tags) != 2 || tags[0] != "a" || tags[1] != true {
		t.Errorf("array attribute = %#v", pushAttr(r, "tags"))
	}
}

func TestOTLPLogsRefusals(t *testing.T) {
	e := apitest.New(t)
	for _, c := range []struct {
		name, body, ct string
		status         int
		code           string
	}{
		{"not protobuf", "\xff\xff\xff", "application/x-protobuf", 400, "malformed_log"},
		{"not OTLP JSON", `{"resourceLogs":"x"}`, "application/json", 400, "malformed_log"},
		{"every record refused", `{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"severityNumber":9}]}]}]}`, "application/json", 400, "invalid_log"},
		{"bad trace id", `{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"body":{"stringValue":"x"},"traceId":"zz"}]}]}]}`, "application/json", 400, "invalid_log"},
		{"short trace id", `{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"body":{"stringValue":"x"},"traceId":"abcd"}]}]}]}`, "application/json", 400, "invalid_log"},
		{"other type", "x", "text/plain", 415, "unsupported_media_type"},
	} {
		st, resp := e.Do("POST", "/v1/logs", e.AdminToken, c.body, "Content-Type: "+c.ct)
		if st != c.status || apitest.ErrorCode(resp) != c.code {
			t.Errorf("%s: %d %s, want %d %s", c.name, st, resp, c.status, c.code)
		}
	}
}

func readAll(t *testing.T, r io.Reader) []byte {
	t.Helper()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
