package httpapi_test

import (
	"bytes"
	"compress/gzip"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/paymon/paymon/internal/apitest"

	_ "modernc.org/sqlite"
)

type logJSON struct {
	ID         string         `json:"id"`
	Time       time.Time      `json:"time"`
	Level      string         `json:"level"`
	Service    string         `json:"service"`
	Message    string         `json:"message"`
	Attributes map[string]any `json:"attributes"`
	TraceID    string         `json:"trace_id"`
	PaymentID  string         `json:"payment_id"`
}

type logList struct {
	Data    []logJSON `json:"data"`
	HasMore bool      `json:"has_more"`
}

func searchLogs(t *testing.T, e *apitest.Env, query string) logList {
	t.Helper()
	st, body := e.Do("GET", "/api/v1/logs?"+query, e.AdminToken, nil)
	if st != 200 {
		t.Fatalf("search %s: %d %s", query, st, body)
	}
	var l logList
	if err := json.Unmarshal(body, &l); err != nil {
		t.Fatal(err)
	}
	return l
}

func logMessages(l logList) []string {
	out := make([]string, len(l.Data))
	for i, e := range l.Data {
		out[i] = e.Message
	}
	return out
}

func gz(s string) []byte {
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	_, _ = w.Write([]byte(s))
	_ = w.Close()
	return b.Bytes()
}

func TestIngestBodyShapes(t *testing.T) {
	e := apitest.New(t)
	cases := []struct {
		name    string
		body    any
		headers []string
		n       int
	}{
		{"object", `{"service":"shape-object","message":"one"}`, nil, 1},
		{"array", `[{"service":"shape-array","message":"a"},{"service":"shape-array","message":"b"}]`, nil, 2},
		{"ndjson", "{\"service\":\"shape-ndjson\",\"message\":\"a\"}\n{\"service\":\"shape-ndjson\",\"message\":\"b\"}\n{\"service\":\"shape-ndjson\",\"message\":\"c\"}\n",
			[]string{"Content-Type: application/x-ndjson"}, 3},
		{"gzip ndjson", gz("{\"service\":\"shape-gzip\",\"message\":\"a\"}\n{\"service\":\"shape-gzip\",\"message\":\"b\"}"),
			[]string{"Content-Type: application/x-ndjson", "Content-Encoding: gzip"}, 2},
		{"gzip array", gz(`[{"service":"shape-gzarray","message":"a"}]`), []string{"Content-Encoding: gzip"}, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st, body := e.Do("POST", "/api/v1/logs", e.AdminToken, tc.body, tc.headers...)
			if st != 201 || string(body) != fmt.Sprintf("{\"accepted\":%d}\n", tc.n) {
				t.Fatalf("%d %s", st, body)
			}
		})
	}
	for svc, n := range map[string]int{"shape-object": 1, "shape-array": 2, "shape-ndjson": 3, "shape-gzip": 2, "shape-gzarray": 1} {
		if l := searchLogs(t, e, "service="+svc); len(l.Data) != n {
			t.Errorf("service %s: %d stored, want %d", svc, len(l.Data), n)
		}
	}
}

func TestIngestRejectsWholeBatch(t *testing.T) {
	e := apitest.New(t)
	good := `{"service":"reject","message":"fine"}`
	bomb := gz(strings.Repeat(" ", 17<<20)) // 17 MiB of spaces, a few KiB compressed
	cases := []struct {
		name    string
		body    any
		headers []string
		status  int
		code    string
		line    float64
	}{
		{"malformed third line", good + "\n" + good + "\n{\"message\":\n" + good, nil, 400, "malformed_log", 3},
		{"invalid level on line 2", good + "\n{\"message\":\"x\",\"level\":\"loud\"}", nil, 422, "invalid_log", 2},
		{"unknown field", `[` + good + `,{"message":"x","msg":"y"}]`, nil, 422, "invalid_log", 1},
		{"too deep", `{"message":"x","attributes":` + strings.Repeat(`{"a":`, 9) + `1` + strings.Repeat(`}`, 9) + `}`, nil, 422, "invalid_log", 1},
		{"entry too large", `{"message":"x","attributes":{"a":"` + strings.Repeat("z", 65<<10) + `"}}`, nil, 413, "too_large", 1},
		{"body too large", strings.Repeat(good+"\n", (16<<20)/len(good)+10), nil, 413, "body_too_large", 0},
		{"gzip bomb", bomb, []string{"Content-Encoding: gzip"}, 413, "body_too_large", 0},
		{"not gzip", good, []string{"Content-Encoding: gzip"}, 400, "unreadable_body", 0},
		{"brotli", good, []string{"Content-Encoding: br"}, 415, "unsupported_encoding", 0},
		{"empty", "", nil, 400, "malformed_log", 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st, body := e.Do("POST", "/api/v1/logs", e.AdminToken, tc.body, tc.headers...)
			if st != tc.status || apitest.ErrorCode(body) != tc.code {
				t.Fatalf("%d %.300s; want %d %s", st, body, tc.status, tc.code)
			}
			if tc.line > 0 {
				var env struct {
					Error struct {
						Message string         `json:"message"`
						Details map[string]any `json:"details"`
					} `json:"error"`
				}
				_ = json.Unmarshal(body, &env)
				if env.Error.Details["line"] != tc.line || !strings.Contains(env.Error.Message, fmt.Sprintf("line %d", int(tc.line))) {
					t.Fatalf("error does not name line %v: %s", tc.line, body)
				}
			}
		})
	}
	// Nothing of any refused batch was stored, not even its good lines.
	if l := searchLogs(t, e, "service=reject"); len(l.Data) != 0 {
		t.Fatalf("%d entries of refused batches stored", len(l.Data))
	}
}

