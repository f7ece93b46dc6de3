package mongo

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/paymon/paymon/internal/id"
	"github.com/paymon/paymon/internal/logbook"
)

// LogStore implements logbook.Store on the Store's database, shared by
// every instance.
//
// Roll-up counters are per instance: each LogStore has its own id and
// only ever $inc-upserts documents carrying that id, and it applies one
// batch's counters at a time (mu). FerretDB v1 reads and rewrites a
// document in two steps, so two writers $inc-ing one document lose
// updates; with one writer per document there is nothing to lose, on
// FerretDB as on MongoDB. A read sums the instances' documents with one
// $group and one $sum. The number of counter documents is the number of
// (instance, counter) pairs — bounded by the number of instances (and
// restarts) within the roll-up retention, not by traffic — so a stats
// read never scans entries nor one document per write.
type LogStore struct {
	s                         *Store
	entries, counts, messages *mongo.Collection
	instance                  string
	mu                        sync.Mutex // one batch's counters at a time
}

// NewLogStore returns the log store on s's database and creates its
// indexes.
func NewLogStore(ctx context.Context, s *Store) (*LogStore, error) {
	l := &LogStore{
		s:        s,
		entries:  s.db.Collection("log_entries"),
		counts:   s.db.Collection("log_counts"),
		messages: s.db.Collection("log_messages"),
		instance: id.New("inst"),
	}
	// Searches walk (field, _id) newest first; ids sort by receipt time,
	// so a time-bounded page is an id range too. FerretDB v1 has no
	// partial indexes: payment_id and trace_id are indexed with their
	// empty values.
	indexes := []index{
		{l.entries, "level_id", asc("level", "_id"), false},
		{l.entries, "service_id", asc("service", "_id"), false},
		{l.entries, "payment_id", asc("payment_id", "_id"), false},
		{l.entries, "trace_id", asc("trace_id", "_id"), false},
		{l.entries, "time", asc("time"), false},
		{l.counts, "res_bucket", asc("res", "bucket"), false},
		{l.counts, "bucket", asc("bucket"), false},
		{l.messages, "bucket", asc("bucket"), false},
	}
	if err := ensureIndexes(ctx, indexes); err != nil {
		return nil, err
	}
	return l, nil
}

type logDoc struct {
	ID         string    `bson:"_id"`
	Time       time.Time `bson:"time"`
	Level      string    `bson:"level"`
	Service    string    `bson:"service"`
	PaymentID  string    `bson:"payment_id"`
	TraceID    string    `bson:"trace_id"`
	Message    string    `bson:"message"`
	Attributes string    `bson:"attributes,omitempty"` // JSON: numbers round-trip exactly, as json.Number
	Source     string    `bson:"source,omitempty"`     // absent on entries stored before it was recorded
}

// InsertEntries implements logbook.Store: the entries in one unordered
// insert, then the counters. Without transactions the two are not atomic:
// an error after the entries leaves them stored with their counters
// possibly partly added (see docs/operations.md).
func (l *LogStore) InsertEntries(ctx context.Context, entries []logbook.Entry, r logbook.Rollup) error {
	start := time.Now()
	docs := make([]any, len(entries))
	for i := range entries {
		e := &entries[i]
		d := logDoc{ID: e.ID, Time: msTime(e.Time), Level: string(e.Level), Service: e.Service,
			PaymentID: e.PaymentID, TraceID: e.TraceID, Message: e.Message, Source: e.Source}
		if len(e.Attributes) > 0 {
			b, err := json.Marshal(e.Attributes)
			if err != nil {
				return fmt.Errorf("cannot encode attributes of %s: %w", e.ID, err)
			}
			d.Attributes = string(b)
		}
		docs[i] = d
	}
	if len(docs) > 0 {
		if _, err := l.entries.InsertMany(ctx, docs, options.InsertMany().SetOrdered(false)); err != nil {
			return l.s.done("insert_log_entries", start, err)
		}
	}
	return l.s.done("insert_log_entries", start, l.addCounters(ctx, r))
}

