package httpapi_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/paymon/paymon/internal/apitest"
)

type esBulkAnswer struct {
	Errors bool                `json:"errors"`
	Items  []map[string]esItem `json:"items"`
}

type esItem struct {
	Index  string `json:"_index"`
	ID     string `json:"_id"`
	Status int    `json:"status"`
	Error  *struct {
		Type   string `json:"type"`
		Reason string `json:"reason"`
	} `json:"error"`
}

func TestElasticBulk(t *testing.T) {
	e := apitest.New(t)
	body := strings.Join([]string{
		`{"create":{"_index":"logs-a"}}`,
		`{"@timestamp":"2026-01-02T03:04:05.678Z","message":"paid","log":{"level":"WARNING","logger":"pay"},"service":{"name":"es-bulk"},"order":"o-1"}`,
		`{"index":{}}`,
		`{"message":"second","log.level":"err","service.name":"es-bulk","trace.id":"t-1"}`,
		`{"delete":{"_index":"logs-a","_id":"1"}}`,
		`{"update":{"_id":"1"}}`,
		`{"doc":{"message":"x"}}`,
		`{"index":{}}`,
		`{"service.name":"es-bulk","no":"message"}`,
		`{"create":{}}`,
		`not json`,
		``,
	}, "\n")
	st, resp := e.Do("POST", "/default-idx/_bulk", e.AdminToken, body, "Content-Type: application/x-ndjson")
	if st != 200 {
		t.Fatalf("bulk: %d %s", st, resp)
	}
	var a esBulkAnswer
	if err := json.Unmarshal(resp, &a); err != nil {
		t.Fatal(err)
	}
	want := []struct {
		action string
		status int
		index  string
	}{{"create", 201, "logs-a"}, {"index", 201, "default-idx"}, {"delete", 400, "logs-a"}, {"update", 400, "default-idx"}, {"index", 400, "default-idx"}, {"create", 400, "default-idx"}}
	if !a.Errors || len(a.Items) != len(want) {
		t.Fatalf("answer = %s", resp)
	}
	for i, w := range want {
		it, ok := a.Items[i][w.action]
		if !ok || it.Status != w.status || it.Index != w.index || (w.status == 201) != (it.ID != "" && it.Error == nil) {
			t.Errorf("item %d = %v, want %s %d in %s", i+1, a.Items[i], w.action, w.status, w.index)
		}
	}
	got := pushFind(t, e, "es-bulk")
	if len(got) != 2 {
		t.Fatalf("stored %d, want 2", len(got))
	}
	if g := got[0]; g["message"] != "paid" || g["level"] != "warn" || g["time"] != "2026-01-02T03:04:05.678Z" || pushAttr(g, "order") != "o-1" {
		t.Errorf("ECS document = %v", g)
	}
	if g := got[1]; g["level"] != "error" || g["trace_id"] != "t-1" || a.Items[1]["index"].ID != g["id"] {
		t.Errorf("dotted ECS document = %v (answered id %s)", g, a.Items[1]["index"].ID)
	}
}

func TestElasticBulkFieldOverrides(t *testing.T) {
	e := apitest.New(t)
	body := `{"index":{}}` + "\n" + `{"text_body":"from override","sev":"notice","message":"kept as attribute"}` + "\n"
	st, resp := e.Do("POST", "/_bulk?_msg_field=text_body&level_field=sev&service=es-override", e.AdminToken, body)
	if st != 200 || strings.Contains(string(resp), `"errors":true`) {
		t.Fatalf("bulk: %d %s", st, resp)
	}
	got := pushFind(t, e, "es-override")
	if len(got) != 1 || got[0]["message"] != "from override" || got[0]["level"] != "info" || pushAttr(got[0], "message") != "kept as attribute" {
		t.Errorf("stored = %v", got)
	}
}