func TestLogSearchFilters(t *testing.T) {
	e := apitest.New(t)
	base := time.Now().UTC().Add(-30 * time.Minute).Truncate(time.Second)
	var lines []string
	add := func(off time.Duration, level, svc, msg, trace, pay string) {
		lines = append(lines, fmt.Sprintf(`{"time":%q,"level":%q,"service":%q,"message":%q,"trace_id":%q,"payment_id":%q}`,
			base.Add(off).Format(time.RFC3339), level, svc, msg, trace, pay))
	}
	add(0, "info", "checkout", "cart opened", "t1", "")
	add(time.Minute, "error", "checkout", "Card declined by issuer", "t1", "pay_x")
	add(2*time.Minute, "warn", "ledger", "slow query 120ms", "t2", "")
	add(3*time.Minute, "fatal", "ledger", "ledger down", "", "")
	add(4*time.Minute, "debug", "checkout", "cache hit", "", "pay_x")
	if st, body := e.Do("POST", "/api/v1/logs", e.AdminToken, strings.Join(lines, "\n")); st != 201 {
		t.Fatalf("%d %s", st, body)
	}
	cases := []struct {
		query string
		want  []string
	}{
		{"service=checkout", []string{"cache hit", "Card declined by issuer", "cart opened"}},
		{"level=error,fatal", []string{"ledger down", "Card declined by issuer"}},
		{"level=warn&level=debug", []string{"cache hit", "slow query 120ms"}},
		{"q=CARD", []string{"Card declined by issuer"}},
		{"q=" + url.QueryEscape("120ms"), []string{"slow query 120ms"}},
		{"q=declined&service=checkout&level=error", []string{"Card declined by issuer"}},
		{"payment_id=pay_x", []string{"cache hit", "Card declined by issuer"}},
		{"trace_id=t2", []string{"slow query 120ms"}},
		{"from=" + url.QueryEscape(base.Add(2*time.Minute).Format(time.RFC3339)) + "&to=" + url.QueryEscape(base.Add(4*time.Minute).Format(time.RFC3339)),
			[]string{"ledger down", "slow query 120ms"}},
	}
	for _, tc := range cases {
		if got := logMessages(searchLogs(t, e, tc.query)); !slices.Equal(got, tc.want) {
			t.Errorf("%s: %q, want %q", tc.query, got, tc.want)
		}
	}
	// Cursor pagination, newest first.
	var all []string
	after := ""
	for range 5 {
		q := "limit=2"
		if after != "" {
			q += "&starting_after=" + after
		}
		l := searchLogs(t, e, q)
		all = append(all, logMessages(l)...)
		if !l.HasMore {
			break
		}
		after = l.Data[len(l.Data)-1].ID
	}
	if want := []string{"cache hit", "ledger down", "slow query 120ms", "Card declined by issuer", "cart opened"}; !slices.Equal(all, want) {
		t.Fatalf("pages: %q", all)
	}
	for _, q := range []string{"level=loud", "limit=0", "limit=5000", "from=yesterday", "starting_after=pay_1", "from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z"} {
		if st, body := e.Do("GET", "/api/v1/logs?"+q, e.AdminToken, nil); st != 400 || apitest.ErrorCode(body) != "invalid_parameter" {
			t.Errorf("%s: %d %s", q, st, body)
		}
	}
	// Recent: newest first, from the cache; critical levels on their own.
	st, body := e.Do("GET", "/api/v1/logs/recent?limit=2", e.AdminToken, nil)
	var rec logList
	_ = json.Unmarshal(body, &rec)
	if st != 200 || !slices.Equal(logMessages(rec), []string{"cache hit", "ledger down"}) {
		t.Fatalf("recent: %d %s", st, body)
	}
	_, body = e.Do("GET", "/api/v1/logs/recent?level=error,fatal", e.AdminToken, nil)
	_ = json.Unmarshal(body, &rec)
	if !slices.Equal(logMessages(rec), []string{"ledger down", "Card declined by issuer"}) {
		t.Fatalf("recent critical: %s", body)
	}
}

