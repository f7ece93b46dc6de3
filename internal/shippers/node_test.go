package shippers

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/paymon/paymon/internal/testenv"
)

// nodeDir is the Node project the winston and pino tests run (installed
// by scripts/deps.sh node-shippers with npm ci).
func nodeDir() string {
	return filepath.Join(testenv.Root(), "internal", "shippers", "testdata", "node")
}

// nodeMissing skips the test, or fails it when PAYMON_TESTENV_REQUIRE=1,
// as testenv does for its servers.
func nodeMissing(t *testing.T, what string) {
	t.Helper()
	msg := fmt.Sprintf("shippers: %s not found; install it with: scripts/deps.sh node-shippers (from the repository root)", what)
	if v := os.Getenv(testenv.RequireEnv); v != "" && v != "0" && !strings.EqualFold(v, "false") {
		t.Fatal(msg)
	}
	t.Skip(msg + " [set " + testenv.RequireEnv + "=1 to fail instead of skipping]")
}

// nodeRequire returns the node binary, once the project's packages are
// installed.
func nodeRequire(t *testing.T, packages ...string) string {
	t.Helper()
	bin, err := exec.LookPath("node")
	if err != nil {
		nodeMissing(t, "node")
	}
	for _, p := range packages {
		if _, err := os.Stat(filepath.Join(nodeDir(), "node_modules", p, "package.json")); err != nil {
			nodeMissing(t, filepath.Join("internal/shippers/testdata/node/node_modules", p))
		}
	}
	return bin
}

// nodeRun runs a script of the Node project with env added and returns
// what it printed (stdout and stderr together). The deadline only stops a
// hung script; the test's verdict is what reached Paymon.
func nodeRun(t *testing.T, bin, script string, env ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, script)
	cmd.Dir = nodeDir()
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("node %s: %v\n%s", script, err, out)
	}
	return string(out)
}

// nodeShip starts a real paymon serve with an ingest key, runs script
// with PAYMON_URL, PAYMON_KEY and a fresh PAYMON_SERVICE, and returns the
// entries stored for that service (newest first) and the script's output.
func nodeShip(t *testing.T, script string, env []string, packages ...string) ([]map[string]any, string) {
	t.Helper()
	bin := nodeRequire(t, packages...)
	p := testenv.StartPaymon(t)
	_, key := p.APIKey(script+" shipper", "ingest")
	service := fmt.Sprintf("node-%s-%d", strings.TrimSuffix(strings.TrimSuffix(script, ".js"), ".mjs"), time.Now().UnixNano())
	out := nodeRun(t, bin, script, append([]string{"PAYMON_URL=" + p.URL, "PAYMON_KEY=" + key, "PAYMON_SERVICE=" + service}, env...)...)
	return p.SearchLogs(p.AdminToken(), "service="+service), out
}

// nodeByMessage indexes entries by message; a message seen twice fails.
func nodeByMessage(t *testing.T, entries []map[string]any) map[string]map[string]any {
	t.Helper()
	m := map[string]map[string]any{}
	for _, e := range entries {
		msg, _ := e["message"].(string)
		if _, dup := m[msg]; dup {
			t.Fatalf("message %q stored twice", msg)
		}
		m[msg] = e
	}
	return m
}
