// Package logbooktest is the conformance suite every logbook.Store
// adapter runs, so that the embedded store and MongoDB cannot drift.
package logbooktest

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/paymon/paymon/internal/id"
	"github.com/paymon/paymon/internal/logbook"
)

// RunStoreTests runs the suite; newStore returns an empty store that the
// test may use alone (it is cleaned up by newStore's own t.Cleanup).
func RunStoreTests(t *testing.T, newStore func(t *testing.T) logbook.Store) {
	t.Run("InsertAndSearchRoundTrip", func(t *testing.T) { testRoundTrip(t, newStore(t)) })
	t.Run("SearchFilters", func(t *testing.T) { testFilters(t, newStore(t)) })
	t.Run("Pagination", func(t *testing.T) { testPagination(t, newStore(t)) })
	t.Run("Counters", func(t *testing.T) { testCounters(t, newStore(t)) })
	t.Run("TopMessages", func(t *testing.T) { testTopMessages(t, newStore(t)) })
	t.Run("DeleteByLevel", func(t *testing.T) { testDelete(t, newStore(t)) })
	t.Run("DeleteRollups", func(t *testing.T) { testDeleteRollups(t, newStore(t)) })
	t.Run("Source", func(t *testing.T) { testSource(t, newStore(t)) })
}

// testSource: the credential that wrote an entry comes back with it, so
// a forged entry can be told from Paymon's own (issue 12).
func testSource(t *testing.T, s logbook.Store) {
	own := entry(base, logbook.LevelInfo, logbook.OwnService, "payment refunded")
	own.PaymentID, own.Source = "pay_1", logbook.SourcePaymon
	key := entry(base.Add(time.Second), logbook.LevelInfo, "checkout", "payment refunded")
	key.PaymentID, key.Source = "pay_1", logbook.SourceOf("api_key", "key_abc")
	user := entry(base.Add(2*time.Second), logbook.LevelWarn, "checkout", "by hand")
	user.PaymentID, user.Source = "pay_1", logbook.SourceOf("user", "usr_1")
	none := entry(base.Add(3*time.Second), logbook.LevelInfo, "checkout", "before sources were kept")
	none.PaymentID = "pay_1"
	insert(t, s, own, key)
	insert(t, s, user, none)
	got, _ := search(t, s, logbook.Filter{PaymentID: "pay_1"})
	want := map[string]string{own.ID: "paymon", key.ID: "key:key_abc", user.ID: "user:usr_1", none.ID: ""}
	if len(got) != len(want) {
		t.Fatalf("got %d entries, want %d", len(got), len(want))
	}
	for _, e := range got {
		if e.Source != want[e.ID] {
			t.Errorf("entry %q: source %q, want %q", e.Message, e.Source, want[e.ID])
		}
	}
	b, _ := json.Marshal(got[0])
	if !strings.Contains(string(b), `"source":""`) {
		t.Errorf("an entry without a source renders %s, want \"source\":\"\"", b)
	}
}

var base = time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC)

func entry(at time.Time, level logbook.Level, service, msg string) logbook.Entry {
	return logbook.Entry{ID: id.New("log"), Time: at, Level: level, Service: service, Message: msg}
}

func insert(t *testing.T, s logbook.Store, es ...logbook.Entry) {
	t.Helper()
	if err := s.InsertEntries(context.Background(), es, logbook.BuildRollup(es)); err != nil {
		t.Fatalf("InsertEntries: %v", err)
	}
}

func search(t *testing.T, s logbook.Store, f logbook.Filter) ([]logbook.Entry, bool) {
	t.Helper()
	if f.Limit == 0 {
		f.Limit = 100
	}
	es, more, err := s.SearchEntries(context.Background(), f)
	if err != nil {
		t.Fatalf("SearchEntries(%+v): %v", f, err)
	}
	return es, more
}

func ids(es []logbook.Entry) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.ID
	}
	return out
}

