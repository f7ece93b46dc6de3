package payment

import (
	"errors"
	"fmt"
)

var (
	// ErrNotFound: no payment with that id (404).
	ErrNotFound = errors.New("payment not found")
	// ErrKeyReused: an Idempotency-Key came back with a different body (422).
	ErrKeyReused = errors.New("idempotency key reused with a different request body")
	// ErrKeyInFlight: the first request with this key has not finished (409).
	ErrKeyInFlight = errors.New("a request with this idempotency key is still in progress")
	// ErrVersionConflict: a store's optimistic-concurrency check failed; the
	// Service re-reads and retries, so clients only see it as a 409 when
	// retries run out.
	ErrVersionConflict = errors.New("payment changed concurrently")
	// ErrDuplicate: a store already holds a row with that id or key.
	ErrDuplicate = errors.New("duplicate")
)

// InvalidError is a semantically invalid request (422) naming the field.
type InvalidError struct {
	Field  string
	Reason string
}

func (e *InvalidError) Error() string { return fmt.Sprintf("%s: %s", e.Field, e.Reason) }
