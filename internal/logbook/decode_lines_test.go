package logbook

import (
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"
)

func lenientDecode(t *testing.T, body string, opt DecodeOptions) *Batch {
	t.Helper()
	b, err := DecodeLines([]byte(body), now, DefaultLimits, opt)
	if err != nil {
		t.Fatalf("DecodeLines(%.200q): %v", body, err)
	}
	return b
}

func one(t *testing.T, body string, opt DecodeOptions) Entry {
	t.Helper()
	b := lenientDecode(t, body, opt)
	if len(b.Entries) != 1 || b.Rejected != 0 {
		t.Fatalf("%.200q: %d entries, rejected %+v", body, len(b.Entries), b.Errors)
	}
	return b.Entries[0]
}

func attrsJSON(e Entry) string {
	b, _ := json.Marshal(e.Attributes)
	return string(b)
}

// What loggers emit, unchanged, as they emit it.
func TestDecodeLinesLoggerShapes(t *testing.T) {
	cases := []struct {
		name, line                 string
		level, service, msg, attrs string
		time                       time.Time
	}{
		{"winston json+timestamp", `{"level":"info","message":"order placed","orderId":"o-42","amount":1200,"timestamp":"2026-11-25T09:30:00.125Z"}`,
			"info", "unknown", "order placed", `{"amount":1200,"orderId":"o-42"}`, time.Date(2026, 11, 25, 9, 30, 0, 125e6, time.UTC)},
		{"winston http", `{"level":"http","message":"GET /","timestamp":"2026-11-25T09:30:00Z"}`,
			"info", "unknown", "GET /", `{"level_original":"http"}`, time.Date(2026, 11, 25, 9, 30, 0, 0, time.UTC)},
		{"pino default", `{"level":30,"time":1795598400123,"pid":4242,"hostname":"web-1","msg":"listening"}`,
			"info", "unknown", "listening", `{"hostname":"web-1","level_original":"30","pid":4242}`, time.UnixMilli(1795598400123).UTC()},
		{"pino fatal", `{"level":60,"time":1795598400123,"pid":1,"hostname":"h","msg":"boom"}`,
			"fatal", "unknown", "boom", `{"hostname":"h","level_original":"60","pid":1}`, time.UnixMilli(1795598400123).UTC()},
		{"syslog-ng json template", `{"message":"disk almost full","level":"notice","program":"smartd","host":"db-1","time":"2026-11-25T10:59:00+01:00"}`,
			"info", "smartd", "disk almost full", `{"host":"db-1","level_original":"notice"}`, time.Date(2026, 11, 25, 9, 59, 0, 0, time.UTC)},
		{"ECS nested", `{"@timestamp":"2026-11-25T09:00:00Z","log":{"level":"WARN","logger":"app"},"service":{"name":"billing","version":"2"},"message":"slow","trace":{"id":"abc"}}`,
			"warn", "billing", "slow", `{"log":{"logger":"app"},"service":{"version":"2"}}`, time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)},
		{"ECS dotted", `{"@timestamp":"2026-11-25T09:00:00Z","log.level":"error","service.name":"billing","message":"x"}`,
			"error", "billing", "x", `null`, time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)},
		{"python json", `{"asctime":"2026-11-25 09:00:00,1","levelname":"CRITICAL","name":"app","message":"down"}`,
			"fatal", "unknown", "down", `{"asctime":"2026-11-25 09:00:00,1","level_original":"CRITICAL","name":"app"}`, now},
		{"zap", `{"level":"warn","ts":1795598400.5,"caller":"main.go:12","msg":"retry"}`,
			"warn", "unknown", "retry", `{"caller":"main.go:12"}`, time.Unix(1795598400, 5e8).UTC()},
		{"java", `{"severity":"SEVERE","text":"npe","app":"ledger","date":"2026-11-25T09:00:00Z"}`,
			"error", "ledger", "npe", `{"level_original":"SEVERE"}`, time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)},
		{"gelf", `{"version":"1.1","host":"h","short_message":"hi","level":"err","_user":"u"}`,
			"error", "unknown", "hi", `{"_user":"u","host":"h","level_original":"err","version":"1.1"}`, now},
		{"victorialogs", `{"_msg":"m","_time":"2026-11-25T09:00:00Z","lvl":"dbg","appname":"a"}`,
			"debug", "a", "m", `{"_time":"2026-11-25T09:00:00Z","level_original":"dbg"}`, now},
		{"unknown level kept", `{"msg":"m","level":"loud"}`, "info", "unknown", "m", `{"level_original":"loud"}`, now},
		{"upper-case keys", `{"Message":"m","Level":"ERROR","Service":"s","TraceId":"t"}`, "error", "s", "m", `null`, now},
		{"attributes merged", `{"message":"m","attributes":{"a":1},"b":{"c":[1,{"d":null}]}}`, "info", "unknown", "m", `{"a":1,"b":{"c":[1,{"d":null}]}}`, now},
		{"numbers keep digits", `{"message":"m","n":12345678901234567890}`, "info", "unknown", "m", `{"n":12345678901234567890}`, now},
		{"message as number", `{"message":42}`, "info", "unknown", "42", `null`, now},
		{"escapes", `{"message":"a\"b\\c\u00e9\ud83d\ude00\n"}`, "info", "unknown", "a\"b\\cé😀\n", `null`, now},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := one(t, tc.line, DecodeOptions{})
			if string(e.Level) != tc.level || e.Service != tc.service || e.Message != tc.msg || attrsJSON(e) != tc.attrs || !e.Time.Equal(tc.time) {
				t.Fatalf("got level %s service %s msg %q attrs %s time %v\nwant level %s service %s msg %q attrs %s time %v",
					e.Level, e.Service, e.Message, attrsJSON(e), e.Time, tc.level, tc.service, tc.msg, tc.attrs, tc.time)
			}
		})
	}
	if e := one(t, `{"message":"m","trace.id":"t1","paymentId":"pay_1"}`, DecodeOptions{}); e.TraceID != "t1" || e.PaymentID != "pay_1" {
		t.Errorf("ids: %+v", e)
	}
}

