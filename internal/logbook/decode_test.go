package logbook

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

var now = time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)

func decode(t *testing.T, body string) []Entry {
	t.Helper()
	es, err := Decode([]byte(body), now, DefaultLimits)
	if err != nil {
		t.Fatalf("Decode(%q): %v", body, err)
	}
	return es
}

func TestDecodeShapes(t *testing.T) {
	cases := []struct {
		name, body string
		msgs       []string
	}{
		{"one object", `{"message":"a"}`, []string{"a"}},
		{"one pretty object", "{\n  \"message\": \"a\",\n  \"level\": \"warn\"\n}\n", []string{"a"}},
		{"array", `[{"message":"a"},{"message":"b"}]`, []string{"a", "b"}},
		{"pretty array", "[\n {\"message\":\"a\"},\n {\"message\":\"b\"}\n]\n", []string{"a", "b"}},
		{"ndjson", "{\"message\":\"a\"}\n{\"message\":\"b\"}\n{\"message\":\"c\"}", []string{"a", "b", "c"}},
		{"ndjson crlf and blank lines", "{\"message\":\"a\"}\r\n\r\n{\"message\":\"b\"}\r\n", []string{"a", "b"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			es := decode(t, tc.body)
			var got []string
			for _, e := range es {
				got = append(got, e.Message)
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.msgs) {
				t.Fatalf("messages = %v, want %v", got, tc.msgs)
			}
		})
	}
}

func TestDecodeFields(t *testing.T) {
	es := decode(t, `{"time":"2026-11-25T09:59:58.123456+01:00","level":"ERROR","service":"checkout","message":"m",
		"attributes":{"n":12345678901234567890,"f":1.5,"o":{"a":[1,"x",null]}},"trace_id":"tr","payment_id":"pay_1"}`)
	e := es[0]
	if !e.Time.Equal(time.Date(2026, 11, 25, 8, 59, 58, 123456000, time.UTC)) || e.Time.Location() != time.UTC {
		t.Errorf("time = %v", e.Time)
	}
	if e.Level != LevelError || e.Service != "checkout" || e.TraceID != "tr" || e.PaymentID != "pay_1" {
		t.Errorf("fields = %+v", e)
	}
	if e.Attributes["n"] != json.Number("12345678901234567890") {
		t.Errorf("large numbers must keep their digits, got %v", e.Attributes["n"])
	}
	// Defaults: receipt time, info, service "unknown", "warning" read as warn.
	d := decode(t, `{"message":"m"}`+"\n"+`{"message":"m","level":"warning"}`)
	if !d[0].Time.Equal(now) || d[0].Level != LevelInfo || d[0].Service != "unknown" || d[1].Level != LevelWarn {
		t.Errorf("defaults = %+v / %+v", d[0], d[1])
	}
}

func nested(depth int) string {
	return strings.Repeat(`{"a":`, depth) + "1" + strings.Repeat("}", depth)
}

func TestDecodeRejects(t *testing.T) {
	manyAttrs := make([]string, 65)
	for i := range manyAttrs {
		manyAttrs[i] = fmt.Sprintf(`"k%d":1`, i)
	}
	okLine := `{"message":"fine"}`
	cases := []struct {
		name       string
		body       string
		kind       DecodeErrorKind
		line, ent  int
		field, msg string
	}{
		{"empty", "  \n", Malformed, 0, 0, "", "empty"},
		{"not json", "hello", Malformed, 1, 1, "", "JSON object"},
		{"broken object", "{hello", Malformed, 1, 1, "", "invalid JSON"},
		{"bad third line", okLine + "\n" + okLine + "\n{\"message\":\"x\",}\n" + okLine, Malformed, 3, 3, "", "invalid JSON"},
		{"blank lines count", okLine + "\n\n\n{\"message\":3}", Invalid, 4, 2, "message", "message must be a string"},
		{"truncated last line", okLine + "\n{\"message\":\"x\"", Malformed, 2, 2, "", "ends too early"},
		{"array of numbers", `[1,2]`, Malformed, 1, 1, "", "JSON object"},
		{"string entry", `"hello"`, Malformed, 1, 1, "", "JSON object"},
		{"empty array", `[]`, Invalid, 0, 0, "", "no entries"},
		{"trailing after array", `[{"message":"a"}] x`, Malformed, 1, 2, "", "after the JSON array"},
		{"second array element bad", "[\n" + okLine + ",\n{\"level\":\"nope\",\"message\":\"x\"}\n]", Invalid, 3, 2, "level", "level must be"},
		{"missing message", `{"level":"info"}`, Invalid, 1, 1, "message", "message is required"},
		{"blank message", `{"message":"   "}`, Invalid, 1, 1, "message", "message is required"},
		{"unknown field", `{"message":"x","msg":"y"}`, Invalid, 1, 1, "msg", "unknown field"},
		{"bad time", `{"message":"x","time":"yesterday"}`, Invalid, 1, 1, "time", "RFC 3339"},
		{"time as number", `{"message":"x","time":1700000000}`, Invalid, 1, 1, "time", "time must be a string"},
		{"future time", `{"message":"x","time":"2026-11-25T12:00:00Z"}`, Invalid, 1, 1, "time", "future"},
		{"ancient time", `{"message":"x","time":"1970-01-01T00:00:00Z"}`, Invalid, 1, 1, "time", "2000"},
		{"attributes not object", `{"message":"x","attributes":[1]}`, Invalid, 1, 1, "attributes", "attributes must be an object"},
		{"65 attributes", `{"message":"x","attributes":{` + strings.Join(manyAttrs, ",") + `}}`, Invalid, 1, 1, "attributes", "at most 64"},
		{"depth 9", `{"message":"x","attributes":` + nested(9) + `}`, Invalid, 1, 1, "attributes.a.a.a.a.a.a.a.a", "deeper than 8"},
		{"deep arrays", `{"message":"x","attributes":{"a":` + strings.Repeat("[", 9) + strings.Repeat("]", 9) + `}}`, Invalid, 1, 1, "attributes.a", "deeper than 8"},
		{"long message", `{"message":"` + strings.Repeat("m", 16<<10+1) + `"}`, Invalid, 1, 1, "message", "longer than"},
		{"long service", `{"message":"x","service":"` + strings.Repeat("s", 129) + `"}`, Invalid, 1, 1, "service", "longer than"},
		{"control char in service", `{"message":"x","service":"a\nb"}`, Invalid, 1, 1, "service", "printable"},
		{"entry too large", `{"message":"x","attributes":{"a":"` + strings.Repeat("z", 64<<10) + `"}}`, TooLarge, 1, 1, "", "larger than"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Decode([]byte(tc.body), now, DefaultLimits)
			var de *DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("err = %v, want a DecodeError", err)
			}
			if de.Kind != tc.kind || de.Line != tc.line || de.Entry != tc.ent || de.Field != tc.field || !strings.Contains(de.Msg, tc.msg) {
				t.Fatalf("got kind %d line %d entry %d field %q msg %q\nwant kind %d line %d entry %d field %q msg ~%q",
					de.Kind, de.Line, de.Entry, de.Field, de.Msg, tc.kind, tc.line, tc.ent, tc.field, tc.msg)
			}
		})
	}
}

