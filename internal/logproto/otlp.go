package logproto

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"strconv"
	"strings"
	"time"

	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	logspb "go.opentelemetry.io/proto/otlp/logs/v1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/paymon/paymon/internal/logbook"
)

// OTLP attribute keys Paymon reads or adds.
const (
	OTLPServiceKey      = "service.name"    // resource attribute → service
	OTLPSpanKey         = "span_id"         // the record's span id, hex
	OTLPScopeNameKey    = "otel.scope.name" // instrumentation scope
	OTLPScopeVersionKey = "otel.scope.version"
	OTLPEventNameKey    = "event.name"
)

// An ExportLogsServiceRequest is read as a LogsData: both are "repeated
// ResourceLogs resource_logs = 1", in protobuf and in JSON alike, and
// LogsData's package does not link gRPC and its gateway into the binary
// as the collector service's package does.

// DecodeOTLPProtobuf reads an ExportLogsServiceRequest in protobuf.
func DecodeOTLPProtobuf(body []byte, o Options) (*Result, error) {
	var req logspb.LogsData
	if err := proto.Unmarshal(body, &req); err != nil {
		return nil, malformed("the body is not an OTLP ExportLogsServiceRequest in protobuf: %v", err)
	}
	return otlpEntries(&req, o, false)
}

// DecodeOTLPJSON reads an ExportLogsServiceRequest in OTLP's JSON mapping
// (lowerCamelCase or proto field names, int64 as strings or numbers, enums
// as numbers, trace and span ids in hex). Unknown fields are ignored, as
// OTLP asks of receivers.
func DecodeOTLPJSON(body []byte, o Options) (*Result, error) {
	var req logspb.LogsData
	if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(body, &req); err != nil {
		return nil, malformed("the body is not an OTLP ExportLogsServiceRequest in JSON: %v", err)
	}
	return otlpEntries(&req, o, true)
}

func otlpEntries(req *logspb.LogsData, o Options, fromJSON bool) (*Result, error) {
	total := 0
	for _, rl := range req.ResourceLogs {
		for _, sl := range rl.GetScopeLogs() {
			total += len(sl.GetLogRecords())
		}
	}
	if total > o.Limits.MaxEntries {
		return nil, tooMany(total, o.Limits)
	}
	res := &Result{Entries: make([]logbook.Entry, 0, total)}
	item := 0
	for _, rl := range req.ResourceLogs {
		resAttrs := kvMap(rl.GetResource().GetAttributes(), nil)
		service, _ := resAttrs[OTLPServiceKey].(string)
		delete(resAttrs, OTLPServiceKey)
		for _, sl := range rl.GetScopeLogs() {
			scope := sl.GetScope()
			for _, lr := range sl.GetLogRecords() {
				item++
				e, reason := otlpRecord(lr, resAttrs, scope, service, fromJSON)
				if reason != "" {
					res.reject(item, reason)
					continue
				}
				res.add(e, item, &o)
			}
		}
	}
	return res, nil
}

// otlpRecord maps one record. Attributes keep OTel's dotted names as
// they are (http.request.method stays one key); record attributes win
// over scope and resource ones of the same name.
func otlpRecord(lr *logspb.LogRecord, resAttrs map[string]any, scope *commonpb.InstrumentationScope, service string, fromJSON bool) (logbook.Entry, string) {
	e := logbook.Entry{Service: service, Level: logbook.LevelInfo}
	n := len(resAttrs) + len(lr.GetAttributes()) + 3
	e.Attributes = make(map[string]any, n)
	for k, v := range resAttrs {
		e.Attributes[k] = v
	}
	if scope.GetName() != "" {
		e.Attributes[OTLPScopeNameKey] = scope.GetName()
		if scope.GetVersion() != "" {
			e.Attributes[OTLPScopeVersionKey] = scope.GetVersion()
		}
	}
	kvMap(scope.GetAttributes(), e.Attributes)
	kvMap(lr.GetAttributes(), e.Attributes)
	switch ts := lr.GetTimeUnixNano(); {
	case ts > 0:
		e.Time = time.Unix(0, int64(ts)).UTC()
	case lr.GetObservedTimeUnixNano() > 0:
		e.Time = time.Unix(0, int64(lr.GetObservedTimeUnixNano())).UTC()
	}
	if sn := int(lr.GetSeverityNumber()); sn > 0 {
		e.Level = logbook.OTelSeverity(sn)
		if t := lr.GetSeverityText(); t != "" {
			if l, ok := logbook.ParseLevel(t); !ok || string(l) != strings.ToLower(t) {
				e.Attributes[LevelOriginalKey] = t
			}
		}
	} else {
		setLevel(&e, lr.GetSeverityText())
	}
	switch b := lr.GetBody(); b.GetValue().(type) {
	case nil:
	case *commonpb.AnyValue_StringValue:
		e.Message = b.GetStringValue()
	default:
		j, err := json.Marshal(anyValue(b))
		if err != nil {
			return e, "the body cannot be rendered as JSON: " + err.Error()
		}
		e.Message = string(j)
	}
	if name := lr.GetEventName(); name != "" {
		e.Attributes[OTLPEventNameKey] = name
		if e.Message == "" {
			e.Message = name
		}
	}
	var ok bool
	if e.TraceID, ok = otlpID(lr.GetTraceId(), 16, fromJSON); !ok {
		return e, "trace_id must be 16 bytes (32 hex digits)"
	}
	span, ok := otlpID(lr.GetSpanId(), 8, fromJSON)
	if !ok {
		return e, "span_id must be 8 bytes (16 hex digits)"
	}
	if span != "" {
		e.Attributes[OTLPSpanKey] = span
	}
	if len(e.Attributes) == 0 {
		e.Attributes = nil
	}
	return e, ""
}

