package logbook

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

func TestRedact(t *testing.T) {
	cases := []struct{ name, in, want string }{
		// Card numbers: Luhn-valid 13–19 digits, optionally grouped.
		{"visa plain", "card 4111111111111111 declined", "card [REDACTED:card] declined"},
		{"visa spaces", "card 4111 1111 1111 1111 declined", "card [REDACTED:card] declined"},
		{"visa dashes", "pan=4111-1111-1111-1111.", "pan=[REDACTED:card]."},
		{"amex 15", "amex 378282246310005", "amex [REDACTED:card]"},
		{"13 digits", "old visa 4222222222222", "old visa [REDACTED:card]"},
		{"19 digits", "6304000000000000000 x", "[REDACTED:card] x"},
		{"at start and end", "4242424242424242", "[REDACTED:card]"},
		{"two cards", "4111111111111111,5555555555554444", "[REDACTED:card],[REDACTED:card]"},
		{"in json text", `{"card":"4000056655665556"}`, `{"card":"[REDACTED:card]"}`},
		// Near misses stay.
		{"luhn fails", "order 4111111111111112 shipped", "order 4111111111111112 shipped"},
		{"12 digits", "ref 411111111111", "ref 411111111111"},
		{"20 digits", "id 41111111111111111110", "id 41111111111111111110"},
		{"glued to letters", "tx4111111111111111", "tx4111111111111111"},
		{"digits then letters", "4111111111111111abc", "4111111111111111abc"},
		{"double space breaks groups", "4111  1111 1111 1111", "4111  1111 1111 1111"},
		{"timestamp", "at 2026-11-25 10:11:12", "at 2026-11-25 10:11:12"},
		{"phone", "+33 6 12 34 56 78", "+33 6 12 34 56 78"},
		{"amount", "amount 1050 EUR", "amount 1050 EUR"},
		// Bearer / basic credentials, JWTs and known secret prefixes.
		{"bearer", "Authorization: Bearer abcdefghijklmnop", "Authorization: [REDACTED]"},
		{"bearer alone", "sent bearer abc.def-ghi_jkl to upstream", "sent bearer [REDACTED:token] to upstream"},
		{"basic", "Basic dXNlcjpwYXNzd29yZA==", "Basic [REDACTED:token]"},
		{"bearer too short", "Bearer abc", "Bearer abc"},
		{"word bearer", "the bearer of bad news", "the bearer of bad news"},
		{"jwt", "token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl ok", "token [REDACTED:token] ok"},
		{"paymon api key", "used pmk_abcdefghijklmnop1234", "used [REDACTED:secret]"},
		{"stripe live", "key sk_live_51Habcdefghijklmn", "key [REDACTED:secret]"},
		{"stripe test", "(sk_test_4eC39HqLyjWDarjtT1zdp7dc)", "([REDACTED:secret])"},
		{"webhook secret", "whsec_abcdefgh12345678", "[REDACTED:secret]"},
		{"prefix too short", "sk_test_abc", "sk_test_abc"},
		{"prefix inside word", "disk_test_abcdefghijkl", "disk_test_abcdefghijkl"},
		// key=value credentials in text.
		{"password=", "login failed password=hunter2 user=bob", "login failed password=[REDACTED] user=bob"},
		{"api_key:", `api_key: "abc 123" next`, `api_key: "[REDACTED]" next`},
		{"json secret", `{"client_secret":"s3cr3t","user":"bob"}`, `{"client_secret":"[REDACTED]","user":"bob"}`},
		{"query string", "GET /x?token=abc&page=2", "GET /x?token=[REDACTED]&page=2"},
		{"password word only", "password reset requested", "password reset requested"},
		{"author is not authorization", "author=alice", "author=alice"},
		{"nothing", "payment pay_01 succeeded", "payment pay_01 succeeded"},
		// Gaps found by the security review (issue 12).
		{"paymon refresh token", "reused pmr_Ab-9xYz_Q1w2e3r4t5y6u7i8o9p0aSdFgHjKlZx", "reused [REDACTED:secret]"},
		{"paymon api key with dash", "key pmk_a-bcdefghijklmnop end", "key [REDACTED:secret] end"},
		{"jwt ends a sentence", "got eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln-bmF0_dXJl.", "got [REDACTED:token]."},
		{"jwt glued to key", "jwt=eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl", "jwt=[REDACTED:token]"},
		{"jwe five parts", "eyJhbGciOiJSU0EifQ.a2V5.aXY.Y2lwaGVy.dGFn x", "[REDACTED:token] x"},
		{"two parts is no jwt", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0 x", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0 x"},
		{"pwd=", "connect pwd=hunter2 host=db", "connect pwd=[REDACTED] host=db"},
		{"pass=", "ftp user=bob pass=hunter2", "ftp user=bob pass=[REDACTED]"},
		{"pin:", "atm pin: 1234 entered", "atm pin: [REDACTED] entered"},
		{"shipping is no pin", "shipping=express", "shipping=express"},
		{"full-width card", "card ４２４２４２４２４２４２４２４２ declined", "card [REDACTED:card] declined"},
		{"full-width grouped", "４２４２-４２４２-４２４２-４２４２", "[REDACTED:card]"},
		{"arabic-indic card", "رقم ٤٢٤٢٤٢٤٢٤٢٤٢٤٢٤٢", "رقم [REDACTED:card]"},
		{"mixed digits card", "4242４２４２4242４２４２", "[REDACTED:card]"},
		{"full-width luhn fails", "ref ４２４２４２４２４２４２４２４３", "ref ４２４２４２４２４２４２４２４３"},
		{"full-width glued to letters", "カード４２４２４２４２４２４２４２４２", "カード４２４２４２４２４２４２４２４２"},
		{"accented text kept", "déjà vu: 3 café", "déjà vu: 3 café"},
		{"empty", "", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := Redact(tc.in); got != tc.want {
				t.Fatalf("Redact(%q)\n got %q\nwant %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestRedactAttributes(t *testing.T) {
	in := map[string]any{
		"password":      "hunter2",
		"API-Key":       "abc",
		"apiKey":        json.Number("12345"),
		"Authorization": "Bearer xyz",
		"session_token": map[string]any{"value": "t"},
		"empty_secret":  "",
		"card":          json.Number("4111111111111111"),
		"not_card":      json.Number("4111111111111112"),
		"float_card":    float64(4242424242424242),
		"int_card":      int64(5555555555554444),
		"note":          "paid with 4111 1111 1111 1111",
		"nested": map[string]any{
			"list":  []any{"ok", "sk_live_abcdefghijkl", json.Number("378282246310005"), map[string]any{"secret": "x"}},
			"depth": map[string]any{"cvv": "123", "author": "alice"},
		},
		"count":                    json.Number("3"),
		"pass":                     "hunter2",
		"pin":                      json.Number("1234"),
		"cardPin":                  "0000",
		"shipping":                 "express",
		"4242424242424242":         "card number as a key",
		"4111 1111 1111 1111":      "another",
		"see pmk_abcdefghijklmnop": "secret in a key",
	}
	RedactAttributes(in)
	want := map[string]any{
		"password":      Redacted,
		"API-Key":       Redacted,
		"apiKey":        Redacted,
		"Authorization": Redacted,
		"session_token": Redacted,
		"empty_secret":  "",
		"card":          RedactedCard,
		"not_card":      json.Number("4111111111111112"),
		"float_card":    RedactedCard,
		"int_card":      RedactedCard,
		"note":          "paid with " + RedactedCard,
		"nested": map[string]any{
			"list":  []any{"ok", RedactedSecret, RedactedCard, map[string]any{"secret": Redacted}},
			"depth": map[string]any{"cvv": Redacted, "author": "alice"},
		},
		"count":                 json.Number("3"),
		"pass":                  Redacted,
		"pin":                   Redacted,
		"cardPin":               Redacted,
		"shipping":              "express",
		"see " + RedactedSecret: "secret in a key",
	}
	// Both card-number keys redact to the same marker: one is numbered,
	// neither value is lost (which one gets "#2" follows map order).
	a, b := in[RedactedCard], in[RedactedCard+"#2"]
	if got := []any{a, b}; !(a == "card number as a key" && b == "another" || a == "another" && b == "card number as a key") {
		t.Fatalf("card-number keys: got %v", got)
	}
	delete(in, RedactedCard)
	delete(in, RedactedCard+"#2")
	if !reflect.DeepEqual(in, want) {
		a, _ := json.MarshalIndent(in, "", " ")
		b, _ := json.MarshalIndent(want, "", " ")
		t.Fatalf("got\n%s\nwant\n%s", a, b)
	}
}

func TestSensitiveKey(t *testing.T) {
	for k, want := range map[string]bool{
		"password": true, "PASSWORD": true, "db_passwd": true, "client-secret": true, "x.api.key": true,
		"access_token": true, "Authorization": true, "set-cookie": true, "private_key": true,
		"user": false, "author": false, "id": false, "tok": false, "level": false,
		"pass": true, "pwd": true, "db_pwd": true, "pin": true, "card_pin": true, "cardPin": true, "user-pass": true, "PIN": true,
		"shipping": false, "compass": false, "bypass": false, "passenger": false, "opinion": false, "spinner": false,
	} {
		if got := SensitiveKey(k); got != want {
			t.Errorf("SensitiveKey(%q) = %v, want %v", k, got, want)
		}
	}
}

func TestLuhnCardsFromProviders(t *testing.T) {
	// Test numbers published by card networks and PSPs: all must go.
	for _, n := range []string{"4242424242424242", "4000056655665556", "5555555555554444", "2223003122003222",
		"5200828282828210", "378282246310005", "371449635398431", "6011111111111117", "3056930009020004",
		"36227206271667", "3566002020360505", "6200000000000005"} {
		if got := Redact(n); got != RedactedCard {
			t.Errorf("Redact(%s) = %q", n, got)
		}
	}
}

func BenchmarkRedact(b *testing.B) {
	msg := "payment pay_01jd3 for order 12345 accepted after 312ms by provider simulator; customer=42 retries=0"
	for b.Loop() {
		_ = Redact(msg)
	}
}

// secretPrefix skips words by where a prefix's first '_' can be.
func TestSecretPrefixesUnderscoreOffsets(t *testing.T) {
	for _, p := range secretPrefixes {
		if i := strings.IndexByte(p, '_'); i != 2 && i != 3 && i != 5 {
			t.Errorf("prefix %q has its first '_' at %d: update secretPrefix's fast check", p, i)
		}
	}
}
