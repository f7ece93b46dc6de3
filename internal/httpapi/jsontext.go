package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"unicode"
	"unicode/utf8"
)

// checkJSONText refuses what encoding/json would read silently but
// differently from what the sender meant: invalid UTF-8 (replaced by
// U+FFFD) and an object key given twice (the last one wins, and Go matches
// struct fields case-insensitively, so {"amount":5,"AMOUNT":778} is a 7.78
// payment). Keys count as the same when they fold to the same text.
// Syntax errors are left to the decoder, which reports them better.
func checkJSONText(body []byte) error {
	if !utf8.Valid(body) {
		return errBadRequest("invalid_utf8", "the request body is not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	// seen[i] holds the folded keys of the i-th open object; nil for an array.
	var seen []map[string]bool
	expectKey := false
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return nil // malformed: the decoder's own error follows
		}
		switch t := tok.(type) {
		case json.Delim:
			switch t {
			case '{':
				seen = append(seen, map[string]bool{})
				expectKey = true
				continue
			case '[':
				seen = append(seen, nil)
			case '}', ']':
				seen = seen[:len(seen)-1]
			}
		case string:
			if expectKey {
				k := foldKey(t)
				top := seen[len(seen)-1]
				if top[k] {
					return &apiError{Status: 400, Code: "duplicate_key", Message: "the key " + quote(t) + " appears more than once in one object (keys are compared without letter case)"}
				}
				top[k] = true
				expectKey = false
				continue
			}
		}
		// After a value inside an object, a key comes next.
		expectKey = len(seen) > 0 && seen[len(seen)-1] != nil
	}
}

// foldKey maps s to one representative of its case-folding class, the
// equivalence encoding/json uses to match keys to fields (so "K", "k" and
// the Kelvin sign U+212A fold alike).
func foldKey(s string) string {
	var b strings.Builder
	for _, r := range s {
		min := r
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			if f < min {
				min = f
			}
		}
		b.WriteRune(min)
	}
	return b.String()
}
