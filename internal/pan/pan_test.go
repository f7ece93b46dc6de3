package pan

import (
	"testing"
	"unicode"
)

func TestMatch(t *testing.T) {
	cases := []struct {
		in   string
		want int // end of the match at 0, or -1
	}{
		{"4111111111111111", 16},
		{"4111 1111 1111 1111 ok", 19},
		{"4111-1111-1111-1111.", 19},
		{"378282246310005", 15},
		{"4222222222222", 13},
		{"6304000000000000000", 19},
		{"4111111111111112", -1},     // Luhn fails
		{"411111111111", -1},         // 12 digits
		{"41111111111111111110", -1}, // 20 digits
		{"4111111111111111abc", -1},  // glued to letters
		{"4111  1111 1111 1111", -1}, // a double space ends the number
		// Unicode digits: full-width, Arabic-Indic, and mixed with ASCII.
		{"４２４２４２４２４２４２４２４２", 48},
		{"４２４２ ４２４２ ４２４２ ４２４２", 51},
		{"٤٢٤٢٤٢٤٢٤٢٤٢٤٢٤٢", 32},
		{"4242４２４２4242４２４２", 32},
		{"４２４２４２４２４２４２４２４３", -1}, // Luhn fails
		{"４２４２４２４２４２４２４２４２é", -1},
	}
	for _, tc := range cases {
		if got := Match(tc.in, 0); got != tc.want {
			t.Errorf("Match(%q) = %d, want %d", tc.in, got, tc.want)
		}
	}
}

func TestContains(t *testing.T) {
	for s, want := range map[string]bool{
		"order for card 4242424242424242":      true,
		"pan: 4242-4242-4242-4242":             true,
		"カード４２４２４２４２４２４２４２４２":                  false, // glued to a letter
		"カード ４２４２４２４２４２４２４２４２":                 true,
		"ref ORD4242424242424242":              false,
		"amount 1050, order 12345, 2026-11-25": false,
		"":                                     false,
		"\xff\xfe4242424242424242":             true, // invalid UTF-8 is no letter
	} {
		if got := Contains(s); got != want {
			t.Errorf("Contains(%q) = %v, want %v", s, got, want)
		}
	}
}

func TestIsNumber(t *testing.T) {
	for s, want := range map[string]bool{
		"4242424242424242": true, "4242424242424241": false, "12345": false, "4242 4242 4242 4242": false, "-4242424242424242": false,
	} {
		if got := IsNumber(s); got != want {
			t.Errorf("IsNumber(%q) = %v, want %v", s, got, want)
		}
	}
}

// digitValue relies on every Nd range being whole runs of ten digits
// starting at a zero; a Unicode upgrade that broke it would fail here.
func TestDigitValueMatchesUnicodeTables(t *testing.T) {
	check := func(lo, hi, stride uint32) {
		if stride != 1 || (hi-lo+1)%10 != 0 {
			t.Fatalf("Nd range %#x–%#x stride %d is not whole runs of ten", lo, hi, stride)
		}
		for r := lo; r <= hi; r++ {
			if got, want := digitValue(rune(r)), int(r-lo)%10; got != want {
				t.Fatalf("digitValue(%#x) = %d, want %d", r, got, want)
			}
		}
	}
	for _, r := range unicode.Nd.R16 {
		check(uint32(r.Lo), uint32(r.Hi), uint32(r.Stride))
	}
	for _, r := range unicode.Nd.R32 {
		check(r.Lo, r.Hi, r.Stride)
	}
	for _, r := range []rune{'a', 'Ⅳ', '²', '½', 0x10FFFF} {
		if v := digitValue(r); v != -1 {
			t.Errorf("digitValue(%q) = %d, want -1", r, v)
		}
	}
}

func BenchmarkContains(b *testing.B) {
	s := "payment pay_01jd3 for order 12345 accepted after 312ms by provider simulator; customer=42 retries=0"
	for b.Loop() {
		_ = Contains(s)
	}
}