func TestDecodeLinesEpochTimes(t *testing.T) {
	want := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	sec := want.Unix()
	cases := []struct {
		v    string
		want time.Time
	}{
		{fmt.Sprint(sec), want},
		{fmt.Sprintf("%q", fmt.Sprint(sec)), want},
		{fmt.Sprint(sec) + ".25", want.Add(250 * time.Millisecond)},
		{fmt.Sprintf(`"%d.000000001"`, sec), want.Add(time.Nanosecond)},
		{fmt.Sprint(sec * 1e3), want},
		{fmt.Sprint(sec*1e3 + 7), want.Add(7 * time.Millisecond)},
		{fmt.Sprintf("%d.5", sec*1e3), want.Add(500 * time.Microsecond)},
		{fmt.Sprintf("%q", fmt.Sprint(sec*1e3)), want},
		{fmt.Sprint(sec*1e6 + 3), want.Add(3 * time.Microsecond)},
		{fmt.Sprint(sec*1e9 + 9), want.Add(9)},
		{fmt.Sprintf("%q", fmt.Sprint(sec*1e9+9)), want.Add(9)},
		{"1.7954208e9", time.Unix(1795420800, 0).UTC()},
		{`"2026-11-25T10:00:00+01:00"`, want},
		{`"2026-11-25 09:00:00.5Z"`, want.Add(500 * time.Millisecond)},
	}
	for _, tc := range cases {
		e := one(t, `{"message":"m","time":`+tc.v+`}`, DecodeOptions{})
		if !e.Time.Equal(tc.want) {
			t.Errorf("time %s: got %v, want %v", tc.v, e.Time, tc.want)
		}
	}
	for _, bad := range []string{`"yesterday"`, `-5`, `"1e400"`, `99999999999999999999999`, `"12:00"`} {
		b := lenientDecode(t, `{"message":"m","time":`+bad+`}`, DecodeOptions{})
		if b.Rejected != 1 || b.Errors[0].Field != "time" || !strings.Contains(b.Errors[0].Reason, "time") {
			t.Errorf("time %s: %+v", bad, b.Errors)
		}
	}
	// 0 is 1970: read as seconds, then refused by the common check.
	if b := lenientDecode(t, `{"message":"m","ts":0}`, DecodeOptions{}); b.Rejected != 1 || !strings.Contains(b.Errors[0].Reason, "2000") {
		t.Errorf("epoch 0: %+v", b.Errors)
	}
}

