package money

import "testing"

func TestLookupExponents(t *testing.T) {
	cases := []struct {
		code string
		exp  int
	}{{"EUR", 2}, {"USD", 2}, {"JPY", 0}, {"KWD", 3}, {"BHD", 3}, {"CLP", 0}}
	for _, c := range cases {
		cur, err := Lookup(c.code)
		if err != nil {
			t.Fatalf("Lookup(%s): %v", c.code, err)
		}
		if cur.Exponent != c.exp {
			t.Errorf("%s exponent = %d, want %d", c.code, cur.Exponent, c.exp)
		}
	}
}

func TestLookupRejects(t *testing.T) {
	for _, code := range []string{"", "eur", "EURO", "XXX", "ABC", "XAU"} {
		if _, err := Lookup(code); err == nil {
			t.Errorf("Lookup(%q) accepted", code)
		}
	}
}

func TestFormat(t *testing.T) {
	cases := []struct {
		code  string
		minor int64
		want  string
	}{
		{"EUR", 1234, "12.34"}, {"EUR", 5, "0.05"}, {"EUR", -5, "-0.05"},
		{"JPY", 1234, "1234"}, {"KWD", 1234, "1.234"}, {"KWD", 1, "0.001"},
	}
	for _, c := range cases {
		cur, _ := Lookup(c.code)
		if got := cur.Format(c.minor); got != c.want {
			t.Errorf("%s Format(%d) = %q, want %q", c.code, c.minor, got, c.want)
		}
	}
}

func TestMajor(t *testing.T) {
	kwd, _ := Lookup("KWD")
	if got := kwd.Major(1500); got != 1.5 {
		t.Errorf("KWD Major(1500) = %v", got)
	}
}
