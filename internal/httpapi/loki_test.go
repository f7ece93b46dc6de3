package httpapi_test

import (
	"encoding/json"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/grafana/loki/pkg/push"
	"github.com/klauspost/compress/snappy"

	"github.com/paymon/paymon/internal/apitest"
)

// pushFind returns the stored entries of a service, oldest first.
func pushFind(t *testing.T, e *apitest.Env, service string) []map[string]any {
	t.Helper()
	st, body := e.Do("GET", "/api/v1/logs?limit=1000&service="+url.QueryEscape(service), e.AdminToken, nil)
	if st != 200 {
		t.Fatalf("search %s: %d %s", service, st, body)
	}
	var page struct {
		Data []map[string]any `json:"data"`
	}
	if err := json.Unmarshal(body, &page); err != nil {
		t.Fatal(err)
	}
	for i, j := 0, len(page.Data)-1; i < j; i, j = i+1, j-1 {
		page.Data[i], page.Data[j] = page.Data[j], page.Data[i]
	}
	return page.Data
}

func pushAttr(entry map[string]any, k string) any {
	a, _ := entry["attributes"].(map[string]any)
	return a[k]
}

func lokiProtobuf(t *testing.T, req *push.PushRequest) []byte {
	t.Helper()
	raw, err := req.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return snappy.Encode(nil, raw)
}

func TestLokiPushProtobuf(t *testing.T) {
	e := apitest.New(t)
	at := time.Now().Add(-time.Minute).Truncate(time.Millisecond)
	body := lokiProtobuf(t, &push.PushRequest{Streams: []push.Stream{{
		Labels: `{service_name="loki-pb", level="notice", env="prod", path="C:\\logs \"x\""}`,
		Entries: []push.Entry{
			{Timestamp: at, Line: "order placed", StructuredMetadata: push.LabelsAdapter{{Name: "trace_id", Value: "4bf92f3577b34da6a3ce929d0e0e4736"}, {Name: "user", Value: "u-1"}}},
			{Timestamp: at.Add(time.Millisecond), Line: `{"msg":"json stays the line"}`},
		},
	}, {
		Labels:  `{job="loki-pb-job", detected_level="ERROR"}`,
		Entries: []push.Entry{{Timestamp: at, Line: "boom"}},
	}}})
	st, resp := e.Do("POST", "/loki/api/v1/push", e.AdminToken, body, "Content-Type: application/x-protobuf", "X-Scope-OrgID: team-a")
	if st != 204 {
		t.Fatalf("push: %d %s", st, resp)
	}
	got := pushFind(t, e, "loki-pb")
	if len(got) != 2 {
		t.Fatalf("stored %d entries of loki-pb, want 2: %v", len(got), got)
	}
	first := got[0]
	if first["message"] != "order placed" || first["level"] != "info" || first["trace_id"] != "4bf92f3577b34da6a3ce929d0e0e4736" {
		t.Errorf("first entry = %v", first)
	}
	for k, want := range map[string]any{"env": "prod", "path": `C:\logs "x"`, "user": "u-1", "tenant": "team-a", "level_original": "notice"} {
		if got := pushAttr(first, k); got != want {
			t.Errorf("attribute %s = %#v, want %#v", k, got, want)
		}
	}
	if ts, _ := time.Parse(time.RFC3339Nano, first["time"].(string)); !ts.Equal(at) {
		t.Errorf("time = %v, want %v", first["time"], at)
	}
	if got[1]["message"] != `{"msg":"json stays the line"}` {
		t.Errorf("a JSON line is kept as the message: %v", got[1]["message"])
	}
	job := pushFind(t, e, "loki-pb-job")
	if len(job) != 1 || job[0]["level"] != "error" {
		t.Errorf("job label as service, detected_level as level: %v", job)
	}
}