// addCounters applies r as $inc upserts of this instance's documents, one
// per distinct counter (the Service may concatenate several requests'
// roll-ups, which can repeat a key).
func (l *LogStore) addCounters(ctx context.Context, r logbook.Rollup) error {
	type countKey struct {
		res     int64
		bucket  int64
		level   string
		service string
	}
	counts := map[countKey]int64{}
	for _, c := range r.Counts {
		counts[countKey{int64(c.Res / time.Second), c.Bucket.UnixMilli(), string(c.Level), c.Service}] += c.N
	}
	type msgKey struct {
		bucket      int64
		service, fp string
	}
	msgs := map[msgKey]*logbook.MessageIncrement{}
	for _, m := range r.Messages {
		k := msgKey{m.Bucket.UnixMilli(), m.Service, m.Fingerprint}
		if x := msgs[k]; x != nil {
			x.N += m.N
		} else {
			m := m
			msgs[k] = &m
		}
	}
	var countOps, msgOps []mongo.WriteModel
	for k, n := range counts {
		docID := l.instance + "\x1f" + strconv.FormatInt(k.res, 10) + "\x1f" + strconv.FormatInt(k.bucket, 10) + "\x1f" + k.level + "\x1f" + k.service
		countOps = append(countOps, mongo.NewUpdateOneModel().SetFilter(bson.D{{Key: "_id", Value: docID}}).SetUpsert(true).
			SetUpdate(bson.D{
				{Key: "$inc", Value: bson.D{{Key: "n", Value: n}}},
				{Key: "$setOnInsert", Value: bson.D{{Key: "instance", Value: l.instance}, {Key: "res", Value: k.res},
					{Key: "bucket", Value: time.UnixMilli(k.bucket).UTC()}, {Key: "level", Value: k.level}, {Key: "service", Value: k.service}}},
			}))
	}
	for k, m := range msgs {
		docID := l.instance + "\x1f" + strconv.FormatInt(k.bucket, 10) + "\x1f" + k.service + "\x1f" + k.fp
		msgOps = append(msgOps, mongo.NewUpdateOneModel().SetFilter(bson.D{{Key: "_id", Value: docID}}).SetUpsert(true).
			SetUpdate(bson.D{
				{Key: "$inc", Value: bson.D{{Key: "n", Value: m.N}}},
				{Key: "$setOnInsert", Value: bson.D{{Key: "instance", Value: l.instance}, {Key: "bucket", Value: time.UnixMilli(k.bucket).UTC()},
					{Key: "service", Value: k.service}, {Key: "fingerprint", Value: k.fp}, {Key: "message", Value: m.Message}}},
			}))
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := bulkInChunks(ctx, l.counts, countOps); err != nil {
		return err
	}
	return bulkInChunks(ctx, l.messages, msgOps)
}

// maxUpdatesPerCommand bounds the statements of one update command.
// Measured on FerretDB v1.24 (SQLite): an update command of 100 or more
// statements that match existing documents never answers, and the server
// stays stuck for every later command; 50 at a time always answered.
// MongoDB takes any number; chunks of 50 cost it a few round trips.
const maxUpdatesPerCommand = 50

func bulkInChunks(ctx context.Context, c *mongo.Collection, ops []mongo.WriteModel) error {
	for len(ops) > 0 {
		n := min(len(ops), maxUpdatesPerCommand)
		if _, err := c.BulkWrite(ctx, ops[:n], options.BulkWrite().SetOrdered(false)); err != nil {
			return err
		}
		ops = ops[n:]
	}
	return nil
}

// SearchEntries implements logbook.Store.
func (l *LogStore) SearchEntries(ctx context.Context, f logbook.Filter) ([]logbook.Entry, bool, error) {
	start := time.Now()
	q := bson.D{}
	switch len(f.Levels) {
	case 0:
	case 1:
		q = append(q, bson.E{Key: "level", Value: string(f.Levels[0])})
	default:
		ls := make(bson.A, len(f.Levels))
		for i, lv := range f.Levels {
			ls[i] = string(lv)
		}
		q = append(q, bson.E{Key: "level", Value: bson.D{{Key: "$in", Value: ls}}})
	}
	if f.Service != "" {
		q = append(q, bson.E{Key: "service", Value: f.Service})
	}
	if tr := rangeOf(f.From, f.To); len(tr) > 0 {
		q = append(q, bson.E{Key: "time", Value: tr})
	}
	if f.Query != "" {
		q = append(q, bson.E{Key: "message", Value: bson.D{{Key: "$regex", Value: regexp.QuoteMeta(f.Query)}, {Key: "$options", Value: "i"}}})
	}
	if f.PaymentID != "" {
		q = append(q, bson.E{Key: "payment_id", Value: f.PaymentID})
	}
	if f.TraceID != "" {
		q = append(q, bson.E{Key: "trace_id", Value: f.TraceID})
	}
	idr := bson.D{}
	if f.StartingAfter != "" {
		idr = append(idr, bson.E{Key: "$lt", Value: f.StartingAfter})
	}
	if f.MinID != "" {
		idr = append(idr, bson.E{Key: "$gte", Value: f.MinID})
	}
	if len(idr) > 0 {
		q = append(q, bson.E{Key: "_id", Value: idr})
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 50
	}
	cur, err := l.entries.Find(ctx, q, options.Find().SetSort(bson.D{{Key: "_id", Value: -1}}).SetLimit(int64(limit+1)))
	if err != nil {
		return nil, false, l.s.done("search_log_entries", start, err)
	}
	var docs []logDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, false, l.s.done("search_log_entries", start, err)
	}
	out := make([]logbook.Entry, 0, len(docs))
	for _, d := range docs {
		e := logbook.Entry{ID: d.ID, Time: d.Time.UTC(), Level: logbook.Level(d.Level), Service: d.Service,
			PaymentID: d.PaymentID, TraceID: d.TraceID, Message: d.Message, Source: d.Source}
		if d.Attributes != "" {
			dec := json.NewDecoder(strings.NewReader(d.Attributes))
			dec.UseNumber()
			if err := dec.Decode(&e.Attributes); err != nil {
				return nil, false, fmt.Errorf("cannot decode attributes of %s: %w", d.ID, err)
			}
		}
		out = append(out, e)
	}
	if err := l.s.done("search_log_entries", start, nil); err != nil {
		return nil, false, err
	}
	more := len(out) > limit
	if more {
		out = out[:limit]
	}
	return out, more, nil
}

