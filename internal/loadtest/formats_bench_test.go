package loadtest

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/grafana/loki/pkg/push"
	"github.com/klauspost/compress/snappy"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	logspb "go.opentelemetry.io/proto/otlp/logs/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	"google.golang.org/protobuf/proto"

	"github.com/paymon/paymon/internal/apitest"
)

// formatLine is one log line, encoded below in each push protocol so
// every format carries the same lines.
type formatLine struct {
	time                    time.Time
	level, service, message string
	trace                   uint64
	host, region            string
	status, durationMs      int
}

func formatLines(n, seed int) []formatLine {
	now := time.Now().UTC()
	out := make([]formatLine, n)
	for i := range out {
		k := seed*n + i
		out[i] = formatLine{time: now.Add(-time.Duration(k%600) * time.Second), level: benchLevels[k%len(benchLevels)],
			service: benchServices[k%len(benchServices)], message: fmt.Sprintf(benchMessages[k%len(benchMessages)], k, k%997),
			trace: uint64(k), host: "web-" + strconv.Itoa(k%16), region: "eu-west-1", status: 200 + k%5*100, durationMs: k % 1500}
	}
	return out
}

func formatJSON(ls []formatLine) []byte {
	var b bytes.Buffer
	for _, l := range ls {
		fmt.Fprintf(&b, `{"time":%q,"level":%q,"service":%q,"message":%q,"trace_id":"%016x","attributes":{"host":%q,"region":%q,"http.status":%d,"duration_ms":%d}}`+"\n",
			l.time.Format(time.RFC3339Nano), l.level, l.service, l.message, l.trace, l.host, l.region, l.status, l.durationMs)
	}
	return b.Bytes()
}

// formatLoki groups lines into streams by service and level, as a Loki
// client does with labels, the rest in structured metadata.
func formatLoki(ls []formatLine) []byte {
	streams := map[string]*push.Stream{}
	var order []string
	for _, l := range ls {
		labels := fmt.Sprintf(`{service_name=%q, level=%q, region=%q}`, l.service, l.level, l.region)
		st := streams[labels]
		if st == nil {
			st = &push.Stream{Labels: labels}
			streams[labels] = st
			order = append(order, labels)
		}
		st.Entries = append(st.Entries, push.Entry{Timestamp: l.time, Line: l.message, StructuredMetadata: push.LabelsAdapter{
			{Name: "trace_id", Value: fmt.Sprintf("%016x", l.trace)}, {Name: "host", Value: l.host},
			{Name: "http.status", Value: strconv.Itoa(l.status)}, {Name: "duration_ms", Value: strconv.Itoa(l.durationMs)}}})
	}
	req := &push.PushRequest{}
	for _, k := range order {
		req.Streams = append(req.Streams, *streams[k])
	}
	raw, err := req.Marshal()
	if err != nil {
		panic(err)
	}
	return snappy.Encode(nil, raw)
}

var otlpSeverity = map[string]logspb.SeverityNumber{"debug": 5, "info": 9, "warn": 13, "error": 17, "fatal": 21}

// formatOTLP groups lines by service into resources, as an SDK or
// collector does.
func formatOTLP(ls []formatLine) []byte {
	res := map[string]*logspb.ResourceLogs{}
	req := &logspb.LogsData{}
	for _, l := range ls {
		rl := res[l.service]
		if rl == nil {
			rl = &logspb.ResourceLogs{Resource: &resourcepb.Resource{Attributes: []*commonpb.KeyValue{otlpKV("service.name", l.service), otlpKV("cloud.region", l.region)}},
				ScopeLogs: []*logspb.ScopeLogs{{Scope: &commonpb.InstrumentationScope{Name: "bench"}}}}
			res[l.service] = rl
			req.ResourceLogs = append(req.ResourceLogs, rl)
		}
		trace := make([]byte, 16)
		binary.BigEndian.PutUint64(trace[8:], l.trace+1)
		rl.ScopeLogs[0].LogRecords = append(rl.ScopeLogs[0].LogRecords, &logspb.LogRecord{
			TimeUnixNano: uint64(l.time.UnixNano()), SeverityNumber: otlpSeverity[l.level], SeverityText: l.level,
			Body: &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: l.message}}, TraceId: trace,
			Attributes: []*commonpb.KeyValue{otlpKV("host", l.host),
				{Key: "http.status", Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_IntValue{IntValue: int64(l.status)}}},
				{Key: "duration_ms", Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_IntValue{IntValue: int64(l.durationMs)}}}}})
	}
	b, err := proto.Marshal(req)
	if err != nil {
		panic(err)
	}
	return b
}

