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
}

// targets are the goals set in the issues, on the 2-core reference machine.
var targets = map[string][]target{
	"CreatePayments":    {{"creates/s", false, 5000}, {"p99_ms", true, 20}},
	"LogIngest":         {{"lines/s", false, 150000}},
	"LogStats":          {{"p99_ms", true, 50}},
	"StreamSubscribers": {{"p99_ms", true, 50}},
	"WebhookDeliveries": {{"p99_ms", true, 1000}},
}

// about says what each benchmark measures.
var about = map[string]string{
	"CreatePayments":           "POST /api/v1/payments over loopback HTTP, 50 concurrent clients, embedded store (SQLite, synchronous=FULL), simulator; each 201 is durable.",
	"LogIngest":                "POST /api/v1/logs over loopback HTTP, 4 concurrent clients sending batches of 5,000 NDJSON lines; a line counts once its 201 (durable) is back.",
	"LogStats":                 "GET /api/v1/logs/stats over 1,000,000 stored entries (24 h, 10 services, 5 levels).",
	"StreamSubscribers":        "1,000 WebSocket subscribers on one instance, 200 events/s published; latency from publish to client.",
	"WebhookDeliveries":        "10,000 payment changes (5,000 creates) to 10 local endpoints subscribed to every event (100,000 signed deliveries), embedded store; latency from the change to the receiver's 2xx, and creates/s with the 10 endpoints receiving against creates/s in the same run with none.",
	"CreatePayment/sqlite":     "The create path's two store writes (claim + insert, update + complete) from 16 goroutines (8 per core), embedded SQLite, no HTTP.",
	"CreatePayment/ferretdb":   "The same on the MongoDB adapter against FerretDB v1.24 (SQLite handler) — a correctness harness, not MongoDB's speed.",
	"LogIngest/sqlite":         "Log store inserts of 5,000-entry batches with roll-ups, embedded SQLite, no HTTP.",
	"LogIngest/ferretdb":       "The same on the MongoDB adapter against FerretDB.",
	"LogStats/sqlite/1h0m0s":   "The three roll-up reads of one stats request (a day by the hour), log store only.",
	"LogStats/sqlite/1m0s":     "The same for two hours by the minute.",
	"LogStats/ferretdb/1h0m0s": "A day by the hour on FerretDB.",
	"LogStats/ferretdb/1m0s":   "Two hours by the minute on FerretDB.",
}

var lineRE = regexp.MustCompile(`^Benchmark([A-Za-z0-9_/]+?)(?:-\d+)?\s+(\d+)\s+(.*)$`)

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
				v, _ := strconv.ParseFloat(m[1], 64)
				if tg.max {
					goal, met = fmt.Sprintf("≤ %g", tg.lim), yes(v <= tg.lim)
				} else {
					goal, met = fmt.Sprintf("≥ %g", tg.lim), yes(v >= tg.lim)
				}
			}
			fmt.Fprintf(out, "| %s | %s | %s | %s |\n", m[0], m[1], goal, met)
		}
	}
	if notes, err := os.ReadFile("docs/benchmarks-notes.md"); err == nil {
		fmt.Fprintf(out, "\n%s", notes)
	}
	return nil
}

func yes(b bool) string {
	if b {
		return "yes"
	}
	return "**no**"
}
