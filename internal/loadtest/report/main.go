// Command report turns `go test -bench` output from internal/loadtest into
// docs/benchmarks.md: one table per benchmark with the figures it reported
// and the target each is held to. `make bench` runs it.
package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"
)

type target struct {
	unit string
	max  bool // true: the figure must not exceed limit
	lim  float64
	// peer, when set, makes lim a ratio: the figure divided by the same
	// unit of the benchmark named peer, measured in the same run (these
	// shared 2-core machines are too noisy for absolute targets).
	peer string
}

// targets are the goals of DESIGN.md's "Performance targets".
var targets = map[string][]target{
	"ConcurrentBadLogins": {{unit: "added_rss_MiB", max: true, lim: 256}},
	"CreatePayments":      {{unit: "creates/s", lim: 0.6, peer: "CreatePayment/sqlite"}, {unit: "p99_ms", max: true, lim: 30}},
	"LogIngest":           {{unit: "lines/s", lim: 1.0, peer: "LogIngestPeer"}, {unit: "disk_bytes/line", max: true, lim: 1.0, peer: "LogIngestPeer"}},
	"LogStats":            {{unit: "p99_ms", max: true, lim: 10}},
	"StreamSubscribers":   {{unit: "p99_ms", max: true, lim: 50}},
	"WebhookDeliveries":   {{unit: "p99_ms", max: true, lim: 1000}},
}

// about says what each benchmark measures.
var about = map[string]string{
	"ConcurrentBadLogins":         "200 wrong-password logins at once (from 100 loopback addresses) against a real `paymon serve`; resident memory added by the burst (high-water after minus resident before).",
	"CreatePayments":              "POST /api/v1/payments over loopback HTTP, 50 concurrent clients, embedded store (SQLite, synchronous=FULL), simulator; each 201 is durable.",
	"LogIngest":                   "POST /api/v1/logs over loopback HTTP, 4 concurrent clients sending batches of 5,000 NDJSON lines; a line counts once its 2xx (durable) is back. Disk is the data dir (SQLite file and WAL) per stored line.",
	"LogIngestPeer":               "The same batches, clients and duration sent to VictoriaLogs " + victoriaLogs + " (`/insert/jsonline`, `application/stream+json`, `_msg_field=message`), started beside Paymon in the same run. It acknowledges before its data reaches disk; disk is measured after it stopped and wrote everything out.",
	"SyslogIngest":                "The syslog listener over loopback TCP, 4 senders writing octet-counted RFC 5424 lines (the LogIngest lines, attributes as structured data); a line counts once stored (no ack in syslog: the run ends by closing the listener, which writes what it read).",
	"IngestFormats/json":          "The same lines through each ingest endpoint of one Paymon over loopback HTTP (4 shippers, batches of 2,000 lines, an ingest key; a line counts once its durable answer is back): here NDJSON to POST /api/v1/logs. bytes/line is the request body.",
	"IngestFormats/loki-protobuf": "The same lines as a Loki push, protobuf + snappy, to POST /loki/api/v1/push.",
	"IngestFormats/otlp-protobuf": "The same lines as OTLP/HTTP protobuf to POST /v1/logs.",
	"IngestFormats/elastic-bulk":  "The same lines as an Elasticsearch bulk request to POST /_bulk.",
	"LogStats":                    "GET /api/v1/logs/stats over 1,000,000 stored entries (24 h, 10 services, 5 levels).",
	"StreamSubscribers":           "1,000 WebSocket subscribers on one instance, 200 events/s published; latency from publish to client.",
	"WebhookDeliveries":           "10,000 payment changes (5,000 creates) to 10 local endpoints subscribed to every event (100,000 signed deliveries), embedded store; latency from the change to the receiver's 2xx, and creates/s with the 10 endpoints receiving against creates/s in the same run with none.",
	"CreatePayment/sqlite":        "The create path's two store writes (claim + insert, update + complete) from 16 goroutines (8 per core), embedded SQLite, no HTTP.",
	"CreatePayment/ferretdb":      "The same on the MongoDB adapter against FerretDB v1.24 (SQLite handler) — a correctness harness, not MongoDB's speed.",
	"LogIngest/sqlite":            "Log store inserts of 5,000-entry batches with roll-ups, embedded SQLite, no HTTP.",
	"LogIngest/ferretdb":          "The same on the MongoDB adapter against FerretDB.",
	"LogStats/sqlite/1h0m0s":      "The three roll-up reads of one stats request (a day by the hour), log store only.",
	"LogStats/sqlite/1m0s":        "The same for two hours by the minute.",
	"LogStats/ferretdb/1h0m0s":    "A day by the hour on FerretDB.",
	"LogStats/ferretdb/1m0s":      "Two hours by the minute on FerretDB.",
}