func TestDecodeLinesAliasPrecedence(t *testing.T) {
	e := one(t, `{"text":"t","msg":"m","message":"M","ts":"2026-11-25T08:00:00Z","time":"2026-11-25T09:00:00Z","lvl":"debug","level":"error","program":"p","service":"s"}`, DecodeOptions{})
	if e.Message != "M" || e.Level != LevelError || e.Service != "s" || !e.Time.Equal(time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)) {
		t.Fatalf("precedence: %+v", e)
	}
	// The losers are kept, not dropped.
	if got := attrsJSON(e); got != `{"lvl":"debug","msg":"m","program":"p","text":"t","ts":"2026-11-25T08:00:00Z"}` {
		t.Fatalf("attributes %s", got)
	}
	// Empty strings and objects are not candidates: the next alias wins.
	e = one(t, `{"message":"","log":{"file":"x"},"msg":"m"}`, DecodeOptions{})
	if e.Message != "m" || attrsJSON(e) != `{"log":{"file":"x"},"message":""}` {
		t.Fatalf("empty candidates: %+v", e)
	}
}

func TestDecodeLinesOverrides(t *testing.T) {
	opt := DecodeOptions{MessageFields: []string{"body", "event.original"}, TimeFields: []string{"when"}, LevelFields: []string{"sev"},
		ServiceFields: []string{"component"}, Service: "fallback"}
	e := one(t, `{"message":"not me","event":{"original":"orig"},"when":1795598400,"sev":"ERR","level":"debug","component":"api"}`, opt)
	if e.Message != "orig" || e.Level != LevelError || e.Service != "api" || e.Time.Unix() != 1795598400 {
		t.Fatalf("overrides: %+v", e)
	}
	if got := attrsJSON(e); got != `{"level":"debug","level_original":"ERR","message":"not me"}` {
		t.Fatalf("attributes %s", got)
	}
	e = one(t, `{"body":"b"}`, opt)
	if e.Message != "b" || e.Service != "fallback" || !e.Time.Equal(now) {
		t.Fatalf("default service: %+v", e)
	}
	if e := one(t, `{"message":"m","service":"named"}`, DecodeOptions{Service: "fallback"}); e.Service != "named" {
		t.Fatalf("a named service wins over the default: %+v", e)
	}
}

func TestDecodeLinesRejectsLines(t *testing.T) {
	good := `{"message":"fine"}`
	cases := []struct {
		name, line, field, reason string
		kind                      DecodeErrorKind
	}{
		{"duplicate keys", `{"msg":"a","MSG":"b"}`, "MSG", "duplicate key", Invalid},
		{"duplicate nested keys", `{"message":"a","o":{"k":1,"k":2}}`, "", "duplicate key", Invalid},
		{"attribute collision", `{"message":"a","k":1,"attributes":{"k":2}}`, "k", "both", Invalid},
		{"invalid utf-8", "{\"message\":\"a\xff\"}", "", "UTF-8", Invalid},
		{"invalid utf-8 in a key", "{\"message\":\"a\",\"\xc3\":1}", "", "UTF-8", Invalid},
		{"no message", `{"level":"info"}`, "message", "message is required", Invalid},
		{"broken json", `{"message":"x",}`, "", "invalid JSON", Malformed},
		{"truncated", `{"message":"x"`, "", "ends too early", Malformed},
		{"not an object", `"hello"`, "", "JSON object", Malformed},
		{"array line", `[1,2]`, "", "JSON object", Malformed},
		{"raw newline in string", "{\"message\":\"a", "", "", Malformed},
		{"too deep", `{"message":"x","attributes":` + nested(9) + `}`, "attributes", "deeper than 8", Invalid},
		{"too deep top-level field", `{"message":"x","a":` + nested(9) + `}`, "attributes", "deeper than 8", Invalid},
		{"very deep", `{"message":"x","a":` + strings.Repeat("[", 100000) + `}`, "attributes", "deeper than 8", Invalid},
		{"too many fields", `{"message":"x"` + strings.Repeat(`,"k":1`, 1)[:0] + manyFields(100) + `}`, "attributes", "fields", Invalid},
		{"entry too large", `{"message":"x","a":"` + strings.Repeat("z", 64<<10) + `"}`, "", "larger than", TooLarge},
		{"long service", `{"message":"x","app":"` + strings.Repeat("s", 129) + `"}`, "service", "longer than", Invalid},
		{"future", `{"message":"x","time":"2026-11-25T12:00:00Z"}`, "time", "future", Invalid},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			body := good + "\n" + tc.line + "\n" + good + "\n"
			b := lenientDecode(t, body, DecodeOptions{})
			if len(b.Entries) != 2 || b.Rejected != 1 || len(b.Errors) != 1 {
				t.Fatalf("%d accepted, %d rejected: %+v", len(b.Entries), b.Rejected, b.Errors)
			}
			r := b.Errors[0]
			if r.Line != 2 || r.Entry != 2 || r.Kind != tc.kind || r.Field != tc.field || !strings.Contains(r.Reason, tc.reason) {
				t.Fatalf("got %+v\nwant line 2 entry 2 kind %d field %q reason ~%q", r, tc.kind, tc.field, tc.reason)
			}
		})
	}
}

