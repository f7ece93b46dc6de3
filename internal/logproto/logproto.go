// Package logproto turns the push payloads log shippers send — Loki push
// (JSON and protobuf), OTLP logs (protobuf and JSON) and Elasticsearch
// bulk — into log entries. It knows nothing of HTTP: it takes decoded
// bytes and returns the entries that passed logbook.CheckEntry plus one
// error per refused item, so that one odd line never costs the batch.
// A body that cannot be read at all is a *logbook.DecodeError.
package logproto

import (
	"fmt"
	"strings"
	"time"

	"github.com/paymon/paymon/internal/logbook"
)

// MaxReported bounds the item errors a result lists; Rejected still
// counts them all.
const MaxReported = 20

// LevelOriginalKey is the attribute that keeps a level word the sender
// used when it is not already one of the five levels ("notice",
// "WARNING", "Information"), so nothing the sender said is lost.
const LevelOriginalKey = "level_original"

// ItemError is one refused item: its 1-based position among the items
// of the request (log lines, log records or bulk documents) and why.
type ItemError struct {
	Item   int    `json:"item"`
	Reason string `json:"reason"`
}

// Result is what a payload decoded into.
type Result struct {
	// Entries passed logbook.CheckEntry and may be ingested as they are.
	Entries []logbook.Entry
	// Errors lists the first MaxReported refused items, in order.
	Errors []ItemError
	// Rejected counts every refused item.
	Rejected int
}

// Options carry what every conversion needs.
type Options struct {
	// Now is the receipt time, for entries without a time.
	Now    time.Time
	Limits logbook.Limits
}

// add checks e and keeps it, or records why item n was refused.
func (r *Result) add(e logbook.Entry, n int, o *Options) bool {
	if err := logbook.CheckEntry(&e, o.Now, o.Limits); err != nil {
		r.reject(n, err.Error())
		return false
	}
	r.Entries = append(r.Entries, e)
	return true
}

func (r *Result) reject(n int, reason string) {
	r.Rejected++
	if len(r.Errors) < MaxReported {
		r.Errors = append(r.Errors, ItemError{Item: n, Reason: reason})
	}
}

// Summary is a one-line account of the refused items, for error messages.
func (r *Result) Summary() string {
	if r.Rejected == 0 {
		return ""
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d of %d items refused", r.Rejected, r.Rejected+len(r.Entries))
	if len(r.Errors) > 0 {
		fmt.Fprintf(&b, "; item %d: %s", r.Errors[0].Item, r.Errors[0].Reason)
	}
	return b.String()
}

func tooMany(n int, lim logbook.Limits) error {
	return &logbook.DecodeError{Kind: logbook.TooLarge, Msg: fmt.Sprintf("a request may hold at most %d entries, got %d or more; send smaller batches", lim.MaxEntries, n)}
}

func malformed(format string, a ...any) error {
	return &logbook.DecodeError{Kind: logbook.Malformed, Msg: fmt.Sprintf(format, a...)}
}

// setLevel reads a level word of any vocabulary; a word that is not one of
// the five levels is kept under LevelOriginalKey, and an unknown word
// leaves the level at info rather than refusing the line.
func setLevel(e *logbook.Entry, raw string) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return
	}
	l, ok := logbook.ParseLevel(raw)
	if ok {
		e.Level = l
	}
	if !ok || !strings.EqualFold(raw, string(l)) {
		setAttr(e, LevelOriginalKey, raw)
	}
}

func setAttr(e *logbook.Entry, k string, v any) {
	if e.Attributes == nil {
		e.Attributes = make(map[string]any, 4)
	}
	e.Attributes[k] = v
}
