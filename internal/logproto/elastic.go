package logproto

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/paymon/paymon/internal/logbook"
)

// Field names looked up in a bulk document, first match wins. A dotted
// name matches a top-level key spelled that way ("log.level") or the
// nested path ({"log":{"level":…}}), as ECS documents use both.
var (
	ESMessageFields = []string{"message", "msg", "_msg", "log", "short_message"}
	ESTimeFields    = []string{"@timestamp", "timestamp", "time", "ts", "timereported"}
	ESLevelFields   = []string{"log.level", "level", "severity", "lvl", "loglevel", "levelname", "priority"}
	ESServiceFields = []string{"service.name", "service", "app", "application", "appname", "programname", "program"}
	ESTraceFields   = []string{"trace.id", "trace_id", "traceId"}
)

// ESFields override the lookups per request (query parameters).
type ESFields struct {
	Message, Time, Level, Service string
	// DefaultService is the service of documents that name none.
	DefaultService string
}

// ESOptions are Options plus the per-request field overrides and the
// index named in the URL (/{index}/_bulk), the default of each action.
type ESOptions struct {
	Options
	Fields ESFields
	Index  string
}

// BulkItem is the outcome of one bulk action, in request order.
type BulkItem struct {
	Action string // index, create, delete, update
	Index  string
	// Entry is the position of its entry in Result.Entries, or -1 when
	// the item was refused (Status 400, ErrType and Reason set).
	Entry   int
	Status  int
	ErrType string
	Reason  string
}

// BulkResult is a Result plus the per-action outcomes.
type BulkResult struct {
	Result
	Items []BulkItem
}

// DecodeBulk reads an Elasticsearch bulk body: NDJSON pairs of an action
// line ({"index":{…}} or {"create":{…}}) and a document. delete and update
// are answered as per-item errors (Paymon takes new documents only). An
// action line that is not JSON stops the request, as in Elasticsearch,
// since what follows it cannot be paired reliably.
func DecodeBulk(body []byte, o ESOptions) (*BulkResult, error) {
	res := &BulkResult{}
	lineNo := 0
	next := func() ([]byte, bool) {
		for len(body) > 0 {
			var line []byte
			if i := bytes.IndexByte(body, '\n'); i >= 0 {
				line, body = body[:i], body[i+1:]
			} else {
				line, body = body, nil
			}
			lineNo++
			if line = bytes.TrimSpace(line); len(line) > 0 {
				return line, true
			}
		}
		return nil, false
	}
	for {
		line, ok := next()
		if !ok {
			break
		}
		action, meta, err := bulkAction(line)
		if err != nil {
			return nil, malformed("line %d: %v", lineNo, err)
		}
		if len(res.Items) >= o.Limits.MaxEntries {
			return nil, tooMany(len(res.Items)+1, o.Limits)
		}
		it := BulkItem{Action: action, Index: meta.Index, Entry: -1, Status: 400}
		if it.Index == "" {
			it.Index = o.Index
		}
		n := len(res.Items) + 1
		var src []byte
		if action != "delete" {
			if src, ok = next(); !ok {
				return nil, malformed("line %d: the %s action has no document after it", lineNo, action)
			}
		}
		switch {
		case action == "delete" || action == "update":
			it.ErrType, it.Reason = "illegal_argument_exception", "Paymon stores new log documents only; "+action+" is not supported"
		case len(src) > o.Limits.MaxEntryBytes:
			it.ErrType, it.Reason = "document_too_large_exception", fmt.Sprintf("the document is larger than %d bytes", o.Limits.MaxEntryBytes)
		default:
			e, reason := esDocument(src, &o)
			if reason == "" {
				if err := logbook.CheckEntry(&e, o.Now, o.Limits); err != nil {
					reason = err.Error()
				}
			}
			if reason != "" {
				it.ErrType, it.Reason = "mapper_parsing_exception", reason
				break
			}
			it.Entry, it.Status = len(res.Entries), 201
			res.Entries = append(res.Entries, e)
		}
		if it.Status != 201 {
			res.reject(n, it.Reason)
		}
		res.Items = append(res.Items, it)
	}
	return res, nil
}

type bulkMeta struct {
	Index string `json:"_index"`
}

func bulkAction(line []byte) (string, bulkMeta, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(line, &m); err != nil || len(m) != 1 {
		return "", bulkMeta{}, fmt.Errorf(`malformed action line; expected {"index":{…}} or {"create":{…}}`)
	}
	for action, raw := range m {
		var meta bulkMeta
		switch action {
		case "index", "create", "delete", "update":
		default:
			return "", meta, fmt.Errorf("unknown bulk action %q; expected index, create, delete or update", clip(action))
		}
		if err := json.Unmarshal(raw, &meta); err != nil {
			return "", meta, fmt.Errorf("the %s action's metadata must be an object", action)
		}
		return action, meta, nil
	}
	panic("unreachable")
}

