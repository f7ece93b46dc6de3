package logproto

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/snappy"

	"github.com/paymon/paymon/internal/logbook"
)

func testOptions() Options {
	return Options{Now: time.Now(), Limits: logbook.DefaultLimits}
}

func TestParseLokiLabels(t *testing.T) {
	for _, c := range []struct {
		in   string
		want map[string]string
		bad  bool
	}{
		{`{}`, map[string]string{}, false},
		{`{a="1"}`, map[string]string{"a": "1"}, false},
		{` { a = "1" , b="two words",c="q\"uote\\d"} `, map[string]string{"a": "1", "b": "two words", "c": `q"uote\d`}, false},
		{`{a="1",}`, map[string]string{"a": "1"}, false},
		{`{a="é\u00e9"}`, map[string]string{"a": "éé"}, false},
		{`a="1"`, nil, true},
		{`{a=1}`, nil, true},
		{`{a="1}`, nil, true},
		{`{="1"}`, nil, true},
		{`{a}`, nil, true},
		{`{a="\q"}`, nil, true},
		{`{a="x\"}`, nil, true},
	} {
		got, err := parseLokiLabels(c.in)
		if (err != nil) != c.bad {
			t.Errorf("%s: err %v, want bad=%v", c.in, err, c.bad)
			continue
		}
		if !c.bad && fmt.Sprint(got) != fmt.Sprint(c.want) {
			t.Errorf("%s: %v, want %v", c.in, got, c.want)
		}
	}
}

// A snappy block announces its decoded length: one above the body limit
// is refused before anything is allocated for it.
func TestLokiProtobufBombIsRefusedUpFront(t *testing.T) {
	o := LokiOptions{Options: testOptions()}
	o.Limits.MaxBody = 1 << 10
	body := snappy.Encode(nil, make([]byte, 4<<10))
	_, err := DecodeLokiProtobuf(body, o)
	var de *logbook.DecodeError
	if !errors.As(err, &de) || de.Kind != logbook.TooLarge {
		t.Fatalf("err = %v, want a TooLarge DecodeError", err)
	}
}

func TestLokiTooManyEntries(t *testing.T) {
	o := LokiOptions{Options: testOptions()}
	o.Limits.MaxEntries = 2
	_, err := DecodeLokiJSON([]byte(`{"streams":[{"stream":{},"values":[["0","a"],["0","b"],["0","c"]]}]}`), o)
	var de *logbook.DecodeError
	if !errors.As(err, &de) || de.Kind != logbook.TooLarge {
		t.Fatalf("err = %v, want TooLarge", err)
	}
}

// More refused documents than a lenient batch lists: each item must
// still get its own outcome, in order.
func TestBulkItemsStayPairedPastTheReportedErrors(t *testing.T) {
	var b strings.Builder
	var wantOK []bool
	for i := range 3 * MaxReported {
		b.WriteString(`{"index":{}}` + "\n")
		if i%3 == 0 {
			fmt.Fprintf(&b, `{"message":"good %d"}`+"\n", i)
			wantOK = append(wantOK, true)
		} else {
			fmt.Fprintf(&b, `{"no_message":%d}`+"\n", i)
			wantOK = append(wantOK, false)
		}
	}
	res, err := DecodeBulk([]byte(b.String()), ESOptions{Options: testOptions()})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Items) != len(wantOK) || res.Rejected != 2*MaxReported || len(res.Errors) != MaxReported {
		t.Fatalf("items %d rejected %d errors %d", len(res.Items), res.Rejected, len(res.Errors))
	}
	for i, it := range res.Items {
		if ok := it.Status == 201; ok != wantOK[i] {
			t.Errorf("item %d: status %d, want ok=%v", i+1, it.Status, wantOK[i])
			continue
		}
		if it.Status == 201 && res.Entries[it.Entry].Message != fmt.Sprintf("good %d", i) {
			t.Errorf("item %d paired with entry %q", i+1, res.Entries[it.Entry].Message)
		}
	}
}

func TestOTLPResponseEncodings(t *testing.T) {
	clean := &Result{}
	if got := OTLPResponse(clean, false); len(got) != 0 {
		t.Errorf("protobuf, clean: %x", got)
	}
	if got := string(OTLPResponse(clean, true)); got != "{}" {
		t.Errorf("JSON, clean: %s", got)
	}
	r := &Result{Entries: make([]logbook.Entry, 2)}
	r.reject(3, "message is required")
	if got := string(OTLPResponse(r, true)); got != `{"partialSuccess":{"errorMessage":"1 of 3 items refused; item 3: message is required","rejectedLogRecords":"1"}}` {
		t.Errorf("JSON, partial: %s", got)
	}
}

// FuzzDecoders: no body makes a decoder panic (seeds run with go test;
// go test -fuzz=FuzzDecoders explores further).
func FuzzDecoders(f *testing.F) {
	f.Add([]byte("\x0a\x10\x0a\x06{a=\"b\"}\x12\x06\x12\x04line"))
	f.Add([]byte("\x0a\xff\xff\xff\xff\x0f"))
	f.Add([]byte(`{"streams":[{"stream":{"a":"b"},"values":[["1","x",{"k":"v"}]]}]}`))
	f.Add([]byte(`{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"body":{"stringValue":"x"},"traceId":"5b8efff798038103d269b633813fc60c"}]}]}]}`))
	f.Add([]byte("{\"index\":{}}\n{\"message\":\"m\"}\n{\"delete\":{}}\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		o := testOptions()
		_, _ = DecodeLokiProtobuf(snappy.Encode(nil, b), LokiOptions{Options: o})
		_, _ = DecodeLokiJSON(b, LokiOptions{Options: o})
		_, _ = DecodeOTLPProtobuf(b, o)
		_, _ = DecodeOTLPJSON(b, o)
		_, _ = DecodeBulk(b, ESOptions{Options: o})
	})
}
