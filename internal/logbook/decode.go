package logbook

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"
)

// Limits bound what one ingest request may hold. Each is checked per
// entry, so the error names the entry that broke it.
type Limits struct {
	MaxBody       int64 // decompressed body bytes
	MaxEntries    int   // entries per request
	MaxEntryBytes int   // bytes of one JSON entry
	MaxMessage    int   // bytes of a message
	MaxAttributes int   // top-level attribute keys
	MaxDepth      int   // nesting of attribute objects/arrays (attributes itself is 1)
	MaxField      int   // bytes of service, trace_id, payment_id and attribute keys
	// MaxFuture is how far in the future an entry's time may be; later
	// times are refused so that a clock error cannot hide entries from
	// time-range searches (which rely on it).
	MaxFuture time.Duration
	// MaxDecoded bounds the estimated memory the decoded entries of one
	// request take (0: eight times MaxBody). Tiny values (`[[],[],…]`)
	// cost far more decoded than their bytes; this keeps a request's heap
	// a small multiple of its body whatever it holds.
	MaxDecoded int64
}

// DefaultLimits are the documented ingest limits (docs/logs.md).
var DefaultLimits = Limits{
	MaxBody:       16 << 20,
	MaxEntries:    50_000,
	MaxEntryBytes: 64 << 10,
	MaxMessage:    16 << 10,
	MaxAttributes: 64,
	MaxDepth:      8,
	MaxField:      128,
	MaxFuture:     time.Hour,
	MaxDecoded:    128 << 20,
}

// DecodeErrorKind says how a request body failed, so the HTTP layer can
// choose 400, 413 or 422 without parsing messages.
type DecodeErrorKind int

const (
	Malformed DecodeErrorKind = iota // not JSON / not an object: 400
	Invalid                          // JSON, but breaks a rule: 422
	TooLarge                         // a size limit: 413
)

// DecodeError is the first problem found in a batch; the whole batch is
// refused. Line is 1-based in the (decompressed) body; Entry is the
// 1-based position of the entry in the batch.
type DecodeError struct {
	Kind  DecodeErrorKind
	Line  int
	Entry int
	Field string
	Msg   string
}

func (e *DecodeError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("line %d (entry %d): %s", e.Line, e.Entry, e.Msg)
	}
	return e.Msg
}

// wireEntry is what a client may send; unknown fields are refused so a
// typo ("msg", "lvl") is not silently dropped — extra data belongs in
// attributes.
type wireEntry struct {
	Time       string         `json:"time"`
	Level      string         `json:"level"`
	Service    string         `json:"service"`
	Message    string         `json:"message"`
	Attributes map[string]any `json:"attributes"`
	TraceID    string         `json:"trace_id"`
	PaymentID  string         `json:"payment_id"`
}

// Decode is the strict decoder (POST /api/v1/logs?strict=true; DecodeLines
// is the lenient one): it parses a request body, one JSON object, a JSON
// array of objects, or NDJSON (one object per line; blank lines are
// skipped), and refuses the whole batch at the first bad entry, unknown
// fields included. The shape is recognised from the content, so NDJSON
// sent as application/json works too. now is the receipt time, used for
// entries without a time. Entries are validated but not yet redacted and
// have no id.
func Decode(body []byte, now time.Time, lim Limits) ([]Entry, error) {
	if int64(len(body)) > lim.MaxBody {
		return nil, &DecodeError{Kind: TooLarge, Msg: fmt.Sprintf("the decompressed body exceeds %d bytes", lim.MaxBody)}
	}
	if estimateDecoded(body) > lim.maxDecoded() {
		return nil, &DecodeError{Kind: TooLarge, Msg: fmt.Sprintf("the decoded entries would take more than %d bytes of memory; split the batch", lim.maxDecoded())}
	}
	start := skipSpace(body, 0)
	if start == len(body) {
		return nil, &DecodeError{Kind: Malformed, Msg: "the body is empty; send a JSON object, a JSON array or NDJSON"}
	}
	d := &decoder{body: body, now: now.UTC(), lim: lim}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	dec.DisallowUnknownFields()
	if body[start] == '[' {
		return d.array(dec)
	}
	return d.stream(dec)
}

