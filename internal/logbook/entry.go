// Package logbook owns log entries: decoding what shippers send,
// redaction of card numbers and secrets, batched durable ingest, search,
// the roll-up counters statistics are read from, and retention. It
// declares the Store and Cache it needs; adapters implement them.
package logbook

import (
	"encoding/json"
	"errors"
	"time"
)

// Level is a log severity.
type Level string

const (
	LevelDebug Level = "debug"
	LevelInfo  Level = "info"
	LevelWarn  Level = "warn"
	LevelError Level = "error"
	LevelFatal Level = "fatal"
)

// Levels lists every level, least severe first.
var Levels = []Level{LevelDebug, LevelInfo, LevelWarn, LevelError, LevelFatal}

// Valid reports whether l is one of Levels.
func (l Level) Valid() bool {
	switch l {
	case LevelDebug, LevelInfo, LevelWarn, LevelError, LevelFatal:
		return true
	}
	return false
}

// Critical reports whether entries of this level are also kept in the
// cache for the dashboard.
func (l Level) Critical() bool { return l == LevelError || l == LevelFatal }

// Entry is one stored log entry, as the API renders it.
type Entry struct {
	ID         string         `json:"id"`
	Time       time.Time      `json:"time"`
	Level      Level          `json:"level"`
	Service    string         `json:"service"`
	Message    string         `json:"message"`
	Attributes map[string]any `json:"attributes"`
	TraceID    string         `json:"trace_id"`
	PaymentID  string         `json:"payment_id"`
	// Source is the credential that wrote the entry, set by the server
	// and never taken from the body: SourcePaymon, "key:<api key id>" or
	// "user:<user id>" (see SourceOf). Empty on entries stored before
	// it was recorded.
	Source string `json:"source"`
}

// OwnService is the service name of Paymon's own entries (payment events,
// server errors). It is reserved: CheckEntry refuses it from any sender,
// so an ingest key cannot forge entries next to Paymon's.
const OwnService = "paymon"

// SourcePaymon is the Source of Paymon's own entries.
const SourcePaymon = "paymon"

// SourceOf is the Source of entries written with a credential of the
// given kind ("user"; "api_key" or "client", both an API key) and id.
func SourceOf(kind, id string) string {
	switch kind {
	case "user":
		return "user:" + id
	case "api_key", "client":
		return "key:" + id
	}
	return kind + ":" + id
}

// MarshalJSON always renders attributes as an object, never null, and the
// time in UTC with millisecond precision (what every store keeps).
func (e Entry) MarshalJSON() ([]byte, error) {
	type plain Entry
	p := plain(e)
	if p.Attributes == nil {
		p.Attributes = map[string]any{}
	}
	p.Time = p.Time.UTC().Truncate(time.Millisecond)
	return json.Marshal(p)
}

// ErrInvalidFilter is returned for a search or stats query that cannot be
// answered as asked.
var ErrInvalidFilter = errors.New("invalid filter")
