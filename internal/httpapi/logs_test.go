package httpapi_test

import (
	"bytes"
	"compress/gzip"
	"database/sql"
	"encoding/base64"
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
	Source     string         `json:"source"`
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
			if st != 200 || string(body) != fmt.Sprintf("{\"accepted\":%d,\"rejected\":0,\"errors\":[]}\n", tc.n) {
				t.Fatalf("%d %s", st, body)
			}
			// strict=true takes the same shapes, with the same answer.
			st, body = e.Do("POST", "/api/v1/logs?strict=true", e.AdminToken, tc.body, tc.headers...)
			if st != 200 || string(body) != fmt.Sprintf("{\"accepted\":%d,\"rejected\":0,\"errors\":[]}\n", tc.n) {
				t.Fatalf("strict: %d %s", st, body)
			}
		})
	}
	for svc, n := range map[string]int{"shape-object": 2, "shape-array": 4, "shape-ndjson": 6, "shape-gzip": 4, "shape-gzarray": 2} {
		if l := searchLogs(t, e, "service="+svc); len(l.Data) != n {
			t.Errorf("service %s: %d stored, want %d", svc, len(l.Data), n)
		}
	}
}

// TestIngestStrictRejectsWholeBatch: with strict=true a batch is
// all-or-nothing and unknown fields are refused, as the endpoint was
// before lenient decoding.
func TestIngestStrictRejectsWholeBatch(t *testing.T) {
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
			st, body := e.Do("POST", "/api/v1/logs?strict=true", e.AdminToken, tc.body, tc.headers...)
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
	if st, body := e.Do("POST", "/api/v1/logs", e.AdminToken, strings.Join(lines, "\n")); st != 200 {
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
	if st, body := e.Do("POST", "/api/v1/logs", e.AdminToken, strings.Join(lines, "\n")); st != 200 {
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
	if st, body := e.Do("POST", "/api/v1/logs", k.Key, `{"service":"web","message":"hello"}`); st != 200 {
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

type ingestAnswer struct {
	Accepted int `json:"accepted"`
	Rejected int `json:"rejected"`
	Errors   []struct {
		Line   int    `json:"line"`
		Reason string `json:"reason"`
	} `json:"errors"`
}

func ingest(t *testing.T, e *apitest.Env, path, body string) ingestAnswer {
	t.Helper()
	st, b := e.Do("POST", path, e.AdminToken, body)
	if st != 200 {
		t.Fatalf("POST %s: %d %s", path, st, b)
	}
	var a ingestAnswer
	if err := json.Unmarshal(b, &a); err != nil {
		t.Fatal(err)
	}
	return a
}

// TestIngestPartialAcceptance: one odd line no longer costs a thousand
// good ones; with strict=true the same batch is refused whole.
func TestIngestPartialAcceptance(t *testing.T) {
	e := apitest.New(t)
	var sb strings.Builder
	for i := 1; i <= 1000; i++ {
		if i == 637 {
			sb.WriteString(`{"service":"partial","message":"odd","level":"info","time":"half past nine"}` + "\n")
			continue
		}
		fmt.Fprintf(&sb, `{"service":"partial","message":"line %d","level":"info"}`+"\n", i)
	}
	st, body := e.Do("POST", "/api/v1/logs?strict=true", e.AdminToken, sb.String())
	if st != 422 || apitest.ErrorCode(body) != "invalid_log" || !strings.Contains(string(body), "line 637") {
		t.Fatalf("strict: %d %s", st, body)
	}
	if l := searchLogs(t, e, "service=partial"); len(l.Data) != 0 {
		t.Fatalf("strict stored %d entries of a refused batch", len(l.Data))
	}
	a := ingest(t, e, "/api/v1/logs", sb.String())
	if a.Accepted != 999 || a.Rejected != 1 || len(a.Errors) != 1 || a.Errors[0].Line != 637 || !strings.Contains(a.Errors[0].Reason, "half past nine") {
		t.Fatalf("answer %+v", a)
	}
	if l := searchLogs(t, e, "service=partial&limit=1000"); len(l.Data) != 999 {
		t.Fatalf("%d stored, want 999", len(l.Data))
	}
	if l := searchLogs(t, e, "service=partial&q="+url.QueryEscape("line 1000")); len(l.Data) != 1 {
		t.Fatalf("last line not searchable: %+v", l.Data)
	}
	// At most 20 errors are listed; all are counted.
	a = ingest(t, e, "/api/v1/logs", strings.Repeat("{oops\n", 30)+`{"service":"partial","message":"one more"}`)
	if a.Accepted != 1 || a.Rejected != 30 || len(a.Errors) != 20 || a.Errors[19].Line != 20 {
		t.Fatalf("answer %+v", a)
	}
}

// TestIngestNothingStored: a lenient request where no line could be
// stored is still an error, in the standard envelope.
func TestIngestNothingStored(t *testing.T) {
	e := apitest.New(t)
	cases := []struct {
		name, body string
		status     int
		code       string
	}{
		{"nothing parsable", "hello\n{oops\n", 400, "malformed_log"},
		{"all invalid", `{"level":"info"}` + "\n" + `{"msg":"a","MSG":"b"}`, 422, "invalid_log"},
		{"mixed", "hello\n" + `{"level":"info"}`, 422, "invalid_log"},
		{"all too large", `{"message":"` + strings.Repeat("m", 70<<10) + `"}`, 413, "too_large"},
		{"empty", "", 400, "malformed_log"},
		{"broken array", `[{"message":"a"},{"message":`, 400, "malformed_log"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st, body := e.Do("POST", "/api/v1/logs", e.AdminToken, tc.body)
			if st != tc.status || apitest.ErrorCode(body) != tc.code {
				t.Fatalf("%d %.300s; want %d %s", st, body, tc.status, tc.code)
			}
		})
	}
	st, body := e.Do("POST", "/api/v1/logs", e.AdminToken, `{"level":"info"}`+"\n"+`{"msg":"a","MSG":"b"}`)
	var env struct {
		Error struct {
			Message string `json:"message"`
			Details struct {
				Line     int `json:"line"`
				Rejected int `json:"rejected"`
				Errors   []struct {
					Line   int    `json:"line"`
					Reason string `json:"reason"`
				} `json:"errors"`
			} `json:"details"`
		} `json:"error"`
	}
	if err := json.Unmarshal(body, &env); err != nil || st != 422 {
		t.Fatal(st, err)
	}
	d := env.Error.Details
	if d.Line != 1 || d.Rejected != 2 || len(d.Errors) != 2 || d.Errors[1].Line != 2 || !strings.Contains(d.Errors[1].Reason, "duplicate key") {
		t.Fatalf("details %s", body)
	}
}

// TestIngestWhatLoggersEmit: lines as real loggers and shippers format
// them, sent unchanged.
func TestIngestWhatLoggersEmit(t *testing.T) {
	e := apitest.New(t)
	ms := time.Now().Add(-time.Minute).UnixMilli()
	lines := []string{
		// syslog-ng's obvious JSON template: $(format-json message=$MESSAGE level=$LEVEL program=$PROGRAM …)
		`{"message":"disk almost full","level":"notice","program":"emit-smartd","host":"db-1","facility":"daemon"}`,
		`{"message":"cannot open","level":"err","program":"emit-smartd","host":"db-1"}`,
		`{"message":"kernel panic","level":"emerg","program":"emit-smartd"}`,
		// pino's default output: numeric levels, epoch ms, msg, pid, hostname.
		fmt.Sprintf(`{"level":20,"time":%d,"pid":42,"hostname":"web-1","msg":"pino debug","service":"emit-pino"}`, ms),
		fmt.Sprintf(`{"level":40,"time":%d,"pid":42,"hostname":"web-1","msg":"pino warn","service":"emit-pino"}`, ms),
		fmt.Sprintf(`{"level":50,"time":"%d","pid":42,"hostname":"web-1","msg":"pino error","service":"emit-pino"}`, ms),
		// winston format.json() with format.timestamp() and metadata.
		fmt.Sprintf(`{"level":"verbose","message":"cart","orderId":"o-1","timestamp":%q,"service":"emit-winston"}`, time.UnixMilli(ms).UTC().Format(time.RFC3339Nano)),
	}
	a := ingest(t, e, "/api/v1/logs", strings.Join(lines, "\n"))
	if a.Accepted != len(lines) || a.Rejected != 0 {
		t.Fatalf("answer %+v", a)
	}
	got := map[string]logJSON{}
	for _, svc := range []string{"emit-smartd", "emit-pino", "emit-winston"} {
		for _, en := range searchLogs(t, e, "service="+svc).Data {
			got[en.Message] = en
		}
	}
	want := map[string]string{"disk almost full": "info", "cannot open": "error", "kernel panic": "fatal",
		"pino debug": "debug", "pino warn": "warn", "pino error": "error", "cart": "debug"}
	for msg, lvl := range want {
		if got[msg].Level != lvl {
			t.Errorf("%q: level %q, want %q (%+v)", msg, got[msg].Level, lvl, got[msg])
		}
	}
	if en := got["disk almost full"]; en.Attributes["level_original"] != "notice" || en.Attributes["host"] != "db-1" || en.Attributes["facility"] != "daemon" {
		t.Errorf("syslog-ng attributes %v", en.Attributes)
	}
	if en := got["pino warn"]; en.Time.UnixMilli() != ms || en.Attributes["pid"] != float64(42) || en.Attributes["hostname"] != "web-1" || en.Attributes["level_original"] != "40" {
		t.Errorf("pino entry %+v", en)
	}
	if en := got["cart"]; en.Attributes["orderId"] != "o-1" || en.Time.UnixMilli() != ms {
		t.Errorf("winston entry %+v", en)
	}
}

func TestIngestFieldOverrides(t *testing.T) {
	e := apitest.New(t)
	when := time.Now().Add(-2 * time.Minute).Unix()
	body := fmt.Sprintf(`{"body":"overridden","msg":"not the message","at":%d,"sev":"warning","component":"ovr-api"}`+"\n"+`{"body":"no component"}`, when)
	a := ingest(t, e, "/api/v1/logs?message_field=body&time_field=at&level_field=sev&service_field=component&service=ovr-default", body)
	if a.Accepted != 2 {
		t.Fatalf("answer %+v", a)
	}
	l := searchLogs(t, e, "service=ovr-api")
	if len(l.Data) != 1 || l.Data[0].Message != "overridden" || l.Data[0].Level != "warn" || l.Data[0].Time.Unix() != when || l.Data[0].Attributes["msg"] != "not the message" {
		t.Fatalf("overridden entry %+v", l.Data)
	}
	if l := searchLogs(t, e, "service=ovr-default"); len(l.Data) != 1 || l.Data[0].Message != "no component" {
		t.Fatalf("default service %+v", l.Data)
	}
	for _, q := range []string{"strict=maybe", "message_field=a,,b", "message_field=" + strings.Repeat("f", 129),
		"service=" + url.QueryEscape("a\nb"), "strict=true&message_field=body", "strict=true&service=x"} {
		if st, body := e.Do("POST", "/api/v1/logs?"+q, e.AdminToken, `{"message":"x"}`); st != 400 || apitest.ErrorCode(body) != "invalid_parameter" {
			t.Errorf("%s: %d %s", q, st, body)
		}
	}
}

// TestShipperCredentials: an ingest key is taken where log shippers put
// it, on every route that requires a permission; only API keys go there.
func TestShipperCredentials(t *testing.T) {
	e := apitest.New(t)
	st, body := e.Do("POST", "/api/v1/api-keys", e.AdminToken, `{"name":"shippers","role":"ingest"}`)
	if st != 201 {
		t.Fatalf("create key: %d %s", st, body)
	}
	var k struct {
		Key string `json:"key"`
	}
	_ = json.Unmarshal(body, &k)
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	forms := func(key string) map[string]string {
		return map[string]string{
			"bearer":             "Authorization: Bearer " + key,
			"basic":              "Authorization: Basic " + b64("fluent-bit:"+key),
			"basic no user":      "Authorization: Basic " + b64(":"+key),
			"apikey raw":         "Authorization: ApiKey " + key,
			"apikey id:key":      "Authorization: ApiKey " + b64("filebeat-1:"+key),
			"apikey base64 key":  "Authorization: ApiKey " + b64(key),
			"x-api-key":          "X-API-Key: " + key,
			"lower-case schemes": "Authorization: basic " + b64("u:"+key),
		}
	}
	for name, h := range forms(k.Key) {
		st, body := e.Do("POST", "/api/v1/logs", "", `{"service":"creds","message":"`+name+`"}`, h)
		if st != 200 {
			t.Errorf("%s: %d %s", name, st, body)
		}
		// The same credential on another route: authenticated, and the
		// ingest role may not read.
		if st, _ := e.Do("GET", "/api/v1/logs", "", nil, h); st != 403 {
			t.Errorf("%s on GET /api/v1/logs: %d, want 403", name, st)
		}
	}
	wrong := k.Key[:len(k.Key)-4] + "AAAA"
	for name, h := range forms(wrong) {
		if st, body := e.Do("POST", "/api/v1/logs", "", `{"message":"x"}`, h); st != 401 || apitest.ErrorCode(body) != "unauthenticated" {
			t.Errorf("wrong key as %s: %d %s", name, st, body)
		}
	}
	// A JWT is a bearer token only.
	for name, h := range map[string]string{
		"basic":     "Authorization: Basic " + b64("admin:"+e.AdminToken),
		"apikey":    "Authorization: ApiKey " + e.AdminToken,
		"x-api-key": "X-API-Key: " + e.AdminToken,
		"no key":    "Authorization: Basic " + b64("user:password"),
		"garbage":   "Authorization: ApiKey %%%",
	} {
		if st, body := e.Do("POST", "/api/v1/logs", "", `{"message":"x"}`, h); st != 401 {
			t.Errorf("%s: %d %s", name, st, body)
		}
	}
	if l := searchLogs(t, e, "service=creds"); len(l.Data) != len(forms(k.Key)) {
		t.Fatalf("%d stored, want %d", len(l.Data), len(forms(k.Key)))
	}
}
