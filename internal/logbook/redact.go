package logbook

import (
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/paymon/paymon/internal/pan"
)

// Redaction markers. They say what was removed so a reader knows a value
// existed without seeing it.
const (
	RedactedCard   = "[REDACTED:card]"
	RedactedToken  = "[REDACTED:token]"
	RedactedSecret = "[REDACTED:secret]"
	Redacted       = "[REDACTED]"
)

// secretPrefixes start API keys and provider secrets that must never be
// stored: Paymon's own API keys and refresh tokens, Stripe
// secret/restricted keys and webhook signing secrets.
var secretPrefixes = []string{"pmk_", "pmr_", "sk_live_", "sk_test_", "rk_live_", "rk_test_", "whsec_"}

// sensitiveKeyParts mark an attribute (or key=value pair in a message)
// whose value is a credential, whatever the value looks like. Keys are
// compared lower-cased with '-', '_', '.' and spaces removed, so
// "API-Key", "api_key" and "apiKey" all match "apikey".
var sensitiveKeyParts = []string{"password", "passwd", "passphrase", "secret", "apikey", "token", "authorization", "cookie", "privatekey", "cvv", "cvc"}

// sensitiveWords are credentials too short to look for inside a key
// ("pin" is in "shipping", "pass" in "compass"): they must be a whole word
// of it, as in "pin", "card_pin", "userPass" or "db-pwd".
var sensitiveWords = []string{"pass", "pwd", "pin"}

// SensitiveKey reports whether an attribute named key holds a credential.
func SensitiveKey(key string) bool {
	return sensitivePart(key) || sensitiveWord(key)
}

func sensitivePart(key string) bool {
	var buf [64]byte
	n := 0
	for i := 0; i < len(key) && n < len(buf); i++ {
		c := key[i]
		switch {
		case c == '-' || c == '_' || c == '.' || c == ' ':
			continue
		case c >= 'A' && c <= 'Z':
			c += 'a' - 'A'
		}
		buf[n] = c
		n++
	}
	k := string(buf[:n])
	for _, p := range sensitiveKeyParts {
		if strings.Contains(k, p) {
			return true
		}
	}
	return false
}

// sensitiveWord splits key into words at anything not a letter or digit
// and at camelCase humps, and reports whether one is a sensitiveWords.
func sensitiveWord(key string) bool {
	start := -1
	for i := 0; i <= len(key); i++ {
		split := i == len(key) || !isAlnum(key[i]) ||
			i > 0 && key[i] >= 'A' && key[i] <= 'Z' && key[i-1] >= 'a' && key[i-1] <= 'z'
		if split && start >= 0 {
			w := key[start:i]
			for _, sw := range sensitiveWords {
				if strings.EqualFold(w, sw) {
					return true
				}
			}
			start = -1
		}
		if i < len(key) && isAlnum(key[i]) && start < 0 {
			start = i
		}
	}
	return false
}

// RedactEntry redacts every text an entry carries: the message, the
// service, the ids, and the attributes' keys and values. Any of them can
// hold what a sender should not have sent.
func RedactEntry(e *Entry) {
	e.Message = Redact(e.Message)
	e.Service = Redact(e.Service)
	e.TraceID = Redact(e.TraceID)
	e.PaymentID = Redact(e.PaymentID)
	RedactAttributes(e.Attributes)
}

// RedactAttributes redacts attributes in place, recursively: keys are
// scanned like messages, values under a sensitive key are replaced whole,
// strings are scanned like messages, and JSON numbers that are card
// numbers are replaced.
func RedactAttributes(m map[string]any) {
	var renamed []string // keys that held something to redact; rare
	for k, v := range m {
		if SensitiveKey(k) {
			if v != nil && v != "" {
				m[k] = Redacted
			}
		} else {
			m[k] = redactValue(v)
		}
		if Redact(k) != k {
			renamed = append(renamed, k)
		}
	}
	for _, k := range renamed {
		v := m[k]
		delete(m, k)
		// Two keys can redact to the same text: number the later ones
		// rather than lose a value.
		rk := Redact(k)
		for n := 2; ; n++ {
			if _, taken := m[rk]; !taken {
				break
			}
			rk = Redact(k) + "#" + strconv.Itoa(n)
		}
		m[rk] = v
	}
}

func redactValue(v any) any {
	switch x := v.(type) {
	case string:
		return Redact(x)
	case json.Number:
		if pan.IsNumber(string(x)) {
			return RedactedCard
		}
	case float64:
		// Values built in Go (Paymon's own entries) rather than decoded.
		if x == math.Trunc(x) && math.Abs(x) < 1e19 && pan.IsNumber(strconv.FormatFloat(x, 'f', -1, 64)) {
			return RedactedCard
		}
	case int64:
		if pan.IsNumber(formatInt(x)) {
			return RedactedCard
		}
	case int:
		if pan.IsNumber(formatInt(int64(x))) {
			return RedactedCard
		}
	case map[string]any:
		RedactAttributes(x)
	case []any:
		for i := range x {
			x[i] = redactValue(x[i])
		}
	}
	return v
}