// rangeOf is {$gte: from, $lt: to} with the zero bounds left out.
func rangeOf(from, to time.Time) bson.D {
	r := bson.D{}
	if !from.IsZero() {
		r = append(r, bson.E{Key: "$gte", Value: msTime(from)})
	}
	if !to.IsZero() {
		r = append(r, bson.E{Key: "$lt", Value: msTime(to)})
	}
	return r
}

func (l *LogStore) countMatch(q logbook.CountQuery, withRes bool) bson.D {
	m := bson.D{}
	if withRes {
		m = append(m, bson.E{Key: "res", Value: int64(q.Res / time.Second)})
	}
	m = append(m, bson.E{Key: "bucket", Value: rangeOf(q.From, q.To)})
	if q.Service != "" {
		m = append(m, bson.E{Key: "service", Value: q.Service})
	}
	return m
}

// aggregate runs pipeline on c and decodes every result into out.
func (l *LogStore) aggregate(ctx context.Context, op string, c *mongo.Collection, pipeline bson.A, out any) error {
	start := time.Now()
	cur, err := c.Aggregate(ctx, pipeline)
	if err == nil {
		err = cur.All(ctx, out)
	}
	return l.s.done(op, start, err)
}

// CountsByLevel implements logbook.Store: one $group by (bucket, level)
// with one $sum; the buckets are then floored to q.Step here, which needs
// no date arithmetic from the server ($dateTrunc is not in FerretDB v1).
func (l *LogStore) CountsByLevel(ctx context.Context, q logbook.CountQuery) ([]logbook.BucketCount, error) {
	var rows []struct {
		ID struct {
			Bucket time.Time `bson:"bucket"`
			Level  string    `bson:"level"`
		} `bson:"_id"`
		N int64 `bson:"n"`
	}
	err := l.aggregate(ctx, "log_counts_by_level", l.counts, bson.A{
		bson.D{{Key: "$match", Value: l.countMatch(q, true)}},
		bson.D{{Key: "$group", Value: bson.D{
			{Key: "_id", Value: bson.D{{Key: "bucket", Value: "$bucket"}, {Key: "level", Value: "$level"}}},
			{Key: "n", Value: bson.D{{Key: "$sum", Value: "$n"}}},
		}}},
	}, &rows)
	if err != nil {
		return nil, err
	}
	type key struct {
		slot  time.Time
		level logbook.Level
	}
	sums := map[key]int64{}
	from := q.From.UTC()
	for _, r := range rows {
		slot := from.Add(r.ID.Bucket.Sub(from) / q.Step * q.Step)
		sums[key{slot, logbook.Level(r.ID.Level)}] += r.N
	}
	out := make([]logbook.BucketCount, 0, len(sums))
	for k, n := range sums {
		out = append(out, logbook.BucketCount{Bucket: k.slot, Level: k.level, N: n})
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Bucket.Equal(out[j].Bucket) {
			return out[i].Bucket.Before(out[j].Bucket)
		}
		return out[i].Level < out[j].Level
	})
	return out, nil
}

