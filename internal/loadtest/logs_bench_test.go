package loadtest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/paymon/paymon/internal/apitest"
	"github.com/paymon/paymon/internal/id"
	"github.com/paymon/paymon/internal/logbook"
	"github.com/paymon/paymon/internal/store/sqlite"
	"github.com/paymon/paymon/internal/testenv"
)

var (
	benchServices = []string{"checkout", "ledger", "gateway", "auth", "search", "billing", "notifier", "fraud", "catalog", "payments"}
	benchLevels   = []string{"debug", "info", "info", "info", "info", "info", "warn", "warn", "error", "fatal"}
	benchMessages = []string{
		"request %d handled in %dms", "cache miss for key user:%d after %dms", "payment pay_%d declined: insufficient funds (%d)",
		"upstream timeout after %dms on attempt %d", "order %d shipped to warehouse %d", "retrying job %d in %ds",
	}
)

// ndjsonBatch is one shipper request: n lines of about 250 bytes with a
// few attributes, as Vector or Fluent Bit send them.
func ndjsonBatch(n, seed int) []byte {
	var b bytes.Buffer
	now := time.Now().UTC()
	for i := range n {
		k := seed*n + i
		fmt.Fprintf(&b, `{"time":%q,"level":%q,"service":%q,"message":%q,"trace_id":"tr-%08x","attributes":{"host":"web-%d","region":"eu-west-1","http.status":%d,"duration_ms":%d}}`+"\n",
			now.Add(-time.Duration(k%600)*time.Second).Format(time.RFC3339Nano), benchLevels[k%len(benchLevels)], benchServices[k%len(benchServices)],
			fmt.Sprintf(benchMessages[k%len(benchMessages)], k, k%997), k, k%16, 200+k%5*100, k%1500)
	}
	return b.Bytes()
}

// BenchmarkLogIngest measures POST /api/v1/logs over real loopback HTTP:
// 4 shippers each sending batches of 5,000 NDJSON lines with an ingest
// API key; a line counts only once its 2xx came back, i.e. once it is
// committed (synchronous=FULL) with its roll-up counters. The peer,
// VictoriaLogs, gets the same batches in BenchmarkLogIngestPeer.
func BenchmarkLogIngest(b *testing.B) {
	dir := b.TempDir()
	e := apitest.New(b, "PAYMON_DATA_DIR="+dir)
	st, body := e.Do("POST", "/api/v1/api-keys", e.AdminToken, `{"name":"bench shipper","role":"ingest"}`)
	if st != 201 {
		b.Fatalf("api key: %d %s", st, body)
	}
	var key struct {
		Key string `json:"key"`
	}
	_ = json.Unmarshal(body, &key)
	stored := ingestLoad(b, e.URL+"/api/v1/logs", http.Header{"Authorization": {"Bearer " + key.Key}, "Content-Type": {"application/x-ndjson"}})
	if stored > 0 {
		b.ReportMetric(float64(dirSize(b, dir))/float64(stored), "disk_bytes/line")
	}
}

// BenchmarkLogIngestPeer sends BenchmarkLogIngest's batches the same way
// to VictoriaLogs' JSON-lines endpoint: the peer of DESIGN.md's ingest
// and disk targets, measured in the same run. VictoriaLogs acknowledges
// before its data reaches disk; it is stopped (which writes everything
// out) before its size is read.
func BenchmarkLogIngestPeer(b *testing.B) {
	vl := testenv.VictoriaLogs(b)
	url := vl.URL() + "/insert/jsonline?_msg_field=message&_time_field=time&_stream_fields=service,level"
	stored := ingestLoad(b, url, http.Header{"Content-Type": {"application/stream+json"}})
	vl.Stop(b)
	if stored > 0 {
		b.ReportMetric(float64(dirSize(b, vl.Dir()))/float64(stored), "disk_bytes/line")
	}
}