func testRoundTrip(t *testing.T, s logbook.Store) {
	e := entry(base.Add(1234*time.Millisecond), logbook.LevelWarn, "checkout", "card declined")
	e.TraceID, e.PaymentID, e.Source = "trace-1", "pay_123", "key:key_1"
	e.Attributes = map[string]any{"attempt": json.Number("3"), "nested": map[string]any{"ok": true, "list": []any{"a", json.Number("1.5")}}}
	insert(t, s, e)
	got, more := search(t, s, logbook.Filter{})
	if len(got) != 1 || more {
		t.Fatalf("got %d entries (more %v), want 1", len(got), more)
	}
	want, _ := json.Marshal(e)
	have, _ := json.Marshal(got[0])
	if string(want) != string(have) {
		t.Fatalf("round trip changed the entry:\n got %s\nwant %s", have, want)
	}
	// An entry without attributes renders attributes as {}.
	e2 := entry(base, logbook.LevelInfo, "checkout", "plain")
	insert(t, s, e2)
	got, _ = search(t, s, logbook.Filter{Query: "plain"})
	if b, _ := json.Marshal(got[0]); !json.Valid(b) || !strings.Contains(string(b), `"attributes":{}`) {
		t.Fatalf("empty attributes render as %s", b)
	}
}

func testFilters(t *testing.T, s logbook.Store) {
	a := entry(base, logbook.LevelInfo, "checkout", "Payment accepted")
	b := entry(base.Add(time.Minute), logbook.LevelError, "checkout", "payment FAILED: 50% of_retries")
	b.PaymentID = "pay_b"
	c := entry(base.Add(2*time.Minute), logbook.LevelError, "ledger", "ledger out of balance")
	c.TraceID = "tr-c"
	d := entry(base.Add(3*time.Minute), logbook.LevelFatal, "ledger", "ledger crashed")
	insert(t, s, a, b)
	insert(t, s, c, d)
	cases := []struct {
		name string
		f    logbook.Filter
		want []logbook.Entry
	}{
		{"all newest first", logbook.Filter{}, []logbook.Entry{d, c, b, a}},
		{"one level", logbook.Filter{Levels: []logbook.Level{logbook.LevelError}}, []logbook.Entry{c, b}},
		{"two levels", logbook.Filter{Levels: []logbook.Level{logbook.LevelError, logbook.LevelFatal}}, []logbook.Entry{d, c, b}},
		{"service", logbook.Filter{Service: "checkout"}, []logbook.Entry{b, a}},
		{"service and level", logbook.Filter{Service: "ledger", Levels: []logbook.Level{logbook.LevelFatal}}, []logbook.Entry{d}},
		{"from inclusive", logbook.Filter{From: base.Add(2 * time.Minute)}, []logbook.Entry{d, c}},
		{"to exclusive", logbook.Filter{To: base.Add(time.Minute)}, []logbook.Entry{a}},
		{"text case-insensitive", logbook.Filter{Query: "payment"}, []logbook.Entry{b, a}},
		{"text with LIKE metacharacters", logbook.Filter{Query: "50% of_"}, []logbook.Entry{b}},
		{"percent alone matches literally", logbook.Filter{Query: "%"}, []logbook.Entry{b}},
		{"payment id", logbook.Filter{PaymentID: "pay_b"}, []logbook.Entry{b}},
		{"trace id", logbook.Filter{TraceID: "tr-c"}, []logbook.Entry{c}},
		{"no match", logbook.Filter{Service: "nope"}, nil},
		{"min id excludes older receipts", logbook.Filter{MinID: c.ID}, []logbook.Entry{d, c}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, _ := search(t, s, tc.f)
			if !slices.Equal(ids(got), ids(tc.want)) {
				t.Fatalf("got %v, want %v", ids(got), ids(tc.want))
			}
		})
	}
}

