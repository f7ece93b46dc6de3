package logbook

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"time"
)

// MaxReportedErrors is how many refused lines a lenient answer lists; the
// count of refused lines is always complete.
const MaxReportedErrors = 20

// DecodeOptions are a request's overrides of lenient decoding (query
// parameters of POST /api/v1/logs). Each field list, when set, replaces
// the built-in aliases of that field; the first name present wins.
type DecodeOptions struct {
	MessageFields []string
	TimeFields    []string
	LevelFields   []string
	ServiceFields []string
	// Service is the service of entries that name none.
	Service string
}

// Rejection is one entry of a lenient batch that was not stored. Line is
// 1-based in the decompressed body (where the entry starts), Entry its
// 1-based position in the batch.
type Rejection struct {
	Line   int
	Entry  int
	Kind   DecodeErrorKind
	Field  string
	Reason string
}

// Batch is the outcome of DecodeLines: the entries to store and what was
// refused.
type Batch struct {
	Entries  []Entry
	Rejected int
	// Errors holds the first MaxReportedErrors rejections, in body order.
	Errors []Rejection
	kinds  [3]int
}

// Kind says how a batch in which nothing was accepted failed as a whole:
// Malformed if no entry was JSON, TooLarge if every entry was too large,
// Invalid otherwise.
func (b *Batch) Kind() DecodeErrorKind {
	switch b.Rejected {
	case b.kinds[Malformed]:
		return Malformed
	case b.kinds[TooLarge]:
		return TooLarge
	}
	return Invalid
}

// DecodeLines is the lenient decoder of POST /api/v1/logs: it reads the
// same bodies as Decode (one object, an array, NDJSON) but takes what
// loggers emit — aliases for the message, time, level and service,
// unknown fields kept as attributes, every common level vocabulary — and
// refuses bad entries one by one instead of the whole batch. The error is
// for the request as a whole: a size limit (TooLarge), an empty body or a
// JSON array that is not valid JSON (Malformed).
func DecodeLines(body []byte, now time.Time, lim Limits, opt DecodeOptions) (*Batch, error) {
	if int64(len(body)) > lim.MaxBody {
		return nil, &DecodeError{Kind: TooLarge, Msg: fmt.Sprintf("the decompressed body exceeds %d bytes", lim.MaxBody)}
	}
	start := skipSpace(body, 0)
	if start == len(body) {
		return nil, &DecodeError{Kind: Malformed, Msg: "the body is empty; send a JSON object, a JSON array or NDJSON"}
	}
	d := &lenient{body: body, now: now.UTC(), lim: lim, opt: opt, budget: lim.maxDecoded(), lineAt: 1, keys: map[string]string{}}
	var err error
	if body[start] == '[' {
		err = d.array(start)
	} else {
		err = d.stream(start)
	}
	if err != nil {
		return nil, err
	}
	return &d.out, nil
}

// maxDecoded is MaxDecoded, or eight times the body limit when unset.
func (l Limits) maxDecoded() int64 {
	if l.MaxDecoded > 0 {
		return l.MaxDecoded
	}
	return 8 * l.MaxBody
}

type lenient struct {
	body   []byte
	now    time.Time
	lim    Limits
	opt    DecodeOptions
	budget int64
	out    Batch
	kvs    []kv
	keys   map[string]string
	// lineOff/lineAt remember the last line lookup, so numbering every
	// line of a large body stays linear.
	lineOff, lineAt int
}

func (d *lenient) line(off int) int {
	if off < d.lineOff {
		d.lineOff, d.lineAt = 0, 1
	}
	if off > len(d.body) {
		off = len(d.body)
	}
	d.lineAt += bytes.Count(d.body[d.lineOff:off], []byte{'\n'})
	d.lineOff = off
	return d.lineAt
}

func (d *lenient) reject(off, n int, kind DecodeErrorKind, field, reason string) {
	d.out.Rejected++
	d.out.kinds[kind]++
	if len(d.out.Errors) < MaxReportedErrors {
		d.out.Errors = append(d.out.Errors, Rejection{Line: d.line(off), Entry: n, Kind: kind, Field: field, Reason: reason})
	}
}

func (d *lenient) tooMany(off, n int) error {
	return &DecodeError{Kind: TooLarge, Line: d.line(off), Entry: n, Msg: fmt.Sprintf("a request may hold at most %d entries", d.lim.MaxEntries)}
}

func (d *lenient) overBudget(off, n int) error {
	return &DecodeError{Kind: TooLarge, Line: d.line(off), Entry: n,
		Msg: fmt.Sprintf("the decoded entries would take more than %d bytes of memory; split the batch", d.lim.maxDecoded())}
}

// boundary is where the entry starting at i must end at the latest: the
// next line that starts with '{' in its first column (NDJSON's next
// entry; a pretty-printed object indents its inner lines). A broken
// entry therefore never swallows the lines after it, and the body is
// read once whatever it holds.
func (d *lenient) boundary(i int) int {
	if j := bytes.Index(d.body[i:], []byte("\n{")); j >= 0 {
		return i + j + 1
	}
	return len(d.body)
}

func (d *lenient) stream(i int) error {
	n := 0
	for {
		i = skipSpace(d.body, i)
		if i >= len(d.body) {
			return nil
		}
		n++
		if n > d.lim.MaxEntries {
			return d.tooMany(i, n)
		}
		if d.body[i] != '{' {
			// Not an object, so not a pretty-printed one either: the
			// rest of the line goes with it.
			d.reject(i, n, Malformed, "", "each entry must be a JSON object")
			if j := bytes.IndexByte(d.body[i:], '\n'); j >= 0 {
				i += j + 1
			} else {
				i = len(d.body)
			}
			continue
		}
		end := d.boundary(i)
		limit := min(end, i+d.lim.MaxEntryBytes)
		after, err := d.entry(i, limit, n)
		if err != nil {
			if err.budget {
				return d.overBudget(i, n)
			}
			if err.kind == Malformed && err.off >= limit && limit < end {
				err = &scanErr{kind: TooLarge, msg: fmt.Sprintf("the entry is larger than %d bytes", d.lim.MaxEntryBytes)}
			}
			d.reject(i, n, err.kind, err.field, err.msg)
			i = end
			continue
		}
		i = after
	}
}

