package payment

import (
	"errors"
	"testing"
	"time"
)

var allStatuses = []Status{StatusPending, StatusSucceeded, StatusFailed, StatusRefunded, StatusCanceled}

func TestTransitionTable(t *testing.T) {
	legal := map[[2]Status]bool{
		{StatusPending, StatusSucceeded}:   true,
		{StatusPending, StatusFailed}:      true,
		{StatusPending, StatusCanceled}:    true,
		{StatusSucceeded, StatusSucceeded}: true, // partial refund
		{StatusSucceeded, StatusRefunded}:  true,
	}
	now := time.Unix(1700000000, 0).UTC()
	for _, from := range allStatuses {
		for _, to := range allStatuses {
			p := &Payment{ID: "pay_x", Status: from}
			err := transition(p, to, "test", "why", now)
			if legal[[2]Status{from, to}] {
				if err != nil {
					t.Errorf("%s → %s refused: %v", from, to, err)
					continue
				}
				if p.Status != to || len(p.Events) != 1 || p.Events[0].At != now || p.UpdatedAt != now {
					t.Errorf("%s → %s not recorded: %+v", from, to, p)
				}
				continue
			}
			var te *TransitionError
			if !errors.As(err, &te) || te.From != from || te.To != to {
				t.Errorf("%s → %s: err = %v, want TransitionError", from, to, err)
			}
			if p.Status != from || len(p.Events) != 0 {
				t.Errorf("%s → %s: refused transition changed the payment", from, to)
			}
		}
	}
}

func TestTerminal(t *testing.T) {
	for _, s := range allStatuses {
		want := s == StatusFailed || s == StatusRefunded || s == StatusCanceled
		if s.Terminal() != want {
			t.Errorf("%s.Terminal() = %v", s, s.Terminal())
		}
	}
}

func TestFailureRecordsReason(t *testing.T) {
	p := &Payment{ID: "pay_x", Status: StatusPending, NextAction: &NextAction{Type: "redirect", URL: "u"}}
	if err := transition(p, StatusFailed, "failed", "insufficient_funds", time.Now()); err != nil {
		t.Fatal(err)
	}
	if p.FailureReason != "insufficient_funds" || p.NextAction != nil {
		t.Fatalf("got reason %q next_action %v", p.FailureReason, p.NextAction)
	}
}

func TestRefunds(t *testing.T) {
	now := time.Now()
	p := &Payment{ID: "pay_x", Status: StatusSucceeded, Amount: 1000}
	if err := applyRefund(p, 300, "r", now); err != nil {
		t.Fatal(err)
	}
	if p.Status != StatusSucceeded || p.AmountRefunded != 300 || p.Events[0].Type != "partially_refunded" || p.Events[0].Amount != 300 {
		t.Fatalf("partial refund: %+v", p)
	}
	var inv *InvalidError
	if err := applyRefund(p, 701, "r", now); !errors.As(err, &inv) {
		t.Fatalf("over-refund: err = %v", err)
	}
	if err := applyRefund(p, 0, "r", now); !errors.As(err, &inv) {
		t.Fatalf("zero refund: err = %v", err)
	}
	if err := applyRefund(p, 700, "r", now); err != nil {
		t.Fatal(err)
	}
	if p.Status != StatusRefunded || p.AmountRefunded != 1000 || p.Events[1].Type != "refunded" {
		t.Fatalf("final refund: %+v", p)
	}
	var te *TransitionError
	if err := applyRefund(p, 1, "r", now); !errors.As(err, &te) {
		t.Fatalf("refund of refunded: err = %v", err)
	}
	pending := &Payment{ID: "pay_y", Status: StatusPending, Amount: 1000}
	if err := applyRefund(pending, 1, "r", now); !errors.As(err, &te) {
		t.Fatalf("refund of pending: err = %v", err)
	}
}

func TestStoredRoundTripKeepsInternalFields(t *testing.T) {
	p := &Payment{ID: "pay_x", Status: StatusPending, CreatedBy: "usr_1", Version: 7, Metadata: map[string]string{"a": "b"}}
	b, err := MarshalStored(p)
	if err != nil {
		t.Fatal(err)
	}
	q, err := UnmarshalStored(b)
	if err != nil {
		t.Fatal(err)
	}
	if q.CreatedBy != "usr_1" || q.Version != 7 || q.Metadata["a"] != "b" {
		t.Fatalf("round trip lost fields: %+v", q)
	}
	if r := string(Render(p)); contains(r, "usr_1") || contains(r, "version") {
		t.Fatalf("Render leaks internal fields: %s", r)
	}
}

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}
