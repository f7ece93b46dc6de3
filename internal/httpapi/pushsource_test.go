package httpapi_test

import (
	"encoding/json"
	"testing"

	"github.com/paymon/paymon/internal/apitest"
)

// Entries pushed through Loki, OTLP and Elasticsearch record the key that
// wrote them, like the native endpoint's (they were stored with none).
func TestPushedEntriesRecordTheirSource(t *testing.T) {
	e := apitest.New(t)
	st, body := e.Do("POST", "/api/v1/api-keys", e.AdminToken, `{"name":"pusher","role":"ingest"}`)
	var k struct{ ID, Key string }
	if st != 201 || json.Unmarshal(body, &k) != nil {
		t.Fatalf("api key: %d %s", st, body)
	}
	pushes := []struct{ service, path, ctype, body string }{
		{"src-loki", "/loki/api/v1/push", "application/json", `{"streams":[{"stream":{"service_name":"src-loki"},"values":[["1764650000000000000","loki line"]]}]}`},
		{"src-otlp", "/v1/logs", "application/json", `{"resourceLogs":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"src-otlp"}}]},"scopeLogs":[{"logRecords":[{"body":{"stringValue":"otlp line"}}]}]}]}`},
		{"src-elastic", "/_bulk", "application/x-ndjson", "{\"create\":{}}\n{\"message\":\"bulk line\",\"service.name\":\"src-elastic\"}\n"},
	}
	for _, p := range pushes {
		if st, body := e.Do("POST", p.path, k.Key, p.body, "Content-Type: "+p.ctype); st/100 != 2 {
			t.Fatalf("%s: %d %s", p.path, st, body)
		}
		l := waitLogs(t, e, "service="+p.service, 1)
		if len(l.Data) != 1 {
			t.Fatalf("%s: %d entries", p.path, len(l.Data))
		}
		if got := l.Data[0].Source; got != "key:"+k.ID {
			t.Errorf("%s: source %q, want key:%s", p.path, got, k.ID)
		}
	}
}

// winston's batching transport sends [] when its timer fires after a full
// batch was sent: an empty batch is answered 200, not a 4xx winston warns
// about; strict mode still refuses it.
func TestEmptyLogBatchIsAnsweredOK(t *testing.T) {
	e := apitest.New(t)
	if st, body := e.Do("POST", "/api/v1/logs", e.AdminToken, `[]`); st != 200 || string(body) != "{\"accepted\":0,\"rejected\":0,\"errors\":[]}\n" {
		t.Fatalf("lenient []: %d %s", st, body)
	}
	if st, body := e.Do("POST", "/api/v1/logs?strict=true", e.AdminToken, `[]`); st != 422 {
		t.Fatalf("strict []: %d %s", st, body)
	}
}