func formatInt(n int64) string {
	if n == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	neg := n < 0
	u := uint64(n)
	if neg {
		u = uint64(-n)
	}
	for u > 0 {
		i--
		b[i] = byte('0' + u%10)
		u /= 10
	}
	if neg {
		i--
		b[i] = '-'
	}
	return string(b[i:])
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
func isAlnum(c byte) bool {
	return isDigit(c) || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}
func isTokenChar(c byte) bool {
	return isAlnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || c == '+' || c == '/' || c == '='
}

// Redact returns s with card numbers (in any Unicode digits),
// bearer/basic credentials, JWTs, known secret prefixes and key=value
// credentials replaced. It scans s once and allocates only when it finds
// something.
func Redact(s string) string {
	var b strings.Builder
	last := 0 // s[last:i] is not yet copied into b
	for i := 0; i < len(s); {
		c := s[i]
		if i > 0 && (s[i-1] < utf8.RuneSelf && isAlnum(s[i-1]) || s[i-1] >= utf8.RuneSelf && !pan.Boundary(s, i)) {
			i++
			continue
		}
		if c >= utf8.RuneSelf {
			// Only a card number in non-ASCII digits starts here.
			if end := pan.Match(s, i); end > 0 {
				b.WriteString(s[last:i])
				b.WriteString(RedactedCard)
				last, i = end, end
				continue
			}
			_, size := utf8.DecodeRuneInString(s[i:])
			i += size
			continue
		}
		var end int
		var repl string
		switch {
		case isDigit(c):
			end = pan.Match(s, i)
			repl = RedactedCard
		case c == 'B' || c == 'b':
			end = authScheme(s, i)
			repl = RedactedToken
		case c == 'e':
			end = jwt(s, i)
			repl = RedactedToken
		default:
			end = secretPrefix(s, i)
			repl = RedactedSecret
		}
		if end < 0 && isAlnum(c) {
			// key=value credential ("password=…", "token: …").
			if vs, ve := sensitivePair(s, i); ve > 0 {
				b.WriteString(s[last:vs])
				b.WriteString(Redacted)
				last, i = ve, ve
				continue
			}
		}
		if end < 0 {
			// Skip the rest of this word: matches start on a boundary.
			i++
			if isAlnum(c) {
				for i < len(s) && isAlnum(s[i]) {
					i++
				}
			}
			continue
		}
		if c == 'B' || c == 'b' {
			// Keep the scheme word, drop the credential.
			sp := strings.IndexByte(s[i:end], ' ')
			b.WriteString(s[last : i+sp+1])
		} else {
			b.WriteString(s[last:i])
		}
		b.WriteString(repl)
		last, i = end, end
	}
	if last == 0 {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}

// authScheme matches "Bearer <token>" or "Basic <credentials>".
func authScheme(s string, i int) int {
	for _, scheme := range []string{"bearer ", "basic "} {
		if len(s)-i > len(scheme) && strings.EqualFold(s[i:i+len(scheme)], scheme) {
			j := i + len(scheme)
			for j < len(s) && s[j] == ' ' {
				j++
			}
			start := j
			for j < len(s) && isTokenChar(s[j]) {
				j++
			}
			if j-start >= 8 {
				return j
			}
		}
	}
	return -1
}

// jwt matches a JSON Web Token: three (or, encrypted, five)
// base64url parts joined by dots, the first "eyJ". A dot after the last
// part ends a sentence, not the token.
func jwt(s string, i int) int {
	if !strings.HasPrefix(s[i:], "eyJ") {
		return -1
	}
	j, parts := i, 0
	for {
		start := j
		for j < len(s) && isBase64URL(s[j]) {
			j++
		}
		if j == start {
			return -1
		}
		parts++
		if j+1 >= len(s) || s[j] != '.' || !isBase64URL(s[j+1]) {
			break
		}
		j++
	}
	if parts < 3 || j-i < 20 {
		return -1
	}
	return j
}

func isBase64URL(c byte) bool { return isAlnum(c) || c == '-' || c == '_' }

func secretPrefix(s string, i int) int {
	// Every prefix has its first '_' at offset 2, 3 or 5: most words have
	// none there and skip the prefix comparisons.
	if !(i+2 < len(s) && s[i+2] == '_' || i+3 < len(s) && s[i+3] == '_' || i+5 < len(s) && s[i+5] == '_') {
		return -1
	}
	for _, p := range secretPrefixes {
		if strings.HasPrefix(s[i:], p) {
			j := i + len(p)
			// Paymon's keys and tokens are base64url, so '-' too.
			for j < len(s) && isBase64URL(s[j]) {
				j++
			}
			if j-i-len(p) >= 8 {
				return j
			}
		}
	}
	return -1
}

// sensitivePair matches `key=value`, `key: value` or `"key":"value"` at i
// where key is sensitive, and returns the value's bounds.
func sensitivePair(s string, i int) (int, int) {
	j := i
	for j < len(s) && (isAlnum(s[j]) || s[j] == '_' || s[j] == '-') {
		j++
	}
	keyEnd := j
	if j-i < 3 {
		return -1, -1
	}
	if j < len(s) && s[j] == '"' {
		j++
	}
	for j < len(s) && s[j] == ' ' {
		j++
	}
	// Check the delimiter before the (slower) key test: most words are
	// not followed by '=' or ':'.
	if j >= len(s) || (s[j] != '=' && s[j] != ':') || !SensitiveKey(s[i:keyEnd]) {
		return -1, -1
	}
	j++
	for j < len(s) && s[j] == ' ' {
		j++
	}
	quoted := j < len(s) && (s[j] == '"' || s[j] == '\'')
	var q byte
	if quoted {
		q = s[j]
		j++
	}
	vs := j
	if end := authScheme(s, vs); end > 0 {
		return vs, end // "Authorization: Bearer xyz" loses the whole credential
	}
	for j < len(s) {
		c := s[j]
		if quoted && c == q || !quoted && (c == ' ' || c == '&' || c == ',' || c == ';' || c == '"' || c == '\'' || c == '\n') {
			break
		}
		j++
	}
	if j == vs {
		return -1, -1
	}
	// A value that is itself a marker was redacted earlier.
	if strings.HasPrefix(s[vs:j], "[REDACTED") {
		return -1, -1
	}
	return vs, j
}
