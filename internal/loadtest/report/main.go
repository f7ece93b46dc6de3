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
	"IngestHTTP":        {{"lines/s", false, 150000}},
	"LogStats":          {{"p99_ms", true, 50}},
	"StreamSubscribers": {{"p99_ms", true, 50}},
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
		for i := 0; i+1 < len(f); i += 2 {
			if f[i+1] == "ns/op" {
				continue
			}
			r.metrics = append(r.metrics, [2]string{f[i+1], f[i]})
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
		fmt.Fprintf(out, "\n## %s\n\n| figure | value | target | met |\n|---|---|---|---|\n", r.name)
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