func manyFields(n int) string {
	var sb strings.Builder
	for i := range n {
		fmt.Fprintf(&sb, `,"k%d":1`, i)
	}
	return sb.String()
}

func TestDecodeLinesPartial(t *testing.T) {
	var sb strings.Builder
	for i := 1; i <= 1000; i++ {
		if i == 500 {
			sb.WriteString(`{"msg":"bad","time":"not a time"}` + "\n")
			continue
		}
		fmt.Fprintf(&sb, `{"msg":"line %d","level":"info"}`+"\n", i)
	}
	b := lenientDecode(t, sb.String(), DecodeOptions{})
	if len(b.Entries) != 999 || b.Rejected != 1 || b.Errors[0].Line != 500 {
		t.Fatalf("%d accepted, %d rejected, %+v", len(b.Entries), b.Rejected, b.Errors)
	}
	// Only the first MaxReportedErrors are listed, every one is counted.
	body := strings.Repeat("nope\n", 50) + `{"message":"ok"}`
	b = lenientDecode(t, body, DecodeOptions{})
	if len(b.Entries) != 1 || b.Rejected != 50 || len(b.Errors) != MaxReportedErrors || b.Errors[19].Line != 20 || b.Kind() != Malformed {
		t.Fatalf("%d accepted, %d rejected, %d listed", len(b.Entries), b.Rejected, len(b.Errors))
	}
	// A broken line does not swallow the lines after it; a pretty-printed
	// object is still one entry.
	body = "{\"message\":\"a\",\"x\":[1,\n{\"message\":\"b\"}\n{\n  \"message\": \"c\",\n  \"o\": {\n    \"k\": 1\n  }\n}\n"
	b = lenientDecode(t, body, DecodeOptions{})
	if len(b.Entries) != 2 || b.Entries[0].Message != "b" || b.Entries[1].Message != "c" || b.Rejected != 1 || b.Errors[0].Line != 1 {
		t.Fatalf("resync: %d accepted %+v, errors %+v", len(b.Entries), b.Entries, b.Errors)
	}
	// Arrays: bad elements are refused one by one; an array that is not
	// JSON is refused whole.
	b = lenientDecode(t, `[{"message":"a"}, 3, {"level":"x"}, {"message":"d","k":1,"K":2}, {"msg":"e"}]`, DecodeOptions{})
	if len(b.Entries) != 2 || b.Rejected != 3 || b.Errors[0].Entry != 2 || b.Errors[2].Entry != 4 || b.Kind() != Invalid {
		t.Fatalf("array: %d accepted, %+v", len(b.Entries), b.Errors)
	}
	for _, body := range []string{`[{"message":"a"},{"message":}]`, `[{"message":"a"}`, `[{"message":"a"}] x`} {
		var de *DecodeError
		if _, err := DecodeLines([]byte(body), now, DefaultLimits, DecodeOptions{}); !errors.As(err, &de) || de.Kind != Malformed {
			t.Errorf("%s: %v", body, err)
		}
	}
	// Every line too large: the batch fails as too large.
	big := `{"message":"` + strings.Repeat("m", 70<<10) + `"}` + "\n"
	if b := lenientDecode(t, big+big, DecodeOptions{}); b.Rejected != 2 || b.Kind() != TooLarge {
		t.Fatalf("too large: %+v", b.Errors)
	}
}

