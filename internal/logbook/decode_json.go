package logbook

import (
	"encoding/json"
	"fmt"
	"unicode/utf16"
	"unicode/utf8"
)

// A hand-written JSON reader for lenient ingest: encoding/json cannot
// report duplicate keys or invalid UTF-8 (it replaces it silently), has
// no way to bound the memory a value takes while it decodes, and decoding
// each line into a map costs most of the ingest CPU. This reader builds
// the same values encoding/json does with UseNumber (map[string]any,
// []any, string, json.Number, bool, nil) and charges every value against
// a per-request budget, so a small body of tiny values cannot grow the
// heap without bound.

// Estimated heap bytes of decoded values, charged against
// Limits.MaxDecoded. They are rounded up from what the Go runtime
// allocates for a small map, a slice header plus backing array, and a
// boxed string or number.
const (
	costObject = 256
	costArray  = 64
	costScalar = 32
	costEntry  = 256
	// costSlot is a member's or element's slot in its map or slice,
	// growth included.
	costSlot = 48
)

// scanErr is a problem inside one entry; off is a byte offset in the
// body.
type scanErr struct {
	kind  DecodeErrorKind
	off   int
	field string
	msg   string
	// budget is set when the request as a whole ran out of decoding
	// budget: the request is refused, not just the line.
	budget bool
}

func (e *scanErr) Error() string { return e.msg }

type jsonReader struct {
	b      []byte
	i      int
	budget int64 // remaining estimated bytes the request may still decode
	// maxNest bounds nesting while reading, before any depth rule, so the
	// recursion stays shallow whatever the input.
	maxNest int
}

func (r *jsonReader) syntax(msg string) *scanErr {
	return &scanErr{kind: Malformed, off: r.i, msg: "invalid JSON: " + msg}
}

func (r *jsonReader) charge(n int64) *scanErr {
	r.budget -= n
	if r.budget < 0 {
		return &scanErr{kind: TooLarge, off: r.i, budget: true}
	}
	return nil
}

func (r *jsonReader) ws() {
	for r.i < len(r.b) {
		switch r.b[r.i] {
		case ' ', '\t', '\n', '\r':
			r.i++
		default:
			return
		}
	}
}

func (r *jsonReader) unexpected() *scanErr {
	if r.i >= len(r.b) {
		return &scanErr{kind: Malformed, off: r.i, msg: "the JSON ends too early"}
	}
	return r.syntax(fmt.Sprintf("unexpected %q at byte %d", r.b[r.i], r.i+1))
}

// value reads any JSON value at nesting level nest (1 for a value inside
// the entry object).
func (r *jsonReader) value(nest int) (any, *scanErr) {
	r.ws()
	if r.i >= len(r.b) {
		return nil, r.unexpected()
	}
	switch c := r.b[r.i]; {
	case c == '{':
		return r.object(nest + 1)
	case c == '[':
		return r.array(nest + 1)
	case c == '"':
		s, err := r.str()
		if err != nil {
			return nil, err
		}
		if err := r.charge(costScalar + int64(len(s))); err != nil {
			return nil, err
		}
		return s, nil
	case c == '-' || c >= '0' && c <= '9':
		n, err := r.number()
		if err != nil {
			return nil, err
		}
		if err := r.charge(costScalar + int64(len(n))); err != nil {
			return nil, err
		}
		return n, nil
	case c == 't':
		return true, r.literal("true")
	case c == 'f':
		return false, r.literal("false")
	case c == 'n':
		return nil, r.literal("null")
	}
	return nil, r.unexpected()
}

func (r *jsonReader) literal(word string) *scanErr {
	if len(r.b)-r.i < len(word) || string(r.b[r.i:r.i+len(word)]) != word {
		if len(r.b)-r.i < len(word) && string(r.b[r.i:]) == word[:len(r.b)-r.i] {
			r.i = len(r.b)
		}
		return r.unexpected()
	}
	r.i += len(word)
	return r.charge(costScalar)
}

func (r *jsonReader) tooDeep() *scanErr {
	return &scanErr{kind: Invalid, off: r.i, field: "attributes", msg: fmt.Sprintf("attributes are nested deeper than %d levels", r.maxNest-1)}
}

// object reads an object; a key that appears twice is refused, since
// which of the two values the sender meant is unknowable.
func (r *jsonReader) object(nest int) (map[string]any, *scanErr) {
	if nest > r.maxNest {
		return nil, r.tooDeep()
	}
	if err := r.charge(costObject); err != nil {
		return nil, err
	}
	r.i++ // {
	m := map[string]any{}
	r.ws()
	if r.i < len(r.b) && r.b[r.i] == '}' {
		r.i++
		return m, nil
	}
	for {
		r.ws()
		if r.i >= len(r.b) || r.b[r.i] != '"' {
			return nil, r.unexpected()
		}
		k, err := r.str()
		if err != nil {
			return nil, err
		}
		if _, dup := m[k]; dup {
			return nil, &scanErr{kind: Invalid, off: r.i, msg: fmt.Sprintf("duplicate key %q in an object", k)}
		}
		if err := r.colon(); err != nil {
			return nil, err
		}
		v, err := r.value(nest)
		if err != nil {
			return nil, err
		}
		if err := r.charge(costSlot + int64(len(k))); err != nil {
			return nil, err
		}
		m[k] = v
		more, err := r.next('}')
		if err != nil {
			return nil, err
		}
		if !more {
			return m, nil
		}
	}
}

