// Package realtime fans events (payments, logs, alerts) out to live
// subscribers. It knows topics, per-subscriber filters, a bounded replay
// buffer and the Bus that carries events between instances; it knows
// nothing of WebSocket or HTTP, which live in internal/httpapi.
//
// Every event goes publisher → Bus → the Hub of every instance → its
// subscribers, even on a single instance, so there is one code path.
package realtime

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/paymon/paymon/internal/id"
)

// Topic is a named feed a client subscribes to.
type Topic string

const (
	TopicPayments Topic = "payments"
	TopicLogs     Topic = "logs"
	TopicAlerts   Topic = "alerts"
)

// Topics lists every topic, in a fixed order.
var Topics = []Topic{TopicPayments, TopicLogs, TopicAlerts}

// Event types, per topic.
const (
	PaymentCreated = "payment.created"
	PaymentUpdated = "payment.updated"
	LogCreated     = "log.created"
	AlertFired     = "alert.fired"
	AlertResolved  = "alert.resolved"
)

// ParseTopic accepts only the known topics.
func ParseTopic(s string) (Topic, error) {
	t := Topic(s)
	if slices.Contains(Topics, t) {
		return t, nil
	}
	return "", fmt.Errorf("unknown topic %q (want payments, logs or alerts)", s)
}

func topicIndex(t Topic) int { return slices.Index(Topics, t) }

// Event is one published fact. ID sorts by time ("evt_" + ULID) and is
// the same on every instance, so a client can resume with it anywhere.
type Event struct {
	ID    string          `json:"id"`
	Topic Topic           `json:"topic"`
	Type  string          `json:"type"`
	Data  json.RawMessage `json:"data"`
	Attrs Attrs           `json:"attrs,omitzero"`

	seq   uint64 // arrival order in this hub, for replay
	frame []byte // the WebSocket event frame, encoded once for all clients
}

// Attrs are the fields filters look at, copied out of Data by the
// publisher so the hub never decodes Data.
type Attrs struct {
	Level    string `json:"level,omitempty"`
	Service  string `json:"service,omitempty"`
	Status   string `json:"status,omitempty"`
	Provider string `json:"provider,omitempty"`
}

// Frame is the event as the streaming protocol sends it:
// {"type":"event","topic":…,"id":…,"event":…,"data":…}.
func (e *Event) Frame() []byte { return e.frame }

type wireFrame struct {
	Type  string          `json:"type"`
	Topic Topic           `json:"topic"`
	ID    string          `json:"id"`
	Event string          `json:"event"`
	Data  json.RawMessage `json:"data"`
}

// encodeFrame writes the wireFrame by hand: json.Marshal would re-scan and
// re-compact Data, which the bus decode has already validated, and that
// second pass over every log line was a large share of ingest CPU.
func (e *Event) encodeFrame() error {
	b := make([]byte, 0, len(e.Data)+64+len(e.ID)+len(e.Type))
	b = append(b, `{"type":"event","topic":`...)
	b = appendJSONString(b, string(e.Topic))
	b = append(b, `,"id":`...)
	b = appendJSONString(b, e.ID)
	b = append(b, `,"event":`...)
	b = appendJSONString(b, e.Type)
	b = append(b, `,"data":`...)
	b = appendRaw(b, e.Data)
	e.frame = append(b, '}')
	return nil
}

// appendJSONString appends s as a JSON string, escaped as encoding/json does.
func appendJSONString(b []byte, s string) []byte {
	q, _ := json.Marshal(s) // a string always encodes
	return append(b, q...)
}

// appendRaw appends already-valid JSON, or null for none.
func appendRaw(b []byte, raw json.RawMessage) []byte {
	if len(raw) == 0 {
		return append(b, "null"...)
	}
	return append(b, raw...)
}

// Filter narrows a subscription. Logs use Levels and Service; payments
// use Status and Provider; alerts take none. Empty fields match all.
type Filter struct {
	Levels   []string `json:"levels,omitempty"`
	Service  string   `json:"service,omitempty"`
	Status   string   `json:"status,omitempty"`
	Provider string   `json:"provider,omitempty"`
}

var (
	logLevels       = []string{"debug", "info", "warn", "error", "fatal"}
	paymentStatuses = []string{"pending", "succeeded", "failed", "canceled", "refunded"}
)

// ErrInvalidFilter wraps every filter validation failure.
var ErrInvalidFilter = errors.New("invalid filter")

// Validate checks that f only uses the fields topic t supports, with
// known values, and normalises case.
func (f *Filter) Validate(t Topic) error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: %s", ErrInvalidFilter, fmt.Sprintf(format, a...))
	}
	for i, l := range f.Levels {
		l = strings.ToLower(strings.TrimSpace(l))
		if !slices.Contains(logLevels, l) {
			return bad("unknown level %q (want debug, info, warn, error or fatal)", f.Levels[i])
		}
		f.Levels[i] = l
	}
	f.Service = strings.TrimSpace(f.Service)
	f.Status = strings.ToLower(strings.TrimSpace(f.Status))
	f.Provider = strings.TrimSpace(f.Provider)
	if f.Status != "" && !slices.Contains(paymentStatuses, f.Status) {
		return bad("unknown payment status %q", f.Status)
	}
	switch t {
	case TopicLogs:
		if f.Status != "" || f.Provider != "" {
			return bad("the logs topic filters on levels and service only")
		}
	case TopicPayments:
		if len(f.Levels) > 0 || f.Service != "" {
			return bad("the payments topic filters on status and provider only")
		}
	case TopicAlerts:
		if len(f.Levels) > 0 || f.Service != "" || f.Status != "" || f.Provider != "" {
			return bad("the alerts topic takes no filter")
		}
	}
	if len(f.Service) > 200 || len(f.Provider) > 100 {
		return bad("filter value too long")
	}
	return nil
}

// Match reports whether e passes f.
func (f *Filter) Match(e *Event) bool {
	if len(f.Levels) > 0 && !slices.Contains(f.Levels, e.Attrs.Level) {
		return false
	}
	if f.Service != "" && f.Service != e.Attrs.Service {
		return false
	}
	if f.Status != "" && f.Status != e.Attrs.Status {
		return false
	}
	if f.Provider != "" && f.Provider != e.Attrs.Provider {
		return false
	}
	return true
}

// ValidEventID reports whether s can be an event id (for `since`).
func ValidEventID(s string) bool { return id.Valid("evt", s) }