// CountsByService implements logbook.Store.
func (l *LogStore) CountsByService(ctx context.Context, q logbook.CountQuery) (map[string]int64, error) {
	var rows []struct {
		ID string `bson:"_id"`
		N  int64  `bson:"n"`
	}
	err := l.aggregate(ctx, "log_counts_by_service", l.counts, bson.A{
		bson.D{{Key: "$match", Value: l.countMatch(q, true)}},
		bson.D{{Key: "$group", Value: bson.D{{Key: "_id", Value: "$service"}, {Key: "n", Value: bson.D{{Key: "$sum", Value: "$n"}}}}}},
	}, &rows)
	if err != nil {
		return nil, err
	}
	out := make(map[string]int64, len(rows))
	for _, r := range rows {
		out[r.ID] += r.N
	}
	return out, nil
}

// TopMessages implements logbook.Store. A fingerprint is a hash of the
// message, so grouping by (fingerprint, message) is grouping by
// fingerprint and needs only the one $sum accumulator.
func (l *LogStore) TopMessages(ctx context.Context, q logbook.CountQuery, limit int) ([]logbook.MessageCount, error) {
	var rows []struct {
		ID struct {
			Message string `bson:"message"`
		} `bson:"_id"`
		N int64 `bson:"n"`
	}
	err := l.aggregate(ctx, "log_top_messages", l.messages, bson.A{
		bson.D{{Key: "$match", Value: l.countMatch(q, false)}},
		bson.D{{Key: "$group", Value: bson.D{
			{Key: "_id", Value: bson.D{{Key: "fingerprint", Value: "$fingerprint"}, {Key: "message", Value: "$message"}}},
			{Key: "n", Value: bson.D{{Key: "$sum", Value: "$n"}}},
		}}},
		bson.D{{Key: "$sort", Value: bson.D{{Key: "n", Value: -1}, {Key: "_id.message", Value: 1}}}},
		bson.D{{Key: "$limit", Value: int64(limit)}},
	}, &rows)
	if err != nil {
		return nil, err
	}
	out := make([]logbook.MessageCount, 0, len(rows))
	for _, r := range rows {
		out = append(out, logbook.MessageCount{Message: r.ID.Message, Count: r.N})
	}
	return out, nil
}

// DeleteEntries implements logbook.Store: entries are aged by receipt,
// that is by id. Several instances sweeping at once delete the same
// documents; each counts what it removed, the sum may exceed the truth.
func (l *LogStore) DeleteEntries(ctx context.Context, level logbook.Level, before time.Time) (int64, error) {
	start := time.Now()
	res, err := l.entries.DeleteMany(ctx, bson.D{
		{Key: "level", Value: string(level)},
		{Key: "_id", Value: bson.D{{Key: "$lt", Value: logbook.IDFloor(before)}}},
	})
	if err != nil {
		return 0, l.s.done("delete_log_entries", start, err)
	}
	return res.DeletedCount, l.s.done("delete_log_entries", start, nil)
}

// DeleteRollups implements logbook.Store.
func (l *LogStore) DeleteRollups(ctx context.Context, before time.Time) (int64, error) {
	start := time.Now()
	f := bson.D{{Key: "bucket", Value: bson.D{{Key: "$lt", Value: msTime(before)}}}}
	a, err := l.counts.DeleteMany(ctx, f)
	if err != nil {
		return 0, l.s.done("delete_log_rollups", start, err)
	}
	b, err := l.messages.DeleteMany(ctx, f)
	if err != nil {
		return a.DeletedCount, l.s.done("delete_log_rollups", start, err)
	}
	return a.DeletedCount + b.DeletedCount, l.s.done("delete_log_rollups", start, nil)
}