// otlpID renders a trace or span id in hex; all zeros is no id. In JSON
// OTLP writes ids in hex where protojson expects base64, so the bytes
// protojson produced are the base64 reading of the hex text: encoding
// them back gives that text exactly (both lengths are multiples of 4).
func otlpID(b []byte, size int, fromJSON bool) (string, bool) {
	if len(b) == 0 {
		return "", true
	}
	if fromJSON {
		s := base64.StdEncoding.EncodeToString(b)
		raw, err := hex.DecodeString(s)
		if err != nil || len(raw) != size {
			return "", false
		}
		b = raw
	}
	if len(b) != size {
		return "", false
	}
	for _, c := range b {
		if c != 0 {
			return hex.EncodeToString(b), true
		}
	}
	return "", true
}

// kvMap adds kvs to m (a new map when nil) and returns it.
func kvMap(kvs []*commonpb.KeyValue, m map[string]any) map[string]any {
	if m == nil {
		m = make(map[string]any, len(kvs))
	}
	for _, kv := range kvs {
		if kv.GetKey() == "" {
			continue
		}
		m[kv.GetKey()] = anyValue(kv.GetValue())
	}
	return m
}

// anyValue turns an OTLP value into what attributes hold: strings,
// booleans, int64, float64, nested objects and arrays; bytes as base64.
func anyValue(v *commonpb.AnyValue) any {
	switch x := v.GetValue().(type) {
	case *commonpb.AnyValue_StringValue:
		return x.StringValue
	case *commonpb.AnyValue_BoolValue:
		return x.BoolValue
	case *commonpb.AnyValue_IntValue:
		return x.IntValue
	case *commonpb.AnyValue_DoubleValue:
		return x.DoubleValue
	case *commonpb.AnyValue_BytesValue:
		return base64.StdEncoding.EncodeToString(x.BytesValue)
	case *commonpb.AnyValue_ArrayValue:
		vals := x.ArrayValue.GetValues()
		out := make([]any, len(vals))
		for i, vv := range vals {
			out[i] = anyValue(vv)
		}
		return out
	case *commonpb.AnyValue_KvlistValue:
		return kvMap(x.KvlistValue.GetValues(), nil)
	}
	return nil
}

// OTLPResponse encodes the ExportLogsServiceResponse for a result in
// protobuf, or in JSON when asJSON: empty when every record was stored,
// else partial_success {rejected_log_records, error_message}.
func OTLPResponse(r *Result, asJSON bool) []byte {
	if asJSON {
		if r.Rejected == 0 {
			return []byte("{}")
		}
		b, _ := json.Marshal(map[string]any{"partialSuccess": map[string]any{
			"rejectedLogRecords": strconv.Itoa(r.Rejected), "errorMessage": r.Summary()}})
		return b
	}
	if r.Rejected == 0 {
		return []byte{}
	}
	// ExportLogsPartialSuccess: 1 rejected_log_records int64, 2 error_message string.
	var ps []byte
	ps = protowire.AppendTag(ps, 1, protowire.VarintType)
	ps = protowire.AppendVarint(ps, uint64(r.Rejected))
	ps = protowire.AppendTag(ps, 2, protowire.BytesType)
	ps = protowire.AppendString(ps, r.Summary())
	// ExportLogsServiceResponse: 1 partial_success.
	out := protowire.AppendTag(nil, 1, protowire.BytesType)
	return protowire.AppendBytes(out, ps)
}