func testPagination(t *testing.T, s logbook.Store) {
	var all []logbook.Entry
	for i := range 25 {
		all = append(all, entry(base.Add(time.Duration(i)*time.Second), logbook.LevelInfo, "svc", fmt.Sprintf("m%d", i)))
	}
	insert(t, s, all...)
	var seen []string
	after := ""
	for page := 0; ; page++ {
		got, more := search(t, s, logbook.Filter{Limit: 10, StartingAfter: after})
		seen = append(seen, ids(got)...)
		if !more {
			if len(got) != 5 {
				t.Fatalf("last page has %d entries, want 5", len(got))
			}
			break
		}
		if len(got) != 10 || page > 3 {
			t.Fatalf("page %d has %d entries", page, len(got))
		}
		after = got[len(got)-1].ID
	}
	want := ids(all)
	slices.Reverse(want)
	if !slices.Equal(seen, want) {
		t.Fatalf("pages gave %v, want %v", seen, want)
	}
}

func counts(t *testing.T, s logbook.Store, q logbook.CountQuery) map[string]int64 {
	t.Helper()
	bc, err := s.CountsByLevel(context.Background(), q)
	if err != nil {
		t.Fatalf("CountsByLevel: %v", err)
	}
	out := map[string]int64{}
	for _, c := range bc {
		out[fmt.Sprintf("%s/%s", c.Bucket.UTC().Format("15:04"), c.Level)] += c.N
	}
	return out
}

func testCounters(t *testing.T, s logbook.Store) {
	// Two batches touching the same counters must add up.
	insert(t, s,
		entry(base.Add(10*time.Second), logbook.LevelInfo, "a", "x"),
		entry(base.Add(20*time.Second), logbook.LevelInfo, "b", "x"),
		entry(base.Add(6*time.Minute), logbook.LevelError, "a", "x"),
	)
	insert(t, s,
		entry(base.Add(30*time.Second), logbook.LevelInfo, "a", "x"),
		entry(base.Add(61*time.Minute), logbook.LevelWarn, "b", "x"),
		entry(base.Add(-time.Minute), logbook.LevelInfo, "a", "before the range"),
	)
	q := logbook.CountQuery{Res: logbook.ResMinute, From: base, To: base.Add(2 * time.Hour), Step: 5 * time.Minute}
	want := map[string]int64{"10:00/info": 3, "10:05/error": 1, "11:00/warn": 1}
	if got := counts(t, s, q); !mapsEqual(got, want) {
		t.Fatalf("5m minute counts = %v, want %v", got, want)
	}
	q.Service = "a"
	want = map[string]int64{"10:00/info": 2, "10:05/error": 1}
	if got := counts(t, s, q); !mapsEqual(got, want) {
		t.Fatalf("service a counts = %v, want %v", got, want)
	}
	hq := logbook.CountQuery{Res: logbook.ResHour, From: base, To: base.Add(2 * time.Hour), Step: time.Hour}
	want = map[string]int64{"10:00/info": 3, "10:00/error": 1, "11:00/warn": 1}
	if got := counts(t, s, hq); !mapsEqual(got, want) {
		t.Fatalf("hourly counts = %v, want %v", got, want)
	}
	q15 := logbook.CountQuery{Res: logbook.Res15m, From: base, To: base.Add(2 * time.Hour), Step: 30 * time.Minute}
	want = map[string]int64{"10:00/info": 3, "10:00/error": 1, "11:00/warn": 1}
	if got := counts(t, s, q15); !mapsEqual(got, want) {
		t.Fatalf("15m counters by 30m = %v, want %v", got, want)
	}
	bs, err := s.CountsByService(context.Background(), withService(q, ""))
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string]int64{"a": 3, "b": 2}; !mapsEqual(bs, want) {
		t.Fatalf("by service = %v, want %v", bs, want)
	}
	bs, err = s.CountsByService(context.Background(), withService(hq, "b"))
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string]int64{"b": 2}; !mapsEqual(bs, want) {
		t.Fatalf("by service b = %v, want %v", bs, want)
	}
}