type decoder struct {
	body []byte
	now  time.Time
	lim  Limits
	out  []Entry
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

func (d *decoder) line(off int64) int {
	if off > int64(len(d.body)) {
		off = int64(len(d.body))
	}
	return bytes.Count(d.body[:off], []byte{'\n'}) + 1
}

func (d *decoder) array(dec *json.Decoder) ([]Entry, error) {
	if _, err := dec.Token(); err != nil {
		return nil, d.jsonErr(err, 0, 1)
	}
	n := 0
	for dec.More() {
		n++
		off := dec.InputOffset()
		if err := d.one(dec, off, n); err != nil {
			return nil, err
		}
	}
	if _, err := dec.Token(); err != nil {
		return nil, d.jsonErr(err, dec.InputOffset(), n+1)
	}
	if i := skipSpace(d.body, int(dec.InputOffset())); i != len(d.body) {
		return nil, &DecodeError{Kind: Malformed, Line: d.line(int64(i)), Entry: n + 1, Msg: "unexpected data after the JSON array"}
	}
	if n == 0 {
		return nil, &DecodeError{Kind: Invalid, Msg: "the array holds no entries"}
	}
	return d.out, nil
}

func (d *decoder) stream(dec *json.Decoder) ([]Entry, error) {
	n := 0
	for {
		off := int64(skipSpace(d.body, int(dec.InputOffset())))
		if off == int64(len(d.body)) {
			return d.out, nil
		}
		n++
		if err := d.one(dec, off, n); err != nil {
			return nil, err
		}
	}
}

// one decodes the entry starting at off (whitespace before it allowed).
func (d *decoder) one(dec *json.Decoder, off int64, n int) error {
	start := int64(skipSpace(d.body, int(off)))
	if start < int64(len(d.body)) && d.body[start] == ',' {
		start = int64(skipSpace(d.body, int(start)+1)) // between array elements
	}
	if n > d.lim.MaxEntries {
		return &DecodeError{Kind: TooLarge, Line: d.line(start), Entry: n, Msg: fmt.Sprintf("a request may hold at most %d entries", d.lim.MaxEntries)}
	}
	if start < int64(len(d.body)) && d.body[start] != '{' {
		return &DecodeError{Kind: Malformed, Line: d.line(start), Entry: n, Msg: "each entry must be a JSON object"}
	}
	var w wireEntry
	err := dec.Decode(&w)
	if size := dec.InputOffset() - start; size > int64(d.lim.MaxEntryBytes) {
		return &DecodeError{Kind: TooLarge, Line: d.line(start), Entry: n, Msg: fmt.Sprintf("the entry is larger than %d bytes", d.lim.MaxEntryBytes)}
	}
	if err != nil {
		return d.jsonErr(err, start, n)
	}
	e, err := d.validate(&w)
	if err != nil {
		var de *DecodeError
		if errors.As(err, &de) {
			de.Line, de.Entry = d.line(start), n
		}
		return err
	}
	d.out = append(d.out, e)
	return nil
}

func (d *decoder) jsonErr(err error, start int64, n int) error {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return &DecodeError{Kind: Malformed, Line: d.line(se.Offset), Entry: n, Msg: "invalid JSON: " + se.Error()}
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return &DecodeError{Kind: Malformed, Line: d.line(start), Entry: n, Msg: "the JSON ends too early"}
	case errors.As(err, &te):
		if te.Field == "" {
			return &DecodeError{Kind: Malformed, Line: d.line(start), Entry: n, Msg: "each entry must be a JSON object"}
		}
		return &DecodeError{Kind: Invalid, Line: d.line(start), Entry: n, Field: te.Field, Msg: fmt.Sprintf("%s must be %s, got %s", te.Field, kindName(te.Type.Kind().String()), te.Value)}
	case strings.HasPrefix(err.Error(), "json: unknown field"):
		f := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return &DecodeError{Kind: Invalid, Line: d.line(start), Entry: n, Field: f, Msg: fmt.Sprintf("unknown field %q; the fields are time, level, service, message, attributes, trace_id, payment_id (put anything else in attributes)", f)}
	}
	return &DecodeError{Kind: Malformed, Line: d.line(start), Entry: n, Msg: err.Error()}
}

func kindName(k string) string {
	switch k {
	case "map":
		return "an object"
	case "slice":
		return "an array"
	case "string":
		return "a string"
	}
	return "a " + k
}

func invalid(field, format string, a ...any) *DecodeError {
	return &DecodeError{Kind: Invalid, Field: field, Msg: fmt.Sprintf(format, a...)}
}