func TestDecodeLimitsOnCounts(t *testing.T) {
	lim := DefaultLimits
	lim.MaxEntries = 3
	body := strings.Repeat(`{"message":"x"}`+"\n", 4)
	_, err := Decode([]byte(body), now, lim)
	var de *DecodeError
	if !errors.As(err, &de) || de.Kind != TooLarge || de.Line != 4 {
		t.Fatalf("err = %v", err)
	}
	lim = DefaultLimits
	lim.MaxBody = 10
	if _, err := Decode([]byte(`{"message":"too long"}`), now, lim); !errors.As(err, &de) || de.Kind != TooLarge {
		t.Fatalf("err = %v", err)
	}
	// Exactly at the depth and attribute limits is fine.
	ok := `{"message":"x","attributes":` + nested(8) + `}`
	if _, err := Decode([]byte(ok), now, DefaultLimits); err != nil {
		t.Fatalf("depth 8: %v", err)
	}
}

func FuzzDecode(f *testing.F) {
	seeds := []string{
		`{"message":"a"}`,
		`[{"message":"a","level":"error"},{"message":"b"}]`,
		"{\"message\":\"a\"}\n{\"message\":\"b\",\"attributes\":{\"k\":[1,{\"x\":null}]}}\n",
		`{"time":"2026-11-25T09:00:00Z","level":"warn","service":"s","message":"card 4111 1111 1111 1111","trace_id":"t","payment_id":"p"}`,
		`{"message":"x","attributes":` + nested(9) + `}`,
		`[{"message":"a"}`,
		`{"message":"x"} trailing`,
		"\n\n[ ]",
		`{"message":"Bearer abcdefghijkl password=x sk_live_abcdefghijk"}`,
		"\xff\xfe{",
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	lim := DefaultLimits
	lim.MaxEntryBytes = 4 << 10
	f.Fuzz(func(t *testing.T, body []byte) {
		es, err := Decode(body, now, lim)
		if err != nil {
			var de *DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("error is not a DecodeError: %v", err)
			}
			if de.Line < 0 || de.Line > strings.Count(string(body), "\n")+1 {
				t.Fatalf("line %d out of range for %q", de.Line, body)
			}
			return
		}
		if len(es) == 0 {
			t.Fatalf("no error and no entries for %q", body)
		}
		for _, e := range es {
			if !e.Level.Valid() || strings.TrimSpace(e.Message) == "" || e.Time.IsZero() {
				t.Fatalf("invalid entry accepted: %+v", e)
			}
			// Redaction must not panic and must be idempotent.
			r := Redact(e.Message)
			if Redact(r) != r {
				t.Fatalf("redaction not idempotent: %q -> %q -> %q", e.Message, r, Redact(r))
			}
			RedactAttributes(e.Attributes)
			if _, err := json.Marshal(e); err != nil {
				t.Fatalf("entry does not encode: %v", err)
			}
		}
	})
}

func BenchmarkDecode(b *testing.B) {
	var sb strings.Builder
	for i := range 5000 {
		fmt.Fprintf(&sb, `{"time":"2026-11-25T09:%02d:00Z","level":"info","service":"checkout","message":"request %d handled in %dms","trace_id":"tr-%08x","attributes":{"host":"web-%d","region":"eu-west-1","http.status":200,"duration_ms":%d}}`+"\n", i%60, i, i%997, i, i%16, i%1500)
	}
	body := []byte(sb.String())
	b.SetBytes(int64(len(body)))
	b.ResetTimer()
	for b.Loop() {
		if _, err := Decode(body, now, DefaultLimits); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*5000), "ns/line")
}