// victoriaLogs is the peer's version (internal/testenv/victorialogs.go).
const victoriaLogs = "v1.52.1"

var lineRE = regexp.MustCompile(`^Benchmark([A-Za-z0-9_/-]+?)(?:-\d+)?\s+(\d+)\s+(.*)$`)

type result struct {
	name    string
	metrics [][2]string
}

func main() {
	if err := run(os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "report:", err)
		os.Exit(1)
	}
}

func run(in io.Reader, out io.Writer) error {
	var results []result
	cpu := ""
	sc := bufio.NewScanner(in)
	for sc.Scan() {
		line := sc.Text()
		if v, ok := strings.CutPrefix(line, "cpu: "); ok {
			cpu = strings.TrimSpace(v)
		}
		m := lineRE.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		f := strings.Fields(m[3])
		r := result{name: m[1]}
		var nsPerOp string
		for i := 0; i+1 < len(f); i += 2 {
			if f[i+1] == "ns/op" {
				nsPerOp = f[i]
				continue
			}
			r.metrics = append(r.metrics, [2]string{f[i+1], f[i]})
		}
		// A plain Go benchmark reports only time per operation.
		if len(r.metrics) == 0 && nsPerOp != "" {
			ns, _ := strconv.ParseFloat(nsPerOp, 64)
			r.metrics = append(r.metrics, [2]string{"ms/op", strconv.FormatFloat(ns/1e6, 'f', 3, 64)})
		}
		results = append(results, r)
	}
	if err := sc.Err(); err != nil {
		return err
	}
	if len(results) == 0 {
		return fmt.Errorf("no benchmark results in the input")
	}
	sort.Slice(results, func(i, j int) bool { return results[i].name < results[j].name })
	fmt.Fprintf(out, "# Benchmarks\n\nWritten by `make bench` on %s: %d cores (%s), %s %s/%s.\n",
		time.Now().UTC().Format("2006-01-02"), runtime.NumCPU(), cpu, runtime.Version(), runtime.GOOS, runtime.GOARCH)
	fmt.Fprintf(out, "The load generator runs on the same machine as the server, as the issues' targets assume.\n")
	byName := map[string]result{}
	for _, r := range results {
		byName[r.name] = r
	}
	for _, r := range results {
		fmt.Fprintf(out, "\n## %s\n\n", r.name)
		if a := about[r.name]; a != "" {
			fmt.Fprintf(out, "%s\n\n", a)
		}
		fmt.Fprintf(out, "| figure | value | target | met |\n|---|---|---|---|\n")
		for _, m := range r.metrics {
			goal, met := "", ""
			for _, tg := range targets[r.name] {
				if tg.unit != m[0] {
					continue
				}
				goal, met = judge(tg, m[1], byName)
			}
			fmt.Fprintf(out, "| %s | %s | %s | %s |\n", m[0], m[1], goal, met)
		}
	}
	if notes, err := os.ReadFile("docs/benchmarks-notes.md"); err == nil {
		fmt.Fprintf(out, "\n%s", notes)
	}
	return nil
}

// judge says what tg asks of value and whether value meets it.
func judge(tg target, value string, byName map[string]result) (goal, met string) {
	v, _ := strconv.ParseFloat(value, 64)
	cmp := "≥"
	if tg.max {
		cmp = "≤"
	}
	if tg.peer == "" {
		return fmt.Sprintf("%s %g", cmp, tg.lim), yes(tg.max && v <= tg.lim || !tg.max && v >= tg.lim)
	}
	goal = fmt.Sprintf("%s %g× %s", cmp, tg.lim, tg.peer)
	peer, ok := metric(byName[tg.peer], tg.unit)
	if !ok || peer == 0 {
		return goal, "no peer figure in this run"
	}
	ratio := v / peer
	return goal, fmt.Sprintf("%.2f× (%s)", ratio, yes(tg.max && ratio <= tg.lim || !tg.max && ratio >= tg.lim))
}

func metric(r result, unit string) (float64, bool) {
	for _, m := range r.metrics {
		if m[0] == unit {
			v, err := strconv.ParseFloat(m[1], 64)
			return v, err == nil
		}
	}
	return 0, false
}

func yes(b bool) string {
	if b {
		return "yes"
	}
	return "**no**"
}