func TestDecodeLinesRequestLimits(t *testing.T) {
	var de *DecodeError
	lim := DefaultLimits
	lim.MaxEntries = 3
	if _, err := DecodeLines([]byte(strings.Repeat(`{"message":"x"}`+"\n", 4)), now, lim, DecodeOptions{}); !errors.As(err, &de) || de.Kind != TooLarge || de.Line != 4 {
		t.Fatalf("entries: %v", err)
	}
	for _, body := range []string{"", " \n "} {
		if _, err := DecodeLines([]byte(body), now, DefaultLimits, DecodeOptions{}); !errors.As(err, &de) || de.Kind != Malformed {
			t.Fatalf("empty: %v", err)
		}
	}
}

// hostileBody is 16 MiB of lines full of tiny values, each of which costs
// far more decoded than its bytes.
func hostileBody() []byte {
	line := `{"message":"x","attributes":{"a":[` + strings.Repeat("[],", 20000) + `[]]}}` + "\n"
	return []byte(strings.Repeat(line, (16<<20)/len(line)))
}

// The decoded data of a request stays a small multiple of its body: today
// a few KB of gzip holding attribute arrays grew the heap by 300 MB.
func TestDecodeMemoryIsBounded(t *testing.T) {
	body := hostileBody()
	for _, c := range []struct {
		name   string
		decode func() error
	}{
		{"lenient", func() error { _, err := DecodeLines(body, now, DefaultLimits, DecodeOptions{}); return err }},
		{"strict", func() error { _, err := Decode(body, now, DefaultLimits); return err }},
	} {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		err := c.decode()
		runtime.ReadMemStats(&after)
		var de *DecodeError
		if !errors.As(err, &de) || de.Kind != TooLarge {
			t.Errorf("%s: err = %v, want too large", c.name, err)
		}
		if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 10*uint64(len(body)) {
			t.Errorf("%s: decoding %d bytes allocated %d", c.name, len(body), alloc)
		}
	}
}

// realisticBody is about 16 MiB of typical lines (what BenchmarkDecode
// sends), which the memory bound must not refuse.
func realisticBody(limit, lines int) []byte {
	var sb strings.Builder
	for i := 0; sb.Len() < limit-400 && i < lines; i++ {
		fmt.Fprintf(&sb, `{"time":"2026-11-25T09:%02d:00Z","level":"info","service":"checkout","message":"request %d handled in %dms","trace_id":"tr-%08x","attributes":{"host":"web-%d","region":"eu-west-1","http.status":200,"duration_ms":%d}}`+"\n", i%60, i, i%997, i, i%16, i%1500)
	}
	return []byte(sb.String())
}

func TestDecodeMemoryBoundKeepsFullBodies(t *testing.T) {
	body := realisticBody(int(DefaultLimits.MaxBody), DefaultLimits.MaxEntries)
	t.Logf("%d bytes, strict estimate %d bytes decoded", len(body), estimateDecoded(body))
	b, err := DecodeLines(body, now, DefaultLimits, DecodeOptions{})
	if err != nil || b.Rejected != 0 {
		t.Fatalf("lenient: %v %+v", err, b)
	}
	if _, err := Decode(body, now, DefaultLimits); err != nil {
		t.Fatalf("strict: %v", err)
	}
}