func (d *decoder) validate(w *wireEntry) (Entry, error) {
	e := Entry{Time: d.now, Level: LevelInfo, Service: w.Service, Message: w.Message, Attributes: w.Attributes, TraceID: w.TraceID, PaymentID: w.PaymentID}
	if w.Time != "" {
		t, err := time.Parse(time.RFC3339Nano, w.Time)
		if err != nil {
			return e, invalid("time", "time must be an RFC 3339 time like 2026-01-02T15:04:05.123Z")
		}
		e.Time = t.UTC()
	}
	if w.Level != "" {
		e.Level = Level(strings.ToLower(w.Level))
		if e.Level == "warning" {
			e.Level = LevelWarn
		}
		if !e.Level.Valid() {
			return e, invalid("level", "level must be debug, info, warn, error or fatal, got %q", w.Level)
		}
	}
	return e, CheckEntry(&e, d.now, d.lim)
}

// CheckEntry applies the rules every stored entry keeps, whatever
// protocol brought it: a time neither far in the future nor before 2000,
// a message within bounds, printable bounded ids and service ("unknown"
// when empty), and attributes within the key, count and depth limits.
// Every ingest path calls it before Service.Ingest. The error is a
// *DecodeError of kind Invalid.
func CheckEntry(e *Entry, now time.Time, lim Limits) error {
	if e.Time.IsZero() {
		e.Time = now
	}
	if e.Time.After(now.Add(lim.MaxFuture)) {
		return invalid("time", "time is more than %s in the future; check the sender's clock", lim.MaxFuture)
	}
	if e.Time.Year() < 2000 {
		return invalid("time", "time is before the year 2000")
	}
	if !e.Level.Valid() {
		e.Level = LevelInfo
	}
	if strings.TrimSpace(e.Message) == "" {
		return invalid("message", "message is required")
	}
	if len(e.Message) > lim.MaxMessage {
		return invalid("message", "message is longer than %d bytes", lim.MaxMessage)
	}
	if e.Service == "" {
		e.Service = "unknown"
	}
	for _, f := range []struct{ name, v string }{{"service", e.Service}, {"trace_id", e.TraceID}, {"payment_id", e.PaymentID}} {
		if len(f.v) > lim.MaxField {
			return invalid(f.name, "%s is longer than %d bytes", f.name, lim.MaxField)
		}
		if !printable(f.v) {
			return invalid(f.name, "%s must be printable text without control characters", f.name)
		}
	}
	if len(e.Attributes) > lim.MaxAttributes {
		return invalid("attributes", "at most %d attributes, got %d", lim.MaxAttributes, len(e.Attributes))
	}
	return checkValue(e.Attributes, 1, "attributes", lim)
}

// checkValue enforces key length and depth; the path of the offending
// key is built only on the way out of an error, not for every key.
func checkValue(v any, depth int, path string, lim Limits) error {
	switch x := v.(type) {
	case map[string]any:
		if depth > lim.MaxDepth {
			return invalid(path, "attributes are nested deeper than %d levels", lim.MaxDepth)
		}
		for k, vv := range x {
			if len(k) > lim.MaxField || k == "" {
				return invalid(path, "attribute keys must be 1 to %d bytes", lim.MaxField)
			}
			switch vv.(type) {
			case map[string]any, []any:
				if err := checkValue(vv, depth+1, "", lim); err != nil {
					return prefixField(err, path+"."+k)
				}
			}
		}
	case []any:
		if depth > lim.MaxDepth {
			return invalid(path, "attributes are nested deeper than %d levels", lim.MaxDepth)
		}
		for _, vv := range x {
			if err := checkValue(vv, depth+1, "", lim); err != nil {
				return prefixField(err, path)
			}
		}
	}
	return nil
}

func prefixField(err error, path string) error {
	if de, ok := err.(*DecodeError); ok {
		if de.Field == "" {
			de.Field = path
		} else if strings.HasPrefix(de.Field, ".") {
			de.Field = path + de.Field
		} else {
			de.Field = path + "." + de.Field
		}
	}
	return err
}

func printable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] == 0x7f {
			return false
		}
	}
	return utf8.ValidString(s)
}

// estimateDecoded is what encoding/json would allocate for body, with the
// costs the lenient reader charges: an upper bound found in one pass over
// the bytes, before anything is decoded.
func estimateDecoded(body []byte) int64 {
	var n int64
	inStr := false
	for i := 0; i < len(body); i++ {
		c := body[i]
		if inStr {
			switch c {
			case '\\':
				i++
			case '"':
				inStr = false
			}
			continue
		}
		switch c {
		case '"':
			inStr = true
		case '{':
			n += costObject
		case '[':
			n += costArray
		case ',':
			n += costScalar
		}
	}
	return n + int64(len(body))
}
