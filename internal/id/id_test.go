package id

import (
	"strings"
	"testing"
)

func TestNewIsMonotonicAndValid(t *testing.T) {
	prev := ""
	for i := 0; i < 10000; i++ {
		s := New("pay")
		if !Valid("pay", s) {
			t.Fatalf("invalid id %q", s)
		}
		if s <= prev {
			t.Fatalf("id %q not after %q", s, prev)
		}
		prev = s
	}
}

func TestValidRejects(t *testing.T) {
	good := New("pay")
	for _, s := range []string{"", "pay_", "log_" + good[4:], strings.ToUpper(good), good + "x", good[:len(good)-1] + "u"} {
		if Valid("pay", s) {
			t.Errorf("Valid(%q) = true", s)
		}
	}
}