func FuzzDecodeLines(f *testing.F) {
	seeds := []string{
		`{"message":"a"}`,
		`{"level":30,"time":1795598400123,"pid":1,"hostname":"h","msg":"m"}`,
		`[{"msg":"a","lvl":"notice"},3,{"message":"b","attributes":{"k":[1,{"x":null}]}}]`,
		"{\"msg\":\"a\",\"x\":[1,\n{\"message\":\"b\"}\n{\n \"message\":\"c\"\n}\n",
		`{"log":{"level":"warn"},"service":{"name":"s"},"message":"m","trace":{"id":"t"}}`,
		`{"msg":"a","MSG":"b"}`,
		"{\"message\":\"\xff\"}",
		`{"message":"\ud800\u0041 \ud83d\ude00"}`,
		`{"message":"x","ts":"1795598400.123456789"}`,
		"nope\n{\"message\":\"ok\"} tail\n",
		"[]", " [ \n ] ",
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	lim := DefaultLimits
	lim.MaxEntryBytes = 4 << 10
	f.Fuzz(func(t *testing.T, body []byte) {
		b, err := DecodeLines(body, now, lim, DecodeOptions{})
		if err != nil {
			var de *DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("error is not a DecodeError: %v", err)
			}
			return
		}
		lines := strings.Count(string(body), "\n") + 1
		// Only an empty array may hold nothing: a body that decodes has
		// something, accepted or refused.
		empty := strings.Trim(string(body), "[] \t\r\n") == "" && strings.Contains(string(body), "[")
		if len(b.Entries)+b.Rejected == 0 && !empty || len(b.Errors) > MaxReportedErrors || len(b.Errors) > b.Rejected {
			t.Fatalf("accepted %d, rejected %d, listed %d for %q", len(b.Entries), b.Rejected, len(b.Errors), body)
		}
		for _, r := range b.Errors {
			if r.Line < 1 || r.Line > lines || r.Reason == "" {
				t.Fatalf("bad rejection %+v for %q", r, body)
			}
		}
		for _, e := range b.Entries {
			if !e.Level.Valid() || strings.TrimSpace(e.Message) == "" || e.Time.IsZero() {
				t.Fatalf("invalid entry accepted: %+v", e)
			}
			if err := CheckEntry(&e, now, lim); err != nil {
				t.Fatalf("accepted entry fails CheckEntry: %v", err)
			}
			if _, err := json.Marshal(e); err != nil {
				t.Fatalf("entry does not encode: %v", err)
			}
		}
		// One object on one line: the reader agrees with encoding/json on
		// what is JSON (invalid UTF-8 aside, which it refuses on purpose).
		if trimmed := strings.TrimSpace(string(body)); len(b.Entries) == 1 && b.Rejected == 0 && !strings.Contains(trimmed, "\n") &&
			strings.HasPrefix(trimmed, "{") && !json.Valid([]byte(trimmed)) {
			t.Fatalf("accepted what is not JSON: %q", body)
		}
		if trimmed := strings.TrimSpace(string(body)); strings.HasPrefix(trimmed, "{") && !strings.ContainsAny(trimmed, "\n\r") && json.Valid([]byte(trimmed)) &&
			b.Rejected == 1 && b.Errors[0].Kind == Malformed {
			t.Fatalf("refused valid JSON as malformed: %q: %+v", body, b.Errors[0])
		}
	})
}

func BenchmarkDecodeLines(b *testing.B) {
	for _, c := range []struct {
		name string
		line func(i int) string
	}{
		{"paymon", func(i int) string {
			return fmt.Sprintf(`{"time":"2026-11-25T09:%02d:00Z","level":"info","service":"checkout","message":"request %d handled in %dms","trace_id":"tr-%08x","attributes":{"host":"web-%d","region":"eu-west-1","http.status":200,"duration_ms":%d}}`, i%60, i, i%997, i, i%16, i%1500)
		}},
		{"pino", func(i int) string {
			return fmt.Sprintf(`{"level":30,"time":%d,"pid":4242,"hostname":"web-%d","msg":"request %d handled in %dms","reqId":"r-%08x","statusCode":200}`, 1795598400000+int64(i), i%16, i, i%997, i)
		}},
	} {
		b.Run(c.name, func(b *testing.B) {
			var sb strings.Builder
			for i := range 5000 {
				sb.WriteString(c.line(i) + "\n")
			}
			body := []byte(sb.String())
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				if r, err := DecodeLines(body, now, DefaultLimits, DecodeOptions{}); err != nil || r.Rejected != 0 {
					b.Fatal(err, r.Errors)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*5000), "ns/line")
		})
	}
}