// ingestLoad runs 4 clients posting 5,000-line NDJSON batches to url for
// the load duration, reports lines/s, latency, errors and CPU per line,
// and returns the lines acknowledged over all iterations.
func ingestLoad(b *testing.B, url string, hdr http.Header) int64 {
	const clients, lines = 4, 5000
	batches := make([][]byte, 8)
	for i := range batches {
		batches[i] = ndjsonBatch(lines, i)
	}
	dur := Duration(15 * time.Second)
	tr := &http.Transport{MaxIdleConnsPerHost: clients, MaxConnsPerHost: clients}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: time.Minute}
	var lat Latencies
	var failed, acked, total atomic.Int64
	b.ResetTimer()
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
					req, _ := http.NewRequest("POST", url, bytes.NewReader(batches[(c+n)%len(batches)]))
					req.Header = hdr.Clone()
					t0 := time.Now()
					resp, err := client.Do(req)
					if err != nil {
						failed.Add(1)
						continue
					}
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode/100 != 2 {
						failed.Add(1)
						continue
					}
					lat.Add(time.Since(t0))
					acked.Add(lines)
				}
			}()
		}
		wg.Wait()
		total.Add(acked.Load())
		b.ReportMetric(float64(acked.Load())/time.Since(start).Seconds(), "lines/s")
		// CPU spent by this process per line: for Paymon that is server and
		// clients, for the peer only the clients (it runs apart), so it is
		// comparable across runs of one benchmark only.
		if n := acked.Load(); n > 0 {
			b.ReportMetric(float64(cpuTime()-cpu0)/float64(time.Microsecond)/float64(n), "cpu_us/line")
		}
	}
	b.ReportMetric(lat.Percentile(50), "p50_ms")
	b.ReportMetric(lat.Percentile(99), "p99_ms")
	b.ReportMetric(float64(failed.Load()), "errors")
	return total.Load()
}

// dirSize is the bytes of every file under dir.
func dirSize(b *testing.B, dir string) int64 {
	var n int64
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		info, err := d.Info()
		if err == nil {
			n += info.Size()
		}
		return err
	})
	if err != nil {
		b.Fatalf("cannot size %s: %v", dir, err)
	}
	return n
}

// cpuTime is the user+system CPU time the process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkLogStats measures GET /api/v1/logs/stats's work (Service.Stats,
// the default last-24-hours query and a per-service one) over 1,000,000
// stored entries spread over 24 hours, 10 services and 5 levels. Stats
// read only the roll-up counters, so the entry count should not matter.
func BenchmarkLogStats(b *testing.B) {
	db, err := sqlite.Open(filepath.Join(b.TempDir(), "paymon.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	const total, batch = 1_000_000, 50_000
	now := time.Now().UTC()
	ctx := context.Background()
	for start := 0; start < total; start += batch {
		es := make([]logbook.Entry, batch)
		for i := range es {
			k := start + i
			es[i] = logbook.Entry{
				ID:      id.New("log"),
				Time:    now.Add(-time.Duration(k%86400) * time.Second).Truncate(time.Millisecond),
				Level:   logbook.Level(benchLevels[k%len(benchLevels)]),
				Service: benchServices[k%len(benchServices)],
				Message: fmt.Sprintf(benchMessages[k%len(benchMessages)], k, k%997),
			}
		}
		if err := db.InsertEntries(ctx, es, logbook.BuildRollup(es)); err != nil {
			b.Fatal(err)
		}
	}
	s := logbook.NewService(db, nil, logbook.Options{})
	defer s.Close()
	queries := []logbook.StatsQuery{
		{},                      // last 24 h, 15 m steps
		{Service: "checkout"},   // one service
		{Step: time.Hour},       // hourly counters
		{Step: 5 * time.Minute}, // 288 points from minute counters
	}
	var lat Latencies
	dur := Duration(10 * time.Second)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		deadline := time.Now().Add(dur)
		for n := 0; time.Now().Before(deadline); n++ {
			t0 := time.Now()
			st, err := s.Stats(ctx, queries[n%len(queries)])
			if err != nil {
				b.Fatal(err)
			}
			lat.Add(time.Since(t0))
			if n == 0 && st.Total != total {
				b.Fatalf("stats total %d, want %d", st.Total, total)
			}
		}
	}
	b.ReportMetric(lat.Percentile(50), "p50_ms")
	b.ReportMetric(lat.Percentile(99), "p99_ms")
	b.ReportMetric(float64(lat.Count())/(float64(b.N)*dur.Seconds()), "queries/s")
}
