package id

import (
	"strings"
	"testing"
	"time"
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

// TestFloorBoundsIdsByTime: every id made at or after t sorts at or after
// Floor(t), and none made before it does.
func TestFloorBoundsIdsByTime(t *testing.T) {
	before := New("log")
	time.Sleep(2 * time.Millisecond)
	at := time.Now()
	floor := Floor("log", at)
	after := New("log")
	if !Valid("log", floor) {
		t.Fatalf("floor %q is not a valid id", floor)
	}
	if !(before < floor && floor <= after) {
		t.Fatalf("want %q < floor %q <= %q", before, floor, after)
	}
	if later := Floor("log", at.Add(time.Second)); later <= after {
		t.Fatalf("floor a second later %q is not after %q", later, after)
	}
	if Floor("log", time.Time{}) != "log_"+strings.Repeat("0", 26) {
		t.Fatalf("floor of a time before 1970 = %q", Floor("log", time.Time{}))
	}
}
