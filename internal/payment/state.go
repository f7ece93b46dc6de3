package payment

import (
	"fmt"
	"time"
)

// transitions is the whole state machine. A succeeded payment may "move" to
// succeeded again: that is a partial refund, which keeps the status and
// adds to amount_refunded.
var transitions = map[Status][]Status{
	StatusPending:   {StatusSucceeded, StatusFailed, StatusCanceled},
	StatusSucceeded: {StatusSucceeded, StatusRefunded},
	StatusFailed:    nil,
	StatusRefunded:  nil,
	StatusCanceled:  nil,
}

// CanTransition reports whether from → to is legal.
func CanTransition(from, to Status) bool {
	for _, s := range transitions[from] {
		if s == to {
			return true
		}
	}
	return false
}

// Terminal reports whether no further status change can happen.
func (s Status) Terminal() bool { return len(transitions[s]) == 0 }

// TransitionError is an illegal move; the HTTP layer answers 409.
type TransitionError struct {
	ID       string
	From, To Status
}

func (e *TransitionError) Error() string {
	return fmt.Sprintf("payment %s cannot go from %s to %s", e.ID, e.From, e.To)
}

// transition moves p to status `to`, recording the event. It is the only
// place a payment's status changes.
func transition(p *Payment, to Status, eventType, reason string, now time.Time) error {
	if !CanTransition(p.Status, to) {
		return &TransitionError{ID: p.ID, From: p.Status, To: to}
	}
	p.Status = to
	p.UpdatedAt = now
	p.Events = append(p.Events, Event{Type: eventType, At: now, Reason: reason})
	if to != StatusPending {
		p.NextAction = nil
	}
	if to == StatusFailed {
		p.FailureReason = reason
	}
	return nil
}

// applyRefund records a refund of amount, moving to refunded once the whole
// amount is back. It checks the amount as well as the status.
func applyRefund(p *Payment, amount int64, reason string, now time.Time) error {
	if p.Status != StatusSucceeded {
		return &TransitionError{ID: p.ID, From: p.Status, To: StatusRefunded}
	}
	left := p.Amount - p.AmountRefunded
	if amount <= 0 || amount > left {
		return &InvalidError{Field: "amount", Reason: fmt.Sprintf("refund amount must be between 1 and %d (the amount not yet refunded)", left)}
	}
	to := StatusSucceeded
	if amount == left {
		to = StatusRefunded
	}
	if err := transition(p, to, "refunded", reason, now); err != nil {
		return err
	}
	p.AmountRefunded += amount
	p.Events[len(p.Events)-1].Amount = amount
	if to == StatusSucceeded {
		p.Events[len(p.Events)-1].Type = "partially_refunded"
	}
	return nil
}