func mapsEqual[K comparable](a, b map[K]int64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func testTopMessages(t *testing.T, s logbook.Store) {
	var es []logbook.Entry
	for i := range 5 {
		es = append(es, entry(base.Add(time.Duration(i)*time.Minute), logbook.LevelError, "a", fmt.Sprintf("timeout after %dms", 100+i)))
	}
	for i := range 3 {
		es = append(es, entry(base.Add(time.Duration(i)*time.Minute), logbook.LevelInfo, "b", "payment accepted"))
	}
	es = append(es, entry(base.Add(70*time.Minute), logbook.LevelInfo, "b", "payment accepted"))
	es = append(es, entry(base.Add(3*time.Hour), logbook.LevelInfo, "b", "outside the range"))
	insert(t, s, es[:4]...)
	insert(t, s, es[4:]...)
	q := logbook.CountQuery{Res: logbook.ResHour, From: base, To: base.Add(2 * time.Hour), Step: time.Hour}
	top, err := s.TopMessages(context.Background(), q, 10)
	if err != nil {
		t.Fatal(err)
	}
	want := []logbook.MessageCount{{Message: "timeout after #", Count: 5}, {Message: "payment accepted", Count: 4}}
	if !slices.Equal(top, want) {
		t.Fatalf("top = %v, want %v", top, want)
	}
	top, err = s.TopMessages(context.Background(), withService(q, "b"), 1)
	if err != nil {
		t.Fatal(err)
	}
	if want := want[1:]; !slices.Equal(top, want) {
		t.Fatalf("top for b = %v, want %v", top, want)
	}
}

func withService(q logbook.CountQuery, s string) logbook.CountQuery { q.Service = s; return q }

func testDelete(t *testing.T, s logbook.Store) {
	// Entries are aged by receipt (their id), not by their time field.
	old := []logbook.Entry{entry(base, logbook.LevelDebug, "a", "old debug"), entry(base, logbook.LevelError, "a", "old error")}
	insert(t, s, old...)
	time.Sleep(3 * time.Millisecond) // ids of the next batch are in a later millisecond
	cut := time.Now()
	time.Sleep(3 * time.Millisecond)
	fresh := []logbook.Entry{entry(base, logbook.LevelDebug, "a", "new debug")}
	insert(t, s, fresh...)
	n, err := s.DeleteEntries(context.Background(), logbook.LevelDebug, cut)
	if err != nil || n != 1 {
		t.Fatalf("DeleteEntries(debug) = %d, %v; want 1", n, err)
	}
	got, _ := search(t, s, logbook.Filter{})
	if want := []string{fresh[0].ID, old[1].ID}; !slices.Equal(ids(got), want) {
		t.Fatalf("after delete: %v, want %v", ids(got), want)
	}
	// Deleting entries leaves their counters.
	c := counts(t, s, logbook.CountQuery{Res: logbook.ResMinute, From: base, To: base.Add(time.Minute), Step: time.Minute})
	if c["10:00/debug"] != 2 {
		t.Fatalf("debug counter after delete = %d, want 2", c["10:00/debug"])
	}
}

func testDeleteRollups(t *testing.T, s logbook.Store) {
	insert(t, s, entry(base, logbook.LevelInfo, "a", "x"), entry(base.Add(2*time.Hour), logbook.LevelInfo, "a", "y"))
	if _, err := s.DeleteRollups(context.Background(), base.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	c := counts(t, s, logbook.CountQuery{Res: logbook.ResHour, From: base, To: base.Add(3 * time.Hour), Step: time.Hour})
	if want := map[string]int64{"12:00/info": 1}; !mapsEqual(c, want) {
		t.Fatalf("counters after DeleteRollups = %v, want %v", c, want)
	}
	top, err := s.TopMessages(context.Background(), logbook.CountQuery{Res: logbook.ResHour, From: base, To: base.Add(3 * time.Hour), Step: time.Hour}, 10)
	if err != nil {
		t.Fatal(err)
	}
	if want := []logbook.MessageCount{{Message: "y", Count: 1}}; !slices.Equal(top, want) {
		t.Fatalf("top after DeleteRollups = %v", top)
	}
	// Entries stay: roll-up retention is separate.
	if got, _ := search(t, s, logbook.Filter{}); len(got) != 2 {
		t.Fatalf("DeleteRollups removed entries: %d left", len(got))
	}
}