func TestLogStatsShape(t *testing.T) {
	e := apitest.New(t)
	now := time.Now().UTC()
	var lines []string
	for i, l := range []string{"info", "info", "error", "warn", "fatal", "info"} {
		svc := []string{"checkout", "ledger"}[i%2]
		lines = append(lines, fmt.Sprintf(`{"time":%q,"level":%q,"service":%q,"message":"request %d failed"}`, now.Add(-time.Duration(i)*time.Minute).Format(time.RFC3339Nano), l, svc, i))
	}
	if st, body := e.Do("POST", "/api/v1/logs", e.AdminToken, strings.Join(lines, "\n")); st != 201 {
		t.Fatalf("%d %s", st, body)
	}
	from := url.QueryEscape(now.Add(-time.Hour).Format(time.RFC3339))
	st, body := e.Do("GET", "/api/v1/logs/stats?step=5m&from="+from, e.AdminToken, nil)
	if st != 200 {
		t.Fatalf("%d %s", st, body)
	}
	var raw map[string]json.RawMessage
	_ = json.Unmarshal(body, &raw)
	var keys []string
	for k := range raw {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	if want := []string{"by_level", "by_service", "error_rate", "from", "series", "step", "to", "top_messages", "total"}; !slices.Equal(keys, want) {
		t.Fatalf("keys %v, want %v", keys, want)
	}
	var s struct {
		Step      string           `json:"step"`
		Total     int64            `json:"total"`
		ByLevel   map[string]int64 `json:"by_level"`
		ByService map[string]int64 `json:"by_service"`
		ErrorRate float64          `json:"error_rate"`
		Series    []struct {
			Time    time.Time        `json:"time"`
			ByLevel map[string]int64 `json:"by_level"`
		} `json:"series"`
		TopMessages []struct {
			Message string `json:"message"`
			Count   int64  `json:"count"`
		} `json:"top_messages"`
	}
	if err := json.Unmarshal(body, &s); err != nil {
		t.Fatal(err)
	}
	if s.Step != "5m" || s.Total != 6 || s.ByLevel["info"] != 3 || s.ByLevel["debug"] != 0 || s.ByService["checkout"] != 3 ||
		s.ErrorRate != 2.0/6 || len(s.Series) < 12 || len(s.TopMessages) != 1 || s.TopMessages[0].Count != 6 || s.TopMessages[0].Message != "request # failed" {
		t.Fatalf("stats: %s", body)
	}
	for _, q := range []string{"step=90s", "step=abc", "from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z"} {
		if st, body := e.Do("GET", "/api/v1/logs/stats?"+q, e.AdminToken, nil); st != 400 {
			t.Errorf("%s: %d %s", q, st, body)
		}
	}
}

func TestIngestKeyMayOnlyWriteLogs(t *testing.T) {
	e := apitest.New(t)
	st, body := e.Do("POST", "/api/v1/api-keys", e.AdminToken, `{"name":"vector on web-1","role":"ingest"}`)
	if st != 201 {
		t.Fatalf("create key: %d %s", st, body)
	}
	var k struct {
		Key string `json:"key"`
	}
	_ = json.Unmarshal(body, &k)
	if !strings.HasPrefix(k.Key, "pmk_") {
		t.Fatalf("key %q", k.Key)
	}
	if st, body := e.Do("POST", "/api/v1/logs", k.Key, `{"service":"web","message":"hello"}`); st != 201 {
		t.Fatalf("ingest key POST logs: %d %s", st, body)
	}
	for _, r := range []struct{ method, path string }{
		{"GET", "/api/v1/logs"}, {"GET", "/api/v1/logs/recent"}, {"GET", "/api/v1/logs/stats"},
		{"GET", "/api/v1/payments"}, {"POST", "/api/v1/payments"}, {"GET", "/api/v1/api-keys"},
	} {
		if st, body := e.Do(r.method, r.path, k.Key, nil); st != 403 || apitest.ErrorCode(body) != "forbidden" {
			t.Errorf("ingest key %s %s: %d %s", r.method, r.path, st, body)
		}
	}
	viewer := e.UserToken("viewer@example.test", "viewer")
	if st, _ := e.Do("POST", "/api/v1/logs", viewer, `{"message":"x"}`); st != 403 {
		t.Errorf("viewer POST logs: %d", st)
	}
	if st, _ := e.Do("GET", "/api/v1/logs", viewer, nil); st != 200 {
		t.Errorf("viewer GET logs: %d", st)
	}
	if st, _ := e.Do("POST", "/api/v1/logs", "", `{"message":"x"}`); st != 401 {
		t.Errorf("anonymous POST logs: %d", st)
	}
}

// waitLogs polls the search until want entries match: Paymon's own entries
// are written asynchronously so a payment never waits on the log store.
func waitLogs(t *testing.T, e *apitest.Env, query string, want int) logList {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		l := searchLogs(t, e, query)
		if len(l.Data) >= want || time.Now().After(deadline) {
			return l
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestPaymentEventsAreLogged(t *testing.T) {
	e := apitest.New(t)
	st, body := e.Do("POST", "/api/v1/payments", e.AdminToken, `{"amount":2500,"currency":"EUR","metadata":{"simulate":"succeed"}}`)
	if st != 201 {
		t.Fatalf("%d %s", st, body)
	}
	var p struct {
		ID string `json:"id"`
	}
	_ = json.Unmarshal(body, &p)
	if st, body := e.Do("POST", "/api/v1/payments/"+p.ID+"/refund", e.AdminToken, `{"amount":500}`); st != 200 && st != 201 {
		t.Fatalf("refund: %d %s", st, body)
	}
	l := waitLogs(t, e, "service=paymon&payment_id="+p.ID, 2)
	got := logMessages(l)
	slices.Sort(got)
	if len(got) < 2 || !strings.HasPrefix(got[0], "payment created") || !slices.Contains(got, "payment refunded") {
		t.Fatalf("paymon entries for %s: %q", p.ID, got)
	}
	for _, en := range l.Data {
		if en.Service != "paymon" || en.PaymentID != p.ID || en.Attributes["currency"] != "EUR" {
			t.Fatalf("entry %+v", en)
		}
	}
	// A failed payment is a warning.
	_, body = e.Do("POST", "/api/v1/payments", e.AdminToken, `{"amount":100,"currency":"EUR","metadata":{"simulate":"fail"}}`)
	_ = json.Unmarshal(body, &p)
	l = waitLogs(t, e, "service=paymon&level=warn&payment_id="+p.ID, 1)
	if len(l.Data) != 1 {
		t.Fatalf("failed payment logged %d warnings", len(l.Data))
	}
}

func TestServerErrorsAreLogged(t *testing.T) {
	dir := t.TempDir()
	e := apitest.New(t, "PAYMON_DATA_DIR="+dir)
	// Inject a store failure for payments only, through SQLite itself.
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "paymon.db")+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`CREATE TRIGGER injected_failure BEFORE INSERT ON payments BEGIN SELECT RAISE(ABORT, 'injected failure for the test'); END`); err != nil {
		t.Fatal(err)
	}
	st, body := e.Do("POST", "/api/v1/payments", e.AdminToken, `{"amount":100,"currency":"EUR"}`)
	if st != 500 || strings.Contains(string(body), "injected") {
		t.Fatalf("want a 500 without internal text, got %d %s", st, body)
	}
	var env struct {
		Error struct {
			RequestID string `json:"request_id"`
		} `json:"error"`
	}
	_ = json.Unmarshal(body, &env)
	l := waitLogs(t, e, "service=paymon&level=error", 1)
	if len(l.Data) != 1 {
		t.Fatalf("%d error entries", len(l.Data))
	}
	en := l.Data[0]
	if en.Attributes["request_id"] != env.Error.RequestID || en.Attributes["route"] != "/api/v1/payments" ||
		en.Attributes["status"] != float64(500) || !strings.Contains(fmt.Sprint(en.Attributes["error"]), "injected failure") {
		t.Fatalf("entry %+v (request id %s)", en, env.Error.RequestID)
	}
}