func (d *lenient) array(i int) error {
	i++ // [
	n := 0
	for {
		i = skipSpace(d.body, i)
		if i < len(d.body) && d.body[i] == ']' && n == 0 {
			i++
			break
		}
		n++
		if n > d.lim.MaxEntries {
			return d.tooMany(i, n)
		}
		end, ok := skipValue(d.body, i)
		if !ok {
			return &DecodeError{Kind: Malformed, Line: d.line(end), Entry: n, Msg: "invalid JSON in the array (a JSON array is refused whole when it is not valid JSON)"}
		}
		switch {
		case d.body[i] != '{':
			d.reject(i, n, Malformed, "", "each entry must be a JSON object")
		case end-i > d.lim.MaxEntryBytes:
			d.reject(i, n, TooLarge, "", fmt.Sprintf("the entry is larger than %d bytes", d.lim.MaxEntryBytes))
		default:
			if _, err := d.entry(i, end, n); err != nil {
				if err.budget {
					return d.overBudget(i, n)
				}
				d.reject(i, n, err.kind, err.field, err.msg)
			}
		}
		i = skipSpace(d.body, end)
		if i < len(d.body) && d.body[i] == ',' {
			i++
			continue
		}
		if i < len(d.body) && d.body[i] == ']' {
			i++
			break
		}
		return &DecodeError{Kind: Malformed, Line: d.line(i), Entry: n, Msg: "invalid JSON in the array: expected , or ]"}
	}
	if j := skipSpace(d.body, i); j != len(d.body) {
		return &DecodeError{Kind: Malformed, Line: d.line(j), Entry: n + 1, Msg: "unexpected data after the JSON array"}
	}
	// An empty array is an empty batch, not a mistake: winston's batching
	// Http transport sends [] when its timer fires after a full batch left.
	return nil
}

// kv is one top-level member of an entry, in body order.
type kv struct {
	key   string
	s     string // the value, when isStr
	val   any    // the value, otherwise
	isStr bool
	used  bool
}

// value is the member's value as an attribute.
func (p *kv) value() any {
	if p.isStr {
		return p.s
	}
	return p.val
}

// entry reads the object at i (which must end before limit), builds the
// entry and appends it. It returns the offset after the object.
func (d *lenient) entry(i, limit, n int) (int, *scanErr) {
	r := jsonReader{b: d.body[:limit], i: i, budget: d.budget, maxNest: d.lim.MaxDepth + 1, keys: d.keys}
	kvs, err := d.members(&r)
	d.budget = r.budget
	if err != nil {
		return 0, err
	}
	if err := r.charge(costEntry); err != nil {
		return 0, err
	}
	d.budget = r.budget
	e, err := d.build(kvs)
	if err != nil {
		return 0, err
	}
	if cerr := CheckEntry(&e, d.now, d.lim); cerr != nil {
		var de *DecodeError
		if errors.As(cerr, &de) {
			return 0, &scanErr{kind: de.Kind, field: de.Field, msg: de.Msg}
		}
		return 0, &scanErr{kind: Invalid, msg: cerr.Error()}
	}
	d.out.Entries = append(d.out.Entries, e)
	return r.i, nil
}

// members reads the entry object's members into d.kvs (reused from line
// to line, so a line costs no map unless it has attributes). Keys are
// compared without letter case, because aliases are: {"msg":1,"MSG":2}
// would otherwise be read one way or the other at random.
func (d *lenient) members(r *jsonReader) ([]kv, *scanErr) {
	clear(d.kvs[:cap(d.kvs)])
	kvs := d.kvs[:0]
	defer func() { d.kvs = kvs[:0] }()
	maxKeys := d.lim.MaxAttributes + 16
	r.i++ // {
	r.ws()
	if r.i < len(r.b) && r.b[r.i] == '}' {
		r.i++
		return kvs, nil
	}
	for {
		r.ws()
		if r.i >= len(r.b) || r.b[r.i] != '"' {
			return nil, r.unexpected()
		}
		k, err := r.key()
		if err != nil {
			return nil, err
		}
		for _, p := range kvs {
			if strings.EqualFold(p.key, k) {
				return nil, &scanErr{kind: Invalid, field: k, msg: fmt.Sprintf("duplicate key %q (keys are compared without letter case)", k)}
			}
		}
		if len(kvs) == maxKeys {
			return nil, &scanErr{kind: Invalid, field: "attributes", msg: fmt.Sprintf("more than %d fields in one entry", maxKeys)}
		}
		if err := r.colon(); err != nil {
			return nil, err
		}
		r.ws()
		if r.i < len(r.b) && r.b[r.i] == '"' {
			// A string stays unboxed until it becomes an attribute: most
			// are the message, time, level or service.
			v, err := r.str()
			if err == nil {
				err = r.charge(costScalar + int64(len(v)))
			}
			if err != nil {
				return nil, err
			}
			kvs = append(kvs, kv{key: k, s: v, isStr: true})
		} else {
			v, err := r.value(1)
			if err != nil {
				return nil, err
			}
			kvs = append(kvs, kv{key: k, val: v})
		}
		more, err := r.next('}')
		if err != nil {
			return nil, err
		}
		if !more {
			return kvs, nil
		}
	}
}
