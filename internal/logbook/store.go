package logbook

import (
	"context"
	"hash/fnv"
	"strconv"
	"strings"
	"time"
)

// Store keeps log entries and their roll-up counters. Every adapter runs
// logbooktest.RunStoreTests. Writes that return nil are durable.
//
// The roll-ups are computed here (Rollup) and only applied by adapters,
// so every adapter counts the same way: SQLite upserts them in the same
// transaction as the entries; MongoDB applies them as $inc upserts. Every
// read of counters is one grouping with one sum, which MongoDB answers
// with one $group and one accumulator.
type Store interface {
	// InsertEntries stores a batch of entries (ids already set) and adds
	// the roll-up increments.
	InsertEntries(ctx context.Context, entries []Entry, r Rollup) error
	// SearchEntries returns entries matching f, newest (highest id) first,
	// and whether more follow.
	SearchEntries(ctx context.Context, f Filter) ([]Entry, bool, error)
	// CountsByLevel sums the counters of resolution q.Res in [q.From,
	// q.To) grouped by (bucket floored to q.Step from q.From, level).
	CountsByLevel(ctx context.Context, q CountQuery) ([]BucketCount, error)
	// CountsByService sums the counters in [q.From, q.To) by service.
	CountsByService(ctx context.Context, q CountQuery) (map[string]int64, error)
	// TopMessages sums the hourly message counters whose hour starts in
	// [q.From, q.To), largest first.
	TopMessages(ctx context.Context, q CountQuery, limit int) ([]MessageCount, error)
	// DeleteEntries removes entries of level received before t (by id).
	DeleteEntries(ctx context.Context, level Level, before time.Time) (int64, error)
	// DeleteRollups removes counters whose bucket starts before t.
	DeleteRollups(ctx context.Context, before time.Time) (int64, error)
}

// Filter selects entries. Zero values do not filter.
type Filter struct {
	Levels    []Level
	Service   string
	From, To  time.Time // entry time, [From, To)
	Query     string    // case-insensitive substring of the message
	PaymentID string
	TraceID   string
	// StartingAfter is the id of the last entry of the previous page.
	StartingAfter string
	Limit         int
	// MinID, when set, is a lower bound on ids that the caller knows holds
	// (the Service derives it from From and Limits.MaxFuture) so that the
	// store can stop scanning early.
	MinID string
}

// Resolutions of the roll-up counters. A stats query reads the coarsest
// one that divides its step, so a day by 15 minutes reads 96 buckets, not
// 1,440.
const (
	ResMinute = time.Minute
	Res5m     = 5 * time.Minute
	Res15m    = 15 * time.Minute
	ResHour   = time.Hour
)

// Resolutions lists every counter resolution, finest first.
var Resolutions = []time.Duration{ResMinute, Res5m, Res15m, ResHour}

// ResolutionFor is the coarsest resolution that divides step.
func ResolutionFor(step time.Duration) time.Duration {
	res := ResMinute
	for _, r := range Resolutions {
		if step%r == 0 {
			res = r
		}
	}
	return res
}

// Rollup is what one batch adds to the counters.
type Rollup struct {
	Counts   []CountIncrement
	Messages []MessageIncrement
}

// CountIncrement adds N to the (Res, Bucket, Level, Service) counter.
type CountIncrement struct {
	Res     time.Duration
	Bucket  time.Time
	Level   Level
	Service string
	N       int64
}

// MessageIncrement adds N to the (hour, service, fingerprint) counter;
// Message is the normalised text shown in top_messages.
type MessageIncrement struct {
	Bucket      time.Time
	Service     string
	Fingerprint string
	Message     string
	N           int64
}

// CountQuery selects counters.
type CountQuery struct {
	Res      time.Duration // one of Resolutions
	From, To time.Time     // aligned to Step
	Step     time.Duration // a multiple of Res
	Service  string        // "" = every service
}

// BucketCount is one (bucket, level) sum.
type BucketCount struct {
	Bucket time.Time
	Level  Level
	N      int64
}

// MessageCount is one top message.
type MessageCount struct {
	Message string `json:"message"`
	Count   int64  `json:"count"`
}

// BuildRollup computes the counter increments for a batch: one per
// (resolution bucket, level, service) for each of Resolutions, and one
// per (hour, service, message fingerprint).
func BuildRollup(entries []Entry) Rollup {
	type ck struct {
		res     time.Duration
		bucket  int64
		level   Level
		service string
	}
	type mk struct {
		bucket  int64
		service string
		fp      string
	}
	counts := map[ck]int64{}
	msgs := map[mk]*MessageIncrement{}
	for i := range entries {
		e := &entries[i]
		for _, res := range Resolutions {
			counts[ck{res, e.Time.Truncate(res).UnixMilli(), e.Level, e.Service}]++
		}
		h := e.Time.Truncate(ResHour)
		norm := NormalizeMessage(e.Message)
		fp := Fingerprint(norm)
		k := mk{h.UnixMilli(), e.Service, fp}
		if m := msgs[k]; m != nil {
			m.N++
		} else {
			msgs[k] = &MessageIncrement{Bucket: h, Service: e.Service, Fingerprint: fp, Message: norm, N: 1}
		}
	}
	r := Rollup{Counts: make([]CountIncrement, 0, len(counts)), Messages: make([]MessageIncrement, 0, len(msgs))}
	for k, n := range counts {
		r.Counts = append(r.Counts, CountIncrement{Res: k.res, Bucket: time.UnixMilli(k.bucket).UTC(), Level: k.level, Service: k.service, N: n})
	}
	for _, m := range msgs {
		r.Messages = append(r.Messages, *m)
	}
	return r
}

const maxNormalized = 200

// NormalizeMessage turns a message into its template, so that "timeout
// after 31ms for pay_01h…" and "timeout after 45ms for pay_01j…" count
// as one top message: runs containing digits become "#", and the text
// is cut at 200 bytes.
func NormalizeMessage(msg string) string {
	out := make([]byte, 0, min(len(msg), maxNormalized))
	for i := 0; i < len(msg) && len(out) < maxNormalized; {
		if !isAlnum(msg[i]) && msg[i] != '_' {
			out = append(out, msg[i])
			i++
			continue
		}
		j, digit := i, false
		for j < len(msg) && (isAlnum(msg[j]) || msg[j] == '_' || msg[j] == '-') {
			digit = digit || isDigit(msg[j])
			j++
		}
		if digit {
			out = append(out, '#')
		} else {
			out = append(out, msg[i:min(j, i+maxNormalized-len(out))]...)
		}
		i = j
	}
	return strings.ToValidUTF8(string(out), "")
}

// Fingerprint is a short stable key for a normalised message.
func Fingerprint(norm string) string {
	h := fnv.New64a()
	_, _ = h.Write([]byte(norm))
	return strconv.FormatUint(h.Sum64(), 36)
}
