// Package alert is Paymon's own alert engine: built-in rules over the
// payment roll-ups, the payment history and the log store, evaluated on an
// interval; firing and resolved alerts kept in a Store shared by every
// instance; and notifications (hooks, signed webhook) for each transition.
//
// Several instances may evaluate the same rules against the same store.
// The move to firing (and back to resolved) is a conditional write, so
// exactly one instance wins each transition and only that one notifies.
package alert

import (
	"context"
	"errors"
	"sort"
	"strings"
	"time"
)

// Severity says how urgently a person must look.
type Severity string

const (
	Critical Severity = "critical"
	Warning  Severity = "warning"
)

// State is where an alert stands.
type State string

const (
	Firing   State = "firing"
	Resolved State = "resolved"
)

// Valid reports whether s is a known state.
func (s State) Valid() bool { return s == Firing || s == Resolved }

// Alert is one episode of a rule firing for one set of labels, from the
// moment it started to the moment it resolved.
type Alert struct {
	ID       string            `json:"id"`
	Rule     string            `json:"rule"`
	Severity Severity          `json:"severity"`
	State    State             `json:"state"`
	Summary  string            `json:"summary"`
	Labels   map[string]string `json:"labels"`
	// Fingerprint identifies rule+labels; at most one alert per
	// fingerprint is firing at any time, across every instance.
	Fingerprint string     `json:"-"`
	StartedAt   time.Time  `json:"started_at"`
	ResolvedAt  *time.Time `json:"resolved_at"`
}

// Fingerprint is the identity of rule+labels, independent of label order.
func Fingerprint(rule string, labels map[string]string) string {
	keys := make([]string, 0, len(labels))
	for k := range labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString(rule)
	for _, k := range keys {
		// Separators that cannot appear in label names keep
		// {a="b,c"} and {a="b",c=""} apart.
		b.WriteString("\x1f" + k + "\x1e" + labels[k])
	}
	return b.String()
}

// Filter selects stored alerts, newest first.
type Filter struct {
	State State  // "" means both
	Rule  string // "" means every rule
	Limit int    // 0 means the store's default (100)
}

// ErrNotFiring is returned by ResolveAlert when no alert with that
// fingerprint is firing (another instance resolved it first, or it never
// fired).
var ErrNotFiring = errors.New("alert is not firing")

// Store keeps alerts. Every adapter passes alerttest's conformance suite.
// A write that returns nil is durable.
type Store interface {
	// FireAlert stores a (State firing) unless an alert with the same
	// fingerprint is already firing. It reports whether it stored a: true
	// means this caller won the transition and must notify.
	FireAlert(ctx context.Context, a Alert) (bool, error)
	// ResolveAlert marks the firing alert with this fingerprint resolved at
	// at and returns it. ErrNotFiring means there was none: another caller
	// won, and this one must not notify.
	ResolveAlert(ctx context.Context, fingerprint string, at time.Time) (Alert, error)
	// ListAlerts returns alerts matching f, newest started first.
	ListAlerts(ctx context.Context, f Filter) ([]Alert, error)
}