func TestElasticBulkRefusesAMalformedActionLine(t *testing.T) {
	e := apitest.New(t)
	for _, body := range []string{"{nope\n{}\n", `{"index":{}}` + "\n", `{"frobnicate":{}}` + "\n{}\n"} {
		st, resp := e.Do("POST", "/_bulk", e.AdminToken, body)
		if st != 400 || apitest.ErrorCode(resp) != "malformed_log" {
			t.Errorf("%q: %d %s", body, st, resp)
		}
	}
}

func TestElasticHandshake(t *testing.T) {
	e := apitest.New(t)
	resp := e.Request("GET", "/", "", nil, "Accept: application/json")
	b := readAll(t, resp.Body)
	resp.Body.Close()
	var info struct {
		Version struct {
			Number string `json:"number"`
		} `json:"version"`
	}
	if resp.StatusCode != 200 || resp.Header.Get("X-Elastic-Product") != "Elasticsearch" || json.Unmarshal(b, &info) != nil || !strings.HasPrefix(info.Version.Number, "8.") {
		t.Errorf("GET / from a client: %d %v %s", resp.StatusCode, resp.Header, b)
	}
	resp = e.Request("HEAD", "/", "", nil)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("X-Elastic-Product") != "Elasticsearch" {
		t.Errorf("HEAD /: %d", resp.StatusCode)
	}
	// A browser's page load is never answered as Elasticsearch (this
	// build has no dashboard, so it is the not-found envelope).
	resp = e.Request("GET", "/", "", nil, "Accept: text/html,application/xhtml+xml,*/*;q=0.8")
	resp.Body.Close()
	if resp.Header.Get("X-Elastic-Product") != "" {
		t.Errorf("a page load got the Elasticsearch answer")
	}
	for _, c := range []struct{ method, path, want string }{
		{"GET", "/_license", `"status":"active"`},
		{"GET", "/_nodes/http", `"nodes":{}`},
		{"GET", "/_cat/health", "green"},
		{"GET", "/_index_template/filebeat-8", "{}"},
		{"PUT", "/_index_template/filebeat-8", `"acknowledged":true`},
		{"PUT", "/_template/logstash", `"acknowledged":true`},
		{"PUT", "/_ilm/policy/filebeat", `"acknowledged":true`},
		{"GET", "/_ilm/policy/filebeat", "{}"},
		{"PUT", "/_ingest/pipeline/p", `"acknowledged":true`},
	} {
		var body any
		if c.method == "PUT" {
			body = `{"anything":1}`
		}
		if st, _ := e.Do(c.method, c.path, "", body); st != 401 {
			t.Errorf("%s %s without credentials: %d, want 401", c.method, c.path, st)
		}
		st, b := e.Do(c.method, c.path, e.AdminToken, body)
		if st != 200 || !strings.Contains(string(b), c.want) {
			t.Errorf("%s %s: %d %s, want %s", c.method, c.path, st, b, c.want)
		}
	}
}

func TestElasticSingleDocument(t *testing.T) {
	e := apitest.New(t)
	st, resp := e.Do("POST", "/syslog/_doc", e.AdminToken, "{\n  \"message\": \"one doc\",\n  \"log.level\": \"crit\",\n  \"service.name\": \"es-doc\"\n}")
	var out struct {
		Index  string `json:"_index"`
		ID     string `json:"_id"`
		Result string `json:"result"`
	}
	if st != 201 || json.Unmarshal(resp, &out) != nil || out.Index != "syslog" || out.Result != "created" {
		t.Fatalf("doc: %d %s", st, resp)
	}
	got := pushFind(t, e, "es-doc")
	if len(got) != 1 || got[0]["id"] != out.ID || got[0]["level"] != "fatal" || pushAttr(got[0], "level_original") != "crit" {
		t.Errorf("stored = %v", got)
	}
	if st, resp := e.Do("POST", "/syslog/_doc", e.AdminToken, `{"no":"message"}`); st != 400 || !strings.Contains(string(resp), `"mapper_parsing_exception"`) {
		t.Errorf("a document without a message: %d %s", st, resp)
	}
}
