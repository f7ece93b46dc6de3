// Package pan finds payment card numbers (primary account numbers) in
// text. Card data must never enter Paymon: the logbook redacts what it
// finds before storage and the payment API refuses it, and both use this
// one detector so they cannot disagree on what a card number is.
//
// It is a hand-written scanner, not a regular expression: one pass, no
// backtracking, no allocation.
package pan

import (
	"sort"
	"unicode"
	"unicode/utf8"
)

// MinDigits and MaxDigits bound the length of a card number (ISO/IEC 7812).
const (
	MinDigits = 13
	MaxDigits = 19
)

// Match returns the end of a card number that starts at byte i of s, or
// -1. A card number is 13 to 19 decimal digits passing the Luhn check,
// optionally grouped by single spaces or dashes, and not followed by a
// letter or digit. Digits may be any Unicode decimal digits (full-width
// "４２４２…" is a card number too); they are normalised before the Luhn
// check. The caller decides whether i starts a word (see Boundary).
func Match(s string, i int) int {
	var digits [MaxDigits]byte
	n := 0
	j := i
	end := -1
	for j < len(s) {
		if d, size := digitAt(s, j); size > 0 {
			if n == len(digits) {
				return -1 // longer than any card number
			}
			digits[n] = d
			n++
			j += size
			end = j
			continue
		}
		if c := s[j]; (c == ' ' || c == '-') && j+1 < len(s) {
			if _, size := digitAt(s, j+1); size > 0 {
				j++
				continue
			}
		}
		break
	}
	if end < 0 || n < MinDigits || wordRuneAt(s, end) || !Luhn(digits[:n]) {
		return -1
	}
	return end
}

// Contains reports whether s holds a card number that starts a word.
func Contains(s string) bool {
	for i := 0; i < len(s); {
		if _, size := digitAt(s, i); size > 0 && Boundary(s, i) && Match(s, i) > 0 {
			return true
		}
		_, size := utf8.DecodeRuneInString(s[i:])
		i += size
	}
	return false
}

// IsNumber reports whether s is exactly the digits of a card number, as
// in a JSON number (ASCII digits only, no grouping).
func IsNumber(s string) bool {
	if len(s) < MinDigits || len(s) > MaxDigits {
		return false
	}
	var digits [MaxDigits]byte
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
		digits[i] = s[i] - '0'
	}
	return Luhn(digits[:len(s)])
}

// Luhn reports whether digits (values 0–9, most significant first) pass
// the Luhn check every card number carries.
func Luhn(digits []byte) bool {
	sum := 0
	double := false
	for i := len(digits) - 1; i >= 0; i-- {
		d := int(digits[i])
		if double {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
		double = !double
	}
	return sum%10 == 0
}

// Boundary reports whether byte i of s starts a word: it is the first
// byte, or the rune before it is neither a letter nor a digit. Card
// numbers glued to letters ("tx4111…") are ids, not cards.
func Boundary(s string, i int) bool {
	if i == 0 {
		return true
	}
	if c := s[i-1]; c < utf8.RuneSelf {
		return !isAlnum(c)
	}
	r, _ := utf8.DecodeLastRuneInString(s[:i])
	return !unicode.IsLetter(r) && !unicode.IsDigit(r)
}

// digitAt returns the value of the decimal digit at byte i of s and its
// size in bytes, or size 0 if there is none.
func digitAt(s string, i int) (byte, int) {
	c := s[i]
	if c >= '0' && c <= '9' {
		return c - '0', 1
	}
	if c < utf8.RuneSelf {
		return 0, 0
	}
	r, size := utf8.DecodeRuneInString(s[i:])
	if v := digitValue(r); v >= 0 {
		return byte(v), size
	}
	return 0, 0
}

// digitValue is the value of a Unicode decimal digit (category Nd), or
// -1. Every Nd range of the unicode tables is made of whole runs of ten
// starting at a zero (checked by the tests), so the value is the offset
// from the range's start, modulo 10.
func digitValue(r rune) int {
	if r >= 0xFF10 && r <= 0xFF19 { // full-width, the common case
		return int(r - 0xFF10)
	}
	if !unicode.Is(unicode.Nd, r) {
		return -1
	}
	if r <= 0xFFFF {
		rs := unicode.Nd.R16
		k := sort.Search(len(rs), func(k int) bool { return rune(rs[k].Hi) >= r })
		return int(r-rune(rs[k].Lo)) % 10
	}
	rs := unicode.Nd.R32
	k := sort.Search(len(rs), func(k int) bool { return rune(rs[k].Hi) >= r })
	return int(r-rune(rs[k].Lo)) % 10
}

// wordRuneAt reports whether a letter or digit starts at byte i of s.
func wordRuneAt(s string, i int) bool {
	if i >= len(s) {
		return false
	}
	if c := s[i]; c < utf8.RuneSelf {
		return isAlnum(c)
	}
	r, _ := utf8.DecodeRuneInString(s[i:])
	return unicode.IsLetter(r) || unicode.IsDigit(r)
}

func isAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}