// esDocument maps one document onto an entry (ECS names first); the
// fields it did not use are the attributes, nested objects kept.
func esDocument(src []byte, o *ESOptions) (logbook.Entry, string) {
	dec := json.NewDecoder(bytes.NewReader(src))
	dec.UseNumber()
	var doc map[string]any
	if err := dec.Decode(&doc); err != nil {
		return logbook.Entry{}, "the document is not a JSON object: " + err.Error()
	}
	if dec.More() {
		return logbook.Entry{}, "unexpected data after the document"
	}
	e := logbook.Entry{Level: logbook.LevelInfo, Service: o.Fields.DefaultService}
	if v, ok := takeString(doc, o.Fields.Message, ESMessageFields); ok {
		e.Message = v
	} else {
		return e, "the document has no message (looked at " + strings.Join(fieldList(o.Fields.Message, ESMessageFields), ", ") + "; name yours with ?_msg_field=)"
	}
	if v, ok := take(doc, o.Fields.Time, ESTimeFields); ok {
		t, err := esTime(v)
		if err != nil {
			return e, err.Error()
		}
		e.Time = t
	}
	if v, ok := take(doc, o.Fields.Level, ESLevelFields); ok {
		setLevel(&e, scalarString(v))
	}
	if v, ok := takeString(doc, o.Fields.Service, ESServiceFields); ok {
		e.Service = v
	}
	if v, ok := takeString(doc, "", ESTraceFields); ok {
		e.TraceID = v
	}
	if len(doc) > 0 {
		if e.Attributes == nil {
			e.Attributes = doc
		} else {
			for k, v := range doc {
				if _, dup := e.Attributes[k]; !dup {
					e.Attributes[k] = v
				}
			}
		}
	}
	return e, ""
}

func fieldList(override string, defaults []string) []string {
	if override != "" {
		return []string{override}
	}
	return defaults
}

// take removes and returns the first of the fields present (only the
// override when one is given).
func take(doc map[string]any, override string, fields []string) (any, bool) {
	for _, f := range fieldList(override, fields) {
		if v, ok := doc[f]; ok && v != nil {
			delete(doc, f)
			return v, true
		}
		head, rest, dotted := strings.Cut(f, ".")
		if !dotted {
			continue
		}
		if sub, ok := doc[head].(map[string]any); ok {
			if v, ok := take(sub, rest, nil); ok {
				if len(sub) == 0 {
					delete(doc, head)
				}
				return v, true
			}
		}
	}
	return nil, false
}

// takeString is take for fields that must hold text; a field of another
// type (an ECS "log" object, a "service" object) is left in place.
func takeString(doc map[string]any, override string, fields []string) (string, bool) {
	for _, f := range fieldList(override, fields) {
		v, ok := peek(doc, f)
		if !ok {
			continue
		}
		if _, isObj := v.(map[string]any); isObj {
			continue
		}
		if _, isArr := v.([]any); isArr {
			continue
		}
		take(doc, f, nil)
		return scalarString(v), true
	}
	return "", false
}

func peek(doc map[string]any, f string) (any, bool) {
	if v, ok := doc[f]; ok && v != nil {
		return v, true
	}
	if head, rest, dotted := strings.Cut(f, "."); dotted {
		if sub, ok := doc[head].(map[string]any); ok {
			return peek(sub, rest)
		}
	}
	return nil, false
}

func scalarString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case json.Number:
		return x.String()
	case bool:
		return strconv.FormatBool(x)
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// esTime reads a time as Elasticsearch's default date mapping does: RFC
// 3339 text, or epoch milliseconds; larger or smaller numbers are read by
// magnitude as seconds, microseconds or nanoseconds.
func esTime(v any) (time.Time, error) {
	var s string
	switch x := v.(type) {
	case string:
		s = strings.TrimSpace(x)
	case json.Number:
		s = x.String()
	default:
		return time.Time{}, fmt.Errorf("the time must be RFC 3339 text or an epoch number")
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC(), nil
	}
	if t, err := time.Parse("2006-01-02T15:04:05.999999999Z0700", s); err == nil {
		return t.UTC(), nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f < 0 || math.IsInf(f, 0) {
		return time.Time{}, fmt.Errorf("the time %q is neither RFC 3339 nor an epoch number", clip(s))
	}
	switch {
	case f < 1e11:
		return time.Unix(0, int64(f*1e9)).UTC(), nil
	case f < 1e14:
		return time.Unix(0, int64(f*1e6)).UTC(), nil
	case f < 1e17:
		return time.Unix(0, int64(f*1e3)).UTC(), nil
	}
	return time.Unix(0, int64(f)).UTC(), nil
}
