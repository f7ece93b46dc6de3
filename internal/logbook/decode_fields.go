package logbook

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// The field names lenient decoding recognises, in order of precedence:
// when a line has several, the first one present is the field and the
// others stay in attributes. Names are compared without letter case; a
// dotted name matches a dotted key ("log.level") or a nested object
// ({"log":{"level":…}}, ECS style).
var (
	MessageAliases   = []string{"message", "msg", "log", "_msg", "short_message", "text"}
	TimeAliases      = []string{"time", "timestamp", "@timestamp", "ts", "date"}
	LevelAliases     = []string{"level", "severity", "lvl", "loglevel", "levelname", "log.level"}
	ServiceAliases   = []string{"service", "service.name", "app", "application", "appname", "program"}
	TraceIDAliases   = []string{"trace_id", "traceId", "trace.id"}
	PaymentIDAliases = []string{"payment_id", "paymentId"}
)

// LevelOriginalKey is the attribute that keeps a level as the sender
// wrote it ("notice", "30", "SEVERE") when it is not the stored level
// word (letter case aside), or when no vocabulary knows it (then the
// entry is stored as info).
const LevelOriginalKey = "level_original"

// ref is where a field's value was found: a top-level member, or a key of
// a nested object inside one.
type ref struct {
	top    *kv
	parent map[string]any
	key    string
	val    any
}

// take marks the value as used, so it does not also become an attribute.
// A nested object left empty is dropped with it.
func (r ref) take() {
	if r.parent == nil {
		r.top.used = true
		return
	}
	delete(r.parent, r.key)
	if m, ok := r.top.val.(map[string]any); ok && len(m) == 0 {
		r.top.used = true
	}
}

func find(kvs []kv, names []string, ok func(any) bool) (ref, bool) {
	for _, name := range names {
		for i := range kvs {
			if !kvs[i].used && strings.EqualFold(kvs[i].key, name) && ok(kvs[i].val) {
				return ref{top: &kvs[i], val: kvs[i].val}, true
			}
		}
		head, tail, dotted := strings.Cut(name, ".")
		if !dotted {
			continue
		}
		for i := range kvs {
			if m, isMap := kvs[i].val.(map[string]any); isMap && !kvs[i].used && strings.EqualFold(kvs[i].key, head) {
				if p, k, v, found := findNested(m, tail, ok); found {
					return ref{top: &kvs[i], parent: p, key: k, val: v}, true
				}
			}
		}
	}
	return ref{}, false
}

func findNested(m map[string]any, name string, ok func(any) bool) (map[string]any, string, any, bool) {
	if v, exact := m[name]; exact && ok(v) {
		return m, name, v, true
	}
	for k, v := range m {
		if strings.EqualFold(k, name) && ok(v) {
			return m, k, v, true
		}
	}
	head, tail, dotted := strings.Cut(name, ".")
	if !dotted {
		return nil, "", nil, false
	}
	for k, v := range m {
		if sub, isMap := v.(map[string]any); isMap && strings.EqualFold(k, head) {
			if p, kk, vv, found := findNested(sub, tail, ok); found {
				return p, kk, vv, true
			}
		}
	}
	return nil, "", nil, false
}

// isText: strings (not empty), numbers and booleans can be a message,
// service or id; objects and arrays cannot, so {"log":{"level":…}} is
// not read as a message.
func isText(v any) bool {
	switch x := v.(type) {
	case string:
		return x != ""
	case json.Number, bool:
		return true
	}
	return false
}

func isScalar(v any) bool {
	switch x := v.(type) {
	case string:
		return x != ""
	case json.Number:
		return true
	}
	return false
}

func text(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case json.Number:
		return string(x)
	case bool:
		return strconv.FormatBool(x)
	}
	return ""
}

func orDefault(over, def []string) []string {
	if len(over) > 0 {
		return over
	}
	return def
}

