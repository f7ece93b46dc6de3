// Package loadtest holds Paymon's load benchmarks. They start real servers
// on loopback, drive them with concurrent clients for a fixed time and
// report throughput and latency percentiles with b.ReportMetric; `make
// bench` runs them once each and turns the output into docs/benchmarks.md.
// They are benchmarks, never pass/fail tests: timings belong here.
package loadtest