func (r *jsonReader) colon() *scanErr {
	r.ws()
	if r.i >= len(r.b) || r.b[r.i] != ':' {
		return r.unexpected()
	}
	r.i++
	return nil
}

// next consumes a ',' (true) or the closing byte (false).
func (r *jsonReader) next(closing byte) (bool, *scanErr) {
	r.ws()
	if r.i < len(r.b) {
		switch r.b[r.i] {
		case ',':
			r.i++
			return true, nil
		case closing:
			r.i++
			return false, nil
		}
	}
	return false, r.unexpected()
}

func (r *jsonReader) array(nest int) ([]any, *scanErr) {
	if nest > r.maxNest {
		return nil, r.tooDeep()
	}
	if err := r.charge(costArray); err != nil {
		return nil, err
	}
	r.i++ // [
	a := []any{}
	r.ws()
	if r.i < len(r.b) && r.b[r.i] == ']' {
		r.i++
		return a, nil
	}
	for {
		v, err := r.value(nest)
		if err != nil {
			return nil, err
		}
		if err := r.charge(costSlot); err != nil {
			return nil, err
		}
		a = append(a, v)
		more, err := r.next(']')
		if err != nil {
			return nil, err
		}
		if !more {
			return a, nil
		}
	}
}

// number checks the JSON number grammar and returns its text.
func (r *jsonReader) number() (json.Number, *scanErr) {
	start := r.i
	if r.b[r.i] == '-' {
		r.i++
	}
	digits := func() int {
		n := 0
		for r.i < len(r.b) && r.b[r.i] >= '0' && r.b[r.i] <= '9' {
			r.i++
			n++
		}
		return n
	}
	if r.i < len(r.b) && r.b[r.i] == '0' {
		r.i++
	} else if digits() == 0 {
		return "", r.unexpected()
	}
	if r.i < len(r.b) && r.b[r.i] == '.' {
		r.i++
		if digits() == 0 {
			return "", r.unexpected()
		}
	}
	if r.i < len(r.b) && (r.b[r.i] == 'e' || r.b[r.i] == 'E') {
		r.i++
		if r.i < len(r.b) && (r.b[r.i] == '+' || r.b[r.i] == '-') {
			r.i++
		}
		if digits() == 0 {
			return "", r.unexpected()
		}
	}
	return json.Number(r.b[start:r.i]), nil
}

// str reads a string starting at its opening quote. Invalid UTF-8 is
// refused rather than replaced: the line is reported, not altered.
func (r *jsonReader) str() (string, *scanErr) {
	r.i++ // "
	start := r.i
	// Fast path: no escapes, ASCII or valid UTF-8.
	ascii := true
	for r.i < len(r.b) {
		c := r.b[r.i]
		switch {
		case c == '"':
			s := r.b[start:r.i]
			r.i++
			if !ascii && !utf8.Valid(s) {
				return "", &scanErr{kind: Invalid, off: start, msg: "a string is not valid UTF-8"}
			}
			return string(s), nil
		case c == '\\':
			return r.slowStr(start)
		case c < 0x20:
			return "", r.syntax(fmt.Sprintf("control character %#x in a string at byte %d", c, r.i+1))
		case c >= 0x80:
			ascii = false
		}
		r.i++
	}
	return "", r.unexpected()
}

func (r *jsonReader) slowStr(start int) (string, *scanErr) {
	out := make([]byte, 0, r.i-start+16)
	out = append(out, r.b[start:r.i]...)
	for r.i < len(r.b) {
		c := r.b[r.i]
		switch {
		case c == '"':
			r.i++
			if !utf8.Valid(out) {
				return "", &scanErr{kind: Invalid, off: start, msg: "a string is not valid UTF-8"}
			}
			return string(out), nil
		case c < 0x20:
			return "", r.syntax(fmt.Sprintf("control character %#x in a string at byte %d", c, r.i+1))
		case c != '\\':
			out = append(out, c)
			r.i++
			continue
		}
		r.i++
		if r.i >= len(r.b) {
			return "", r.unexpected()
		}
		e := r.b[r.i]
		r.i++
		switch e {
		case '"', '\\', '/':
			out = append(out, e)
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			c1, ok := r.hex4()
			if !ok {
				return "", r.syntax(fmt.Sprintf("bad \\u escape at byte %d", r.i+1))
			}
			rn := rune(c1)
			if utf16.IsSurrogate(rn) {
				// A pair makes one rune; a lone half becomes U+FFFD, as
				// encoding/json does.
				rn = utf8.RuneError
				if r.i+1 < len(r.b) && r.b[r.i] == '\\' && r.b[r.i+1] == 'u' {
					save := r.i
					r.i += 2
					if c2, ok := r.hex4(); ok {
						if d := utf16.DecodeRune(rune(c1), rune(c2)); d != utf8.RuneError {
							rn = d
						} else {
							r.i = save
						}
					} else {
						return "", r.syntax(fmt.Sprintf("bad \\u escape at byte %d", r.i+1))
					}
				}
			}
			out = utf8.AppendRune(out, rn)
		default:
			r.i--
			return "", r.syntax(fmt.Sprintf("bad escape \\%c at byte %d", e, r.i+1))
		}
	}
	return "", r.unexpected()
}

func (r *jsonReader) hex4() (uint16, bool) {
	if len(r.b)-r.i < 4 {
		return 0, false
	}
	var v uint16
	for _, c := range r.b[r.i : r.i+4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, false
		}
		v = v<<4 | uint16(c)
	}
	r.i += 4
	return v, true
}