// build turns one line's members into an entry (not yet checked).
func (d *lenient) build(kvs []kv) (Entry, *scanErr) {
	e := Entry{Time: d.now, Level: LevelInfo, Service: d.opt.Service}
	if r, ok := find(kvs, orDefault(d.opt.MessageFields, MessageAliases), isText); ok {
		e.Message = text(r.val)
		r.take()
	}
	if r, ok := find(kvs, orDefault(d.opt.TimeFields, TimeAliases), isScalar); ok {
		t, err := parseTime(r.val)
		if err != nil {
			return e, &scanErr{kind: Invalid, field: r.key0(), msg: err.Error()}
		}
		e.Time = t
		r.take()
	}
	original := ""
	if r, ok := find(kvs, orDefault(d.opt.LevelFields, LevelAliases), isScalar); ok {
		original = text(r.val)
		if l, known := ParseLevel(original); known {
			e.Level = l
		}
		r.take()
	}
	if r, ok := find(kvs, orDefault(d.opt.ServiceFields, ServiceAliases), isText); ok {
		e.Service = text(r.val)
		r.take()
	}
	if r, ok := find(kvs, TraceIDAliases, isText); ok {
		e.TraceID = text(r.val)
		r.take()
	}
	if r, ok := find(kvs, PaymentIDAliases, isText); ok {
		e.PaymentID = text(r.val)
		r.take()
	}
	for i := range kvs {
		if m, ok := kvs[i].val.(map[string]any); ok && !kvs[i].used && kvs[i].key == "attributes" {
			e.Attributes = m
			kvs[i].used = true
			break
		}
	}
	for i := range kvs {
		p := &kvs[i]
		if p.used {
			continue
		}
		if e.Attributes == nil {
			e.Attributes = make(map[string]any, len(kvs)-i+1)
		}
		if _, dup := e.Attributes[p.key]; dup {
			return e, &scanErr{kind: Invalid, field: p.key, msg: fmt.Sprintf("%q is both a top-level field and a key of attributes", p.key)}
		}
		e.Attributes[p.key] = p.val
	}
	if original != "" && !strings.EqualFold(strings.TrimSpace(original), string(e.Level)) {
		if e.Attributes == nil {
			e.Attributes = make(map[string]any, 1)
		}
		if _, set := e.Attributes[LevelOriginalKey]; !set {
			e.Attributes[LevelOriginalKey] = original
		}
	}
	return e, nil
}

// key0 names the field a value came from, for error messages.
func (r ref) key0() string {
	if r.parent == nil {
		return r.top.key
	}
	return r.top.key + "." + r.key
}

// parseTime reads RFC 3339 (a space instead of the T is accepted), or a
// Unix epoch as a number or a numeric string whose unit is told by its
// magnitude: seconds below 1e11 (until year 5138), milliseconds below
// 1e14, microseconds below 1e17, nanoseconds above. A fraction is kept
// to the nanosecond.
func parseTime(v any) (time.Time, error) {
	s := strings.TrimSpace(text(v))
	if _, isNum := v.(json.Number); !isNum {
		if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
			return t.UTC(), nil
		}
		if len(s) > 10 && s[10] == ' ' {
			if t, err := time.Parse(time.RFC3339Nano, s[:10]+"T"+s[11:]); err == nil {
				return t.UTC(), nil
			}
		}
	}
	if t, ok := parseEpoch(s); ok {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("cannot read time %q: send RFC 3339 (2026-01-02T15:04:05.123Z) or Unix epoch seconds, milliseconds, microseconds or nanoseconds", cut(s, 64))
}

func cut(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

func epochUnit(whole float64) int64 {
	switch {
	case whole < 1e11:
		return int64(time.Second)
	case whole < 1e14:
		return int64(time.Millisecond)
	case whole < 1e17:
		return int64(time.Microsecond)
	}
	return 1
}

func parseEpoch(s string) (time.Time, bool) {
	if s == "" || s[0] == '-' || s[0] == '+' {
		return time.Time{}, false
	}
	if strings.ContainsAny(s, "eE") {
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || f < 0 || f >= 1e19 {
			return time.Time{}, false
		}
		ns := f * float64(epochUnit(f))
		if ns >= 9e18 {
			return time.Time{}, false
		}
		return time.Unix(0, int64(ns)).UTC(), true
	}
	whole, frac, _ := strings.Cut(s, ".")
	if !allDigits(whole) || !allDigits(frac) && frac != "" {
		return time.Time{}, false
	}
	n, err := strconv.ParseUint(whole, 10, 64)
	if err != nil {
		return time.Time{}, false
	}
	unit := epochUnit(float64(n))
	if n > uint64(9e18)/uint64(unit) {
		return time.Time{}, false
	}
	ns := int64(n) * unit
	// The fraction, to the nanosecond: as many digits as the unit has.
	scale := unit
	for i := 0; i < len(frac) && scale > 1; i++ {
		scale /= 10
		ns += int64(frac[i]-'0') * scale
	}
	return time.Unix(0, ns).UTC(), true
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