func TestLokiPushJSON(t *testing.T) {
	e := apitest.New(t)
	ns := time.Now().Add(-time.Second).UnixNano()
	body := `{"streams":[{"stream":{"app":"loki-json","region":"eu"},"values":[
		["` + strconv.FormatInt(ns, 10) + `","plain line"],
		["` + strconv.FormatInt(ns+1, 10) + `","with metadata",{"detected_level":"warning","traceID":"abc123","order":"o-9"}]]}]}`
	for _, gzipped := range []bool{false, true} {
		var b any = body
		hdr := []string{"Content-Type: application/json"}
		if gzipped {
			b = gz(body)
			hdr = append(hdr, "Content-Encoding: gzip")
		}
		if st, resp := e.Do("POST", "/loki/api/v1/push", e.AdminToken, b, hdr...); st != 204 {
			t.Fatalf("push (gzip %v): %d %s", gzipped, st, resp)
		}
	}
	got := pushFind(t, e, "loki-json")
	if len(got) != 4 {
		t.Fatalf("stored %d, want 4", len(got))
	}
	m := got[1]
	if m["message"] != "with metadata" || m["level"] != "warn" || m["trace_id"] != "abc123" || pushAttr(m, "order") != "o-9" || pushAttr(m, "region") != "eu" {
		t.Errorf("entry with metadata = %v", m)
	}
	if pushAttr(m, "app") != nil {
		t.Errorf("the label used as service is not repeated in attributes: %v", m["attributes"])
	}
}

func TestLokiPushStoresGoodLinesAndNamesBadOnes(t *testing.T) {
	e := apitest.New(t)
	body := `{"streams":[{"stream":{"service":"loki-partial"},"values":[["0","good one"],["0","   "],["zzz","bad time"],["0","good two"]]}]}`
	st, resp := e.Do("POST", "/loki/api/v1/push", e.AdminToken, body)
	if st != 400 || apitest.ErrorCode(resp) != "invalid_log" {
		t.Fatalf("push: %d %s", st, resp)
	}
	var env struct {
		Error struct {
			Details struct {
				Accepted int `json:"accepted"`
				Rejected int `json:"rejected"`
				Errors   []struct {
					Item int `json:"item"`
				} `json:"errors"`
			} `json:"details"`
		} `json:"error"`
	}
	if err := json.Unmarshal(resp, &env); err != nil {
		t.Fatal(err)
	}
	d := env.Error.Details
	if d.Accepted != 2 || d.Rejected != 2 || len(d.Errors) != 2 || d.Errors[0].Item != 2 || d.Errors[1].Item != 3 {
		t.Errorf("details = %+v", d)
	}
	if got := pushFind(t, e, "loki-partial"); len(got) != 2 {
		t.Errorf("stored %d good lines, want 2", len(got))
	}
}

func TestLokiPushRefusesUnreadableBodies(t *testing.T) {
	e := apitest.New(t)
	for _, c := range []struct {
		name   string
		body   any
		hdr    []string
		status int
		code   string
	}{
		{"not snappy", "\xff\xff\xff\xff\xff garbage", []string{"Content-Type: application/x-protobuf"}, 400, "malformed_log"},
		{"snappy, not protobuf", snappy.Encode(nil, []byte("\x0a\xff\xff\xff\xff\x0f")), []string{"Content-Type: application/x-protobuf"}, 400, "malformed_log"},
		{"bad labels", lokiProtobuf(t, &push.PushRequest{Streams: []push.Stream{{Labels: `{app=unquoted}`, Entries: []push.Entry{{Timestamp: time.Now(), Line: "x"}}}}}),
			[]string{"Content-Type: application/x-protobuf"}, 400, "invalid_log"},
		{"bad JSON", `{"streams":[`, []string{"Content-Type: application/json"}, 400, "malformed_log"},
		{"other type", "a=b", []string{"Content-Type: application/x-www-form-urlencoded"}, 415, "unsupported_media_type"},
		{"bad gzip", "not gzip", []string{"Content-Type: application/json", "Content-Encoding: gzip"}, 400, "unreadable_body"},
	} {
		st, resp := e.Do("POST", "/loki/api/v1/push", e.AdminToken, c.body, c.hdr...)
		if st != c.status || apitest.ErrorCode(resp) != c.code {
			t.Errorf("%s: %d %s, want %d %s", c.name, st, resp, c.status, c.code)
		}
	}
	if st, _ := e.Do("POST", "/loki/api/v1/push", "", `{"streams":[]}`); st != 401 {
		t.Errorf("without a token: %d, want 401", st)
	}
}
