package httpapi_test

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/paymon/paymon/internal/httpapi"
	"github.com/paymon/paymon/internal/testenv"
)

// documentedRoutes reads the paths section of docs/openapi.yaml: a path is
// a two-space-indented key, a method a four-space-indented one. The file is
// kept in that plain layout so this test needs no YAML library.
func documentedRoutes(t *testing.T) map[string]bool {
	f, err := os.Open(filepath.Join(testenv.Root(), "docs", "openapi.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]bool{}
	inPaths, path := false, ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "paths:":
			inPaths = true
		case inPaths && len(line) > 0 && line[0] != ' ':
			inPaths = false
		case inPaths && strings.HasPrefix(line, "  /") && strings.HasSuffix(line, ":"):
			path = strings.TrimSuffix(strings.TrimSpace(line), ":")
		case inPaths && strings.HasPrefix(line, "    ") && !strings.HasPrefix(line, "     ") && strings.HasSuffix(line, ":"):
			m := strings.ToUpper(strings.TrimSuffix(strings.TrimSpace(line), ":"))
			out[m+" "+path] = true
		}
	}
	return out
}

func TestEveryRouteIsDocumented(t *testing.T) {
	doc := documentedRoutes(t)
	if len(doc) < 10 {
		t.Fatalf("parsed only %d routes from openapi.yaml", len(doc))
	}
	for _, r := range httpapi.Routes(httpapi.Deps{}) {
		if !doc[r.Method+" "+r.Path] {
			t.Errorf("%s %s is served but not in docs/openapi.yaml", r.Method, r.Path)
		}
	}
	for _, r := range []string{"GET /healthz", "GET /readyz", "GET /metrics"} {
		if !doc[r] {
			t.Errorf("%s not documented", r)
		}
	}
}
