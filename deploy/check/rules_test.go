package check

import (
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

type ruleFile struct {
	Groups []struct {
		Name  string `json:"name"`
		Rules []struct {
			Alert       string            `json:"alert"`
			Record      string            `json:"record"`
			Expr        string            `json:"expr"`
			For         string            `json:"for"`
			Labels      map[string]string `json:"labels"`
			Annotations map[string]string `json:"annotations"`
		} `json:"rules"`
	} `json:"groups"`
}

// The alerts the deployment promises (docs/runbook.md has one section each).
var wantAlerts = []string{
	"PaymentFailureRateHigh", "PaymentFailureStreak", "NoPaymentsReceived", "ErrorLogSpike",
	"PaymonDown", "PaymonDependencyDown", "HTTPLatencyHigh", "StreamClientsDropped",
	"WebhookEndpointFailing",
}

// TestAlertRules complements promtool: every alert has for, severity,
// summary, description and a runbook_url whose anchor exists in
// docs/runbook.md, and every paymon_* metric it uses is in the contract.
func TestAlertRules(t *testing.T) {
	root := repoRoot(t)
	path := filepath.Join(root, "deploy", "prometheus", "rules", "paymon.rules.yml")
	var rf ruleFile
	if err := yaml.UnmarshalStrict(readFile(t, path), &rf); err != nil {
		t.Fatalf("%s: %v", rel(t, path), err)
	}
	contract := contractMetrics(t)
	runbook := markdownAnchors(readFile(t, filepath.Join(root, "docs", "runbook.md")))
	found := map[string]bool{}
	for _, g := range rf.Groups {
		for _, r := range g.Rules {
			if r.Alert == "" {
				continue
			}
			found[r.Alert] = true
			if r.For == "" {
				t.Errorf("%s: no for", r.Alert)
			}
			switch r.Labels["severity"] {
			case "critical", "warning", "info":
			default:
				t.Errorf("%s: labels.severity %q, want critical, warning or info", r.Alert, r.Labels["severity"])
			}
			for _, a := range []string{"summary", "description", "runbook_url"} {
				if strings.TrimSpace(r.Annotations[a]) == "" {
					t.Errorf("%s: no annotations.%s", r.Alert, a)
				}
			}
			url := r.Annotations["runbook_url"]
			_, anchor, ok := strings.Cut(url, "docs/runbook.md#")
			if !ok {
				t.Errorf("%s: runbook_url %q does not point into docs/runbook.md#", r.Alert, url)
			} else if !runbook[anchor] {
				t.Errorf("%s: runbook_url anchor #%s has no heading in docs/runbook.md", r.Alert, anchor)
			}
			metrics, err := metricNames(r.Expr)
			if err != nil {
				t.Errorf("%s: invalid PromQL: %v", r.Alert, err)
				continue
			}
			for _, m := range metrics {
				switch {
				case !allowedMetric(m):
					t.Errorf("%s: metric %q is not paymon_*, go_*, process_* or up", r.Alert, m)
				case strings.HasPrefix(m, "paymon_") && !inContract(contract, m):
					t.Errorf("%s: metric %s is not in docs/metrics-contract.md", r.Alert, m)
				}
			}
		}
	}
	for _, a := range wantAlerts {
		if !found[a] {
			t.Errorf("alert %s is missing from %s", a, rel(t, path))
		}
	}
}
