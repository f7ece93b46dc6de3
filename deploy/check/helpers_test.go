package check

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/prometheus/promql/parser"
)

// rootModule is the module path of the repository root.
const rootModule = "github.com/paymon/paymon"

var (
	rootOnce sync.Once
	rootDir  string
	rootErr  error
)

// repoRoot returns the repository root: two levels above deploy/check,
// confirmed by the root go.mod's module line.
func repoRoot(t testing.TB) string {
	t.Helper()
	rootOnce.Do(func() {
		dir, err := filepath.Abs(filepath.Join("..", ".."))
		if err != nil {
			rootErr = err
			return
		}
		data, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err != nil {
			rootErr = fmt.Errorf("cannot read the root go.mod: %w", err)
			return
		}
		if !regexp.MustCompile(`(?m)^module\s+` + regexp.QuoteMeta(rootModule) + `\s*$`).Match(data) {
			rootErr = fmt.Errorf("%s/go.mod is not module %s", dir, rootModule)
			return
		}
		rootDir = dir
	})
	if rootErr != nil {
		t.Fatalf("cannot find the repository root: %v", rootErr)
	}
	return rootDir
}

func readFile(t testing.TB, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("cannot read %s: %v", path, err)
	}
	return data
}

// rel makes path relative to the repository root for messages.
func rel(t testing.TB, path string) string {
	r, err := filepath.Rel(repoRoot(t), path)
	if err != nil {
		return path
	}
	return r
}

var docSeparator = regexp.MustCompile(`(?m)^---[ \t]*(#.*)?$`)

// splitYAMLDocuments splits a multi-document YAML stream and drops
// documents that hold only comments or blank lines.
func splitYAMLDocuments(data []byte) [][]byte {
	var docs [][]byte
	for _, doc := range docSeparator.Split(string(data), -1) {
		empty := true
		sc := bufio.NewScanner(strings.NewReader(doc))
		for sc.Scan() {
			line := strings.TrimSpace(sc.Text())
			if line != "" && !strings.HasPrefix(line, "#") {
				empty = false
				break
			}
		}
		if !empty {
			docs = append(docs, []byte(doc))
		}
	}
	return docs
}

// ---- PromQL ----------------------------------------------------------------

var grafanaVars = strings.NewReplacer(
	"$__rate_interval", "5m",
	"${__rate_interval}", "5m",
	"$__interval", "1m",
	"${__interval}", "1m",
	"$__range", "1h",
	"${__range}", "1h",
)

var promqlParser = parser.NewParser(parser.Options{})

// metricNames parses a PromQL expression (Grafana range variables replaced
// by durations) and returns the metric names it selects. Selectors without a
// literal metric name are reported as "".
func metricNames(expr string) ([]string, error) {
	e, err := promqlParser.ParseExpr(grafanaVars.Replace(expr))
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	parser.Inspect(e, func(n parser.Node, _ []parser.Node) error {
		vs, ok := n.(*parser.VectorSelector)
		if !ok {
			return nil
		}
		name := vs.Name
		if name == "" {
			for _, m := range vs.LabelMatchers {
				if m.Name == "__name__" && m.Type.String() == "=" {
					name = m.Value
				}
			}
		}
		seen[name] = true
		return nil
	})
	names := make([]string, 0, len(seen))
	for n := range seen {
		names = append(names, n)
	}
	sort.Strings(names)
	return names, nil
}

// contractMetrics reads the metric names from docs/metrics-contract.md: the
// first backquoted cell of each table row that starts with "paymon_".
func contractMetrics(t testing.TB) map[string]bool {
	t.Helper()
	data := readFile(t, filepath.Join(repoRoot(t), "docs", "metrics-contract.md"))
	re := regexp.MustCompile("(?m)^\\|\\s*`(paymon_[a-z0-9_]+)`")
	out := map[string]bool{}
	for _, m := range re.FindAllSubmatch(data, -1) {
		out[string(m[1])] = true
	}
	if len(out) == 0 {
		t.Fatal("docs/metrics-contract.md lists no paymon_ metric")
	}
	return out
}

// inContract reports whether a selected series name belongs to a contract
// metric, allowing the _bucket, _count and _sum series of histograms.
func inContract(contract map[string]bool, name string) bool {
	if contract[name] {
		return true
	}
	for _, suffix := range []string{"_bucket", "_count", "_sum"} {
		if base, ok := strings.CutSuffix(name, suffix); ok && contract[base] {
			return true
		}
	}
	return false
}

// allowedMetric is the rule for dashboards and alerts: only paymon's own
// metrics, the Go/process collectors and Prometheus' up.
func allowedMetric(name string) bool {
	return name == "up" || strings.HasPrefix(name, "paymon_") ||
		strings.HasPrefix(name, "go_") || strings.HasPrefix(name, "process_")
}

// markdownAnchors returns the GitHub anchors of the headings in a markdown
// file (lower case, punctuation dropped, spaces to dashes).
func markdownAnchors(data []byte) map[string]bool {
	out := map[string]bool{}
	inFence := false
	for _, line := range bytes.Split(data, []byte("\n")) {
		s := strings.TrimSpace(string(line))
		if strings.HasPrefix(s, "```") {
			inFence = !inFence
			continue
		}
		if inFence || !strings.HasPrefix(s, "#") {
			continue
		}
		title := strings.TrimSpace(strings.TrimLeft(s, "#"))
		var b strings.Builder
		for _, r := range strings.ToLower(title) {
			switch {
			case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '-', r == '_':
				b.WriteRune(r)
			case r == ' ':
				b.WriteRune('-')
			}
		}
		out[b.String()] = true
	}
	return out
}
