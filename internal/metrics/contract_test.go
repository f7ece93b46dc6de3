package metrics

import (
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// Every collector defined in metrics.go. TestEveryDefinedMetricIsTouched
// fails naming a metric missing here, so the list cannot fall behind.
var contractCollectors = []prometheus.Collector{
	BuildInfo, HTTPRequests, HTTPDuration,
	PaymentsCreated, Payments, PaymentAmount, PaymentsPending, Refunds, ProviderDuration,
	LogsIngested, LogIngestBatchSize,
	StreamClients, StreamDropped, StreamPublished,
	StoreOperationDuration, StoreErrors, StoreBatchSize, CacheOperationDuration, CacheErrors, DependencyUp,
	AlertsFiring, PaymentFailureStreak,
	WebhookDeliveries, WebhookDeliveryDuration, WebhookQueueDepth, WebhookOldestFailing,
}

var variableLabels = regexp.MustCompile(`variableLabels: \{([^}]*)\}`)

// touch gives every vector one child, so that Gather reports it: a vector
// without children is registered but invisible on /metrics.
func touch(t *testing.T, c prometheus.Collector) {
	t.Helper()
	ch := make(chan *prometheus.Desc, 4)
	c.Describe(ch)
	close(ch)
	for d := range ch {
		n := 0
		if m := variableLabels.FindStringSubmatch(d.String()); m != nil && strings.TrimSpace(m[1]) != "" {
			n = len(strings.Split(m[1], ","))
		}
		vals := make([]string, n)
		for i := range vals {
			vals[i] = "contract_test"
		}
		switch v := c.(type) {
		case *prometheus.CounterVec:
			v.WithLabelValues(vals...)
		case *prometheus.GaugeVec:
			v.WithLabelValues(vals...)
		case *prometheus.HistogramVec:
			v.WithLabelValues(vals...)
		case *prometheus.SummaryVec:
			v.WithLabelValues(vals...)
		}
	}
}

// exported gathers metrics.Registry as /metrics serves it and returns
// every family name with its type.
func exported(t *testing.T) map[string]dto.MetricType {
	t.Helper()
	for _, c := range contractCollectors {
		touch(t, c)
	}
	fams, err := Registry.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	out := map[string]dto.MetricType{}
	for _, f := range fams {
		out[f.GetName()] = f.GetType()
	}
	return out
}

func repoFile(t *testing.T, rel string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", rel))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func repoGlob(t *testing.T, pattern string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("..", "..", pattern))
	if err != nil || len(files) == 0 {
		t.Fatalf("no file matches %s (err %v)", pattern, err)
	}
	return files
}

var queried = regexp.MustCompile(`\b(?:paymon|go|process)_[a-z_]+\b`)

// resolve maps a queried series name to the family that exports it:
// histograms and summaries export name_bucket, name_sum and name_count.
func resolve(name string, have map[string]dto.MetricType) (string, bool) {
	if _, ok := have[name]; ok {
		return name, true
	}
	for _, suf := range []string{"_bucket", "_sum", "_count"} {
		base, ok := strings.CutSuffix(name, suf)
		if !ok {
			continue
		}
		typ, ok := have[base]
		if ok && (typ == dto.MetricType_HISTOGRAM || typ == dto.MetricType_GAUGE_HISTOGRAM ||
			(typ == dto.MetricType_SUMMARY && suf != "_bucket")) {
			return base, true
		}
	}
	return "", false
}

// The Grafana dashboards and the Prometheus rules (and their unit tests)
// must only query series the binary exports: a renamed metric otherwise
// leaves an empty panel or an alert that can never fire.
func TestDashboardsAndRulesQueryExportedMetrics(t *testing.T) {
	have := exported(t)
	files := append(repoGlob(t, "deploy/grafana/dashboards/*.json"), repoGlob(t, "deploy/prometheus/rules/*.yml")...)
	checked := 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]bool{}
		for _, name := range queried.FindAllString(string(b), -1) {
			if seen[name] {
				continue
			}
			seen[name] = true
			checked++
			if _, ok := resolve(name, have); !ok {
				t.Errorf("%s queries %s, which the binary does not export", filepath.Base(f), name)
			}
		}
	}
	if checked < 10 {
		t.Fatalf("only %d metric names found in %v: is the extraction broken?", checked, files)
	}
}

// docs/metrics-contract.md is the list operators read: it must name every
// paymon_ metric the binary exports.
func TestContractDocListsEveryMetric(t *testing.T) {
	doc := repoFile(t, "docs/metrics-contract.md")
	listed := map[string]bool{}
	for _, m := range regexp.MustCompile("`(paymon_[a-z_]+)`").FindAllStringSubmatch(doc, -1) {
		listed[m[1]] = true
	}
	var names []string
	for name := range exported(t) {
		if strings.HasPrefix(name, "paymon_") {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	if len(names) < 10 {
		t.Fatalf("only %d paymon_ metrics gathered: %v", len(names), names)
	}
	for _, name := range names {
		if !listed[name] {
			t.Errorf("docs/metrics-contract.md does not list %s", name)
		}
	}
	for name := range listed {
		if _, ok := exported(t)[name]; !ok {
			t.Errorf("docs/metrics-contract.md lists %s, which the binary does not export", name)
		}
	}
}

// Every metric defined in metrics.go is in contractCollectors (so the
// tests above see it) and registered (so /metrics serves it).
func TestEveryDefinedMetricIsTouched(t *testing.T) {
	src := repoFile(t, "internal/metrics/metrics.go")
	have := exported(t)
	defined := regexp.MustCompile(`Name:\s*"(paymon_[a-z_]+)"`).FindAllStringSubmatch(src, -1)
	if len(defined) < 10 {
		t.Fatalf("found only %d metric definitions in metrics.go", len(defined))
	}
	for _, m := range defined {
		if _, ok := have[m[1]]; !ok {
			t.Errorf("%s is defined in metrics.go but not gathered: register it in init and add it to contractCollectors", m[1])
		}
	}
}
