package logproto

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"strconv"
	"strings"
	"time"

	"github.com/klauspost/compress/snappy"

	"github.com/paymon/paymon/internal/logbook"
)

// LokiServiceLabels are the stream labels read as the service, first
// match wins: service_name (what Loki itself derives and Alloy sends),
// then the labels Loki's own service-name discovery looks at, in its
// order. The label used is not repeated in the attributes.
var LokiServiceLabels = []string{"service_name", "service", "app", "application", "name", "app_kubernetes_io_name",
	"container", "container_name", "k8s_container_name", "component", "workload", "job", "k8s_job_name"}

// LokiLevelLabels are the labels (then structured-metadata keys) read as
// the level, first match wins.
var LokiLevelLabels = []string{"level", "detected_level", "severity", "lvl", "loglevel"}

// LokiTraceKeys are the structured-metadata keys read as the trace id.
var LokiTraceKeys = []string{"trace_id", "traceID", "traceId"}

// LokiTenantKey is the attribute X-Scope-OrgID is kept under: Paymon has
// one tenant, so the header routes nothing, but it is not lost.
const LokiTenantKey = "tenant"

// LokiOptions are Options plus the request's tenant header.
type LokiOptions struct {
	Options
	Tenant string
}

// DecodeLokiProtobuf reads a snappy-compressed PushRequest, Loki's
// protobuf push body (what Promtail, Alloy, Fluent Bit and Vector send).
func DecodeLokiProtobuf(body []byte, o LokiOptions) (*Result, error) {
	n, err := snappy.DecodedLen(body)
	if err != nil {
		return nil, malformed("the body is not snappy-compressed protobuf: %v", err)
	}
	if int64(n) > o.Limits.MaxBody {
		return nil, &logbook.DecodeError{Kind: logbook.TooLarge, Msg: fmt.Sprintf("the decompressed body exceeds %d bytes; split the batch", o.Limits.MaxBody)}
	}
	raw, err := snappy.Decode(nil, body)
	if err != nil {
		return nil, malformed("the body is not snappy-compressed protobuf: %v", err)
	}
	streams, total, err := decodeLokiPB(raw, o.Limits.MaxEntries)
	if err != nil {
		return nil, malformed("the body is not a Loki PushRequest: %v", err)
	}
	if total > o.Limits.MaxEntries {
		return nil, tooMany(total, o.Limits)
	}
	res := &Result{Entries: make([]logbook.Entry, 0, total)}
	item := 0
	for i := range streams {
		st := &streams[i]
		labels, err := parseLokiLabels(st.labels)
		if err != nil {
			for range st.entries {
				item++
				res.reject(item, "stream "+strconv.Itoa(i+1)+": "+err.Error())
			}
			continue
		}
		base := lokiStream(labels, o.Tenant)
		for j := range st.entries {
			item++
			le := &st.entries[j]
			e := base.entry(le.ts, le.line)
			for _, m := range le.meta {
				e.meta(m[0], m[1])
			}
			res.add(e.Entry, item, &o.Options)
		}
	}
	return res, nil
}

// lokiJSONBody is Loki's JSON push shape, and its legacy one (a label
// string and entries with an RFC 3339 ts), which Grafana's Go client
// still sends.
type lokiJSONBody struct {
	Streams []struct {
		Stream  map[string]string `json:"stream"`
		Values  []json.RawMessage `json:"values"`
		Labels  string            `json:"labels"`
		Entries []struct {
			TS                 string            `json:"ts"`
			Line               string            `json:"line"`
			StructuredMetadata map[string]string `json:"structuredMetadata"`
		} `json:"entries"`
	} `json:"streams"`
}

// DecodeLokiJSON reads Loki's JSON push body:
// {"streams":[{"stream":{labels},"values":[["<ns>","line",{metadata}]]}]}.
func DecodeLokiJSON(body []byte, o LokiOptions) (*Result, error) {
	var req lokiJSONBody
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&req); err != nil {
		return nil, malformed("the body is not a Loki JSON push (%v)", err)
	}
	total := 0
	for i := range req.Streams {
		total += len(req.Streams[i].Values) + len(req.Streams[i].Entries)
	}
	if total > o.Limits.MaxEntries {
		return nil, tooMany(total, o.Limits)
	}
	res := &Result{Entries: make([]logbook.Entry, 0, total)}
	item := 0
	for i := range req.Streams {
		st := &req.Streams[i]
		if st.Labels != "" {
			labels, err := parseLokiLabels(st.Labels)
			if err != nil {
				for range len(st.Values) + len(st.Entries) {
					item++
					res.reject(item, "stream "+strconv.Itoa(i+1)+": "+err.Error())
				}
				continue
			}
			for k, v := range st.Stream {
				labels[k] = v
			}
			st.Stream = labels
		}
		base := lokiStream(st.Stream, o.Tenant)
		for _, le := range st.Entries {
			item++
			ts, err := time.Parse(time.RFC3339Nano, le.TS)
			if err != nil {
				res.reject(item, "ts must be an RFC 3339 time")
				continue
			}
			e := base.entry(ts.UTC(), le.Line)
			for k, v := range le.StructuredMetadata {
				e.meta(k, v)
			}
			res.add(e.Entry, item, &o.Options)
		}
		for _, v := range st.Values {
			item++
			var tuple []json.RawMessage
			if err := json.Unmarshal(v, &tuple); err != nil || len(tuple) < 2 || len(tuple) > 3 {
				res.reject(item, `each value must be ["<unix nanoseconds>","<line>"] or ["<unix nanoseconds>","<line>",{metadata}]`)
				continue
			}
			ts, err := lokiJSONTime(tuple[0])
			if err != nil {
				res.reject(item, err.Error())
				continue
			}
			var line string
			if err := json.Unmarshal(tuple[1], &line); err != nil {
				res.reject(item, "the line must be a JSON string")
				continue
			}
			e := base.entry(ts, line)
			if len(tuple) == 3 {
				var md map[string]any
				if err := json.Unmarshal(tuple[2], &md); err != nil {
					res.reject(item, "structured metadata must be a JSON object of strings")
					continue
				}
				for k, v := range md {
					s, ok := v.(string)
					if !ok {
						s = fmt.Sprint(v)
					}
					e.meta(k, s)
				}
			}
			res.add(e.Entry, item, &o.Options)
		}
	}
	return res, nil
}

