package main

import (
	"strings"
	"testing"
)

func TestReport(t *testing.T) {
	in := `goos: linux
cpu: Some CPU
BenchmarkCreatePayments-2   	       1	10149197846 ns/op	       5759 creates/s	         0 errors	        7.20 p50_ms	       22.2 p99_ms
BenchmarkCreatePayment/ferretdb-2   	     100	  34000000 ns/op	        29.4 creates/s
BenchmarkCreatePayment/sqlite-2   	     100	  34000000 ns/op	        8000 creates/s
BenchmarkStreamSubscribers-2   	     1	  34000000 ns/op	        61.5 p99_ms
BenchmarkIngestFormats/loki-protobuf-2         	       1	10287856536 ns/op	     21385 lines/s
PASS`
	var b strings.Builder
	if err := run(strings.NewReader(in), &b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{"## CreatePayments", "| creates/s | 5759 | ≥ 0.6× CreatePayment/sqlite | 0.72× (yes) |", "| p99_ms | 22.2 | ≤ 30 | yes |", "| p99_ms | 61.5 | ≤ 50 | **no** |", "## IngestFormats/loki-protobuf", "| lines/s | 21385 |", "| errors | 0 |  |  |", "Some CPU", "## CreatePayment/ferretdb", "| creates/s | 29.4 |"} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
	b.Reset()
	if err := run(strings.NewReader("BenchmarkCreatePayments-2 1 10 ns/op 5759 creates/s"), &b); err != nil || !strings.Contains(b.String(), "no peer figure in this run") {
		t.Errorf("a ratio without its peer must say so: %v\n%s", err, b.String())
	}
	if err := run(strings.NewReader("nothing"), &b); err == nil {
		t.Error("empty input accepted")
	}
}
