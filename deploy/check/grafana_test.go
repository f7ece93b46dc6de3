package check

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

type dashboard struct {
	Title         string  `json:"title"`
	UID           string  `json:"uid"`
	SchemaVersion int     `json:"schemaVersion"`
	Panels        []panel `json:"panels"`
	Templating    struct {
		List []struct {
			Name  string `json:"name"`
			Type  string `json:"type"`
			Query any    `json:"query"`
		} `json:"list"`
	} `json:"templating"`
}

type panel struct {
	ID         int             `json:"id"`
	Type       string          `json:"type"`
	Title      string          `json:"title"`
	Datasource json.RawMessage `json:"datasource"`
	Targets    []struct {
		RefID      string          `json:"refId"`
		Expr       string          `json:"expr"`
		Datasource json.RawMessage `json:"datasource"`
	} `json:"targets"`
	Panels []panel `json:"panels"` // collapsed rows
}

func dashboardFiles(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(repoRoot(t), "deploy", "grafana", "dashboards", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no dashboard in deploy/grafana/dashboards")
	}
	return files
}

// flatten returns the non-row panels, including those inside rows.
func flatten(ps []panel) []panel {
	var out []panel
	for _, p := range ps {
		if p.Type == "row" {
			out = append(out, flatten(p.Panels)...)
			continue
		}
		out = append(out, p)
	}
	return out
}

func hasDatasource(raw json.RawMessage) bool {
	s := strings.TrimSpace(string(raw))
	return s != "" && s != "null" && s != `""` && s != "{}"
}

func TestGrafanaDashboards(t *testing.T) {
	contract := contractMetrics(t)
	for _, file := range dashboardFiles(t) {
		name := rel(t, file)
		var d dashboard
		dec := json.NewDecoder(strings.NewReader(string(readFile(t, file))))
		if err := dec.Decode(&d); err != nil {
			t.Errorf("%s: invalid JSON: %v", name, err)
			continue
		}
		if d.Title == "" || d.UID == "" {
			t.Errorf("%s: dashboard needs a title and a uid", name)
		}
		if d.SchemaVersion < 36 {
			t.Errorf("%s: schemaVersion %d is too old", name, d.SchemaVersion)
		}
		vars := map[string]string{}
		for _, v := range d.Templating.List {
			vars[v.Name] = v.Type
		}
		if vars["datasource"] != "datasource" {
			t.Errorf("%s: needs a template variable \"datasource\" of type datasource", name)
		}
		for _, v := range []string{"instance", "job"} {
			if vars[v] != "query" {
				t.Errorf("%s: needs a query template variable %q", name, v)
			}
		}

		panels := flatten(d.Panels)
		if len(panels) < 6 {
			t.Errorf("%s: %d panels, want at least 6", name, len(panels))
		}
		ids := map[int]bool{}
		for _, p := range panels {
			where := fmt.Sprintf("%s: panel %d %q", name, p.ID, p.Title)
			if ids[p.ID] {
				t.Errorf("%s: duplicate panel id", where)
			}
			ids[p.ID] = true
			if p.Type == "text" {
				continue
			}
			if !hasDatasource(p.Datasource) {
				t.Errorf("%s: no datasource", where)
			} else if !strings.Contains(string(p.Datasource), "${datasource}") && !strings.Contains(string(p.Datasource), "$datasource") {
				t.Errorf("%s: datasource %s is not the $datasource variable", where, p.Datasource)
			}
			if len(p.Targets) == 0 {
				t.Errorf("%s: no targets", where)
			}
			for _, tg := range p.Targets {
				twhere := fmt.Sprintf("%s target %s", where, tg.RefID)
				if strings.TrimSpace(tg.Expr) == "" {
					t.Errorf("%s: empty expr", twhere)
					continue
				}
				if !strings.Contains(tg.Expr, `instance=~"$instance"`) {
					t.Errorf("%s: expr does not filter by $instance: %s", twhere, tg.Expr)
				}
				metrics, err := metricNames(tg.Expr)
				if err != nil {
					t.Errorf("%s: invalid PromQL %q: %v", twhere, tg.Expr, err)
					continue
				}
				for _, m := range metrics {
					switch {
					case m == "":
						t.Errorf("%s: selector without a metric name in %q", twhere, tg.Expr)
					case !allowedMetric(m):
						t.Errorf("%s: metric %s is not paymon_*, go_*, process_* or up", twhere, m)
					case strings.HasPrefix(m, "paymon_") && !inContract(contract, m):
						t.Errorf("%s: metric %s is not in docs/metrics-contract.md", twhere, m)
					}
				}
			}
		}
	}
}

func TestGrafanaProvisioning(t *testing.T) {
	root := repoRoot(t)
	var ds struct {
		APIVersion  int `json:"apiVersion"`
		Datasources []struct {
			Name string `json:"name"`
			UID  string `json:"uid"`
			Type string `json:"type"`
			URL  string `json:"url"`
		} `json:"datasources"`
	}
	p := filepath.Join(root, "deploy", "grafana", "provisioning", "datasources", "prometheus.yml")
	if err := yaml.Unmarshal(readFile(t, p), &ds); err != nil {
		t.Fatalf("%s: %v", rel(t, p), err)
	}
	if ds.APIVersion != 1 || len(ds.Datasources) == 0 || ds.Datasources[0].Type != "prometheus" || ds.Datasources[0].URL == "" {
		t.Errorf("%s: want apiVersion 1 and a prometheus datasource with a url", rel(t, p))
	}
	var prov struct {
		APIVersion int `json:"apiVersion"`
		Providers  []struct {
			Name    string `json:"name"`
			Type    string `json:"type"`
			Options struct {
				Path string `json:"path"`
			} `json:"options"`
		} `json:"providers"`
	}
	p = filepath.Join(root, "deploy", "grafana", "provisioning", "dashboards", "paymon.yml")
	if err := yaml.Unmarshal(readFile(t, p), &prov); err != nil {
		t.Fatalf("%s: %v", rel(t, p), err)
	}
	if prov.APIVersion != 1 || len(prov.Providers) == 0 || prov.Providers[0].Type != "file" || prov.Providers[0].Options.Path == "" {
		t.Errorf("%s: want apiVersion 1 and a file provider with options.path", rel(t, p))
	}
}