// lokiJSONTime reads a timestamp in nanoseconds, as a string (Loki's
// form) or a number; 0 means "now" (CheckEntry fills it in).
func lokiJSONTime(raw json.RawMessage) (time.Time, error) {
	s := strings.Trim(string(raw), `"`)
	ns, err := strconv.ParseInt(s, 10, 64)
	if err != nil || ns < 0 {
		return time.Time{}, fmt.Errorf("the timestamp must be unix nanoseconds as a string, got %s", raw)
	}
	if ns == 0 {
		return time.Time{}, nil
	}
	return time.Unix(0, ns).UTC(), nil
}

// lokiBase is what every line of one stream shares.
type lokiBase struct {
	service  string
	level    string // the raw level label, "" if none
	levelKey string
	attrs    map[string]any
}

func lokiStream(labels map[string]string, tenant string) *lokiBase {
	b := &lokiBase{attrs: make(map[string]any, len(labels)+1)}
	for k, v := range labels {
		b.attrs[k] = v
	}
	for _, k := range LokiServiceLabels {
		if v := labels[k]; v != "" {
			b.service = v
			delete(b.attrs, k)
			break
		}
	}
	for _, k := range LokiLevelLabels {
		if v := labels[k]; v != "" {
			b.level, b.levelKey = v, k
			delete(b.attrs, k)
			break
		}
	}
	if tenant != "" {
		b.attrs[LokiTenantKey] = tenant
	}
	return b
}

type lokiEntry struct {
	logbook.Entry
	levelSet bool
}

// entry starts an entry of the stream; the line is the message as sent
// (a JSON line stays text: Loki stores lines as they are, and guessing
// at fields inside would make the same line differ by protocol).
func (b *lokiBase) entry(ts time.Time, line string) *lokiEntry {
	e := &lokiEntry{Entry: logbook.Entry{Time: ts, Level: logbook.LevelInfo, Service: b.service, Message: line}}
	if len(b.attrs) > 0 {
		e.Attributes = maps.Clone(b.attrs)
	}
	if b.level != "" {
		setLevel(&e.Entry, b.level)
		e.levelSet = true
	}
	return e
}

// meta adds one structured-metadata pair: the trace id and, when no label
// gave one, the level are read from it; everything else is an attribute.
func (e *lokiEntry) meta(k, v string) {
	for _, tk := range LokiTraceKeys {
		if k == tk && e.TraceID == "" {
			e.TraceID = v
			return
		}
	}
	if !e.levelSet {
		for _, lk := range LokiLevelLabels {
			if k == lk {
				setLevel(&e.Entry, v)
				e.levelSet = true
				return
			}
		}
	}
	if e.Service == "" && k == "service_name" {
		e.Service = v
		return
	}
	setAttr(&e.Entry, k, v)
}

// parseLokiLabels reads a Prometheus label set as Loki's protobuf carries
// it: {name="value", other="v\"q"}.
func parseLokiLabels(s string) (map[string]string, error) {
	s = strings.TrimSpace(s)
	if len(s) < 2 || s[0] != '{' || s[len(s)-1] != '}' {
		return nil, fmt.Errorf("labels must look like {name=\"value\"}, got %q", clip(s))
	}
	out := make(map[string]string, 8)
	i, end := 1, len(s)-1
	for {
		for i < end && (s[i] == ' ' || s[i] == ',') {
			i++
		}
		if i >= end {
			return out, nil
		}
		j := i
		for j < end && s[j] != '=' && s[j] != ' ' {
			j++
		}
		name := s[i:j]
		for j < end && s[j] == ' ' {
			j++
		}
		if name == "" || j >= end || s[j] != '=' {
			return nil, fmt.Errorf("labels must look like {name=\"value\"}, got %q", clip(s))
		}
		j++
		for j < end && s[j] == ' ' {
			j++
		}
		if j >= end || s[j] != '"' {
			return nil, fmt.Errorf("label %s: the value must be a quoted string", clip(name))
		}
		k := j + 1
		for k < end && s[k] != '"' {
			if s[k] == '\\' {
				k++
			}
			k++
		}
		if k >= end {
			return nil, fmt.Errorf("label %s: the value's closing quote is missing", clip(name))
		}
		v, err := strconv.Unquote(s[j : k+1])
		if err != nil {
			return nil, fmt.Errorf("label %s: the value is not a valid quoted string", clip(name))
		}
		out[name] = v
		i = k + 1
	}
}

func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}