func otlpKV(k, v string) *commonpb.KeyValue {
	return &commonpb.KeyValue{Key: k, Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: v}}}
}

// formatBulk writes Elasticsearch bulk create pairs with ECS names, as
// Filebeat or Fluent Bit send them.
func formatBulk(ls []formatLine) []byte {
	var b bytes.Buffer
	for _, l := range ls {
		fmt.Fprintf(&b, "{\"create\":{\"_index\":\"logs\"}}\n"+`{"@timestamp":%q,"log.level":%q,"service.name":%q,"message":%q,"trace.id":"%016x","host":%q,"region":%q,"http.status":%d,"duration_ms":%d}`+"\n",
			l.time.Format(time.RFC3339Nano), l.level, l.service, l.message, l.trace, l.host, l.region, l.status, l.durationMs)
	}
	return b.Bytes()
}

// BenchmarkIngestFormats sends the same lines through each ingest
// endpoint of one real Paymon over loopback HTTP (4 shippers, batches of
// 2,000 lines, an ingest key): lines/s per format, a line counted once
// its success answer (durable) is back.
func BenchmarkIngestFormats(b *testing.B) {
	e := apitest.New(b)
	st, body := e.Do("POST", "/api/v1/api-keys", e.AdminToken, `{"name":"bench formats","role":"ingest"}`)
	if st != 201 {
		b.Fatalf("api key: %d %s", st, body)
	}
	var key struct {
		Key string `json:"key"`
	}
	_ = json.Unmarshal(body, &key)
	const clients, lines = 4, 2000
	lineSets := make([][]formatLine, 8)
	for i := range lineSets {
		lineSets[i] = formatLines(lines, i)
	}
	formats := []struct {
		name, path, contentType string
		encode                  func([]formatLine) []byte
		ok                      func(status int, body []byte) bool
	}{
		{"json", "/api/v1/logs", "application/x-ndjson", formatJSON, func(s int, _ []byte) bool { return s == 200 || s == 201 }},
		{"loki-protobuf", "/loki/api/v1/push", "application/x-protobuf", formatLoki, func(s int, _ []byte) bool { return s == 204 }},
		{"otlp-protobuf", "/v1/logs", "application/x-protobuf", formatOTLP, func(s int, b []byte) bool { return s == 200 && len(b) == 0 }},
		{"elastic-bulk", "/_bulk", "application/x-ndjson", formatBulk, func(s int, b []byte) bool {
			return s == 200 && bytes.Contains(b, []byte(`"errors":false`))
		}},
	}
	dur := Duration(10 * time.Second)
	for _, f := range formats {
		batches := make([][]byte, len(lineSets))
		for i, ls := range lineSets {
			batches[i] = f.encode(ls)
		}
		b.Run(f.name, func(b *testing.B) {
			tr := &http.Transport{MaxIdleConnsPerHost: clients, MaxConnsPerHost: clients}
			defer tr.CloseIdleConnections()
			client := &http.Client{Transport: tr, Timeout: time.Minute}
			var failed, acked atomic.Int64
			for i := 0; i < b.N; i++ {
				deadline := time.Now().Add(dur)
				start := time.Now()
				acked.Store(0)
				cpu0 := cpuTime()
				var wg sync.WaitGroup
				for c := range clients {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for n := 0; time.Now().Before(deadline); n++ {
							req, _ := http.NewRequest("POST", e.URL+f.path, bytes.NewReader(batches[(c+n)%len(batches)]))
							req.Header.Set("Authorization", "Bearer "+key.Key)
							req.Header.Set("Content-Type", f.contentType)
							resp, err := client.Do(req)
							if err != nil {
								failed.Add(1)
								continue
							}
							rb, _ := io.ReadAll(resp.Body)
							resp.Body.Close()
							if !f.ok(resp.StatusCode, rb) {
								if failed.Add(1) == 1 {
									b.Logf("%s: %d %.300s", f.name, resp.StatusCode, rb)
								}
								continue
							}
							acked.Add(lines)
						}
					}()
				}
				wg.Wait()
				b.ReportMetric(float64(acked.Load())/time.Since(start).Seconds(), "lines/s")
				if n := acked.Load(); n > 0 {
					b.ReportMetric(float64(cpuTime()-cpu0)/float64(time.Microsecond)/float64(n), "cpu_us/line")
				}
			}
			b.ReportMetric(float64(len(batches[0]))/lines, "bytes/line")
			b.ReportMetric(float64(failed.Load()), "errors")
		})
	}
}
