package check

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"
)

var paymonVar = regexp.MustCompile(`PAYMON_[A-Z0-9_]+`)

// deployFilesWithEnv lists the files whose PAYMON_* variables must all be
// known to the binary.
func deployFilesWithEnv(t *testing.T) []string {
	t.Helper()
	root := repoRoot(t)
	files := []string{
		filepath.Join(root, "Dockerfile"),
		filepath.Join(root, "deploy", "compose.yaml"),
		filepath.Join(root, "deploy", ".env.example"),
	}
	k8s, err := filepath.Glob(filepath.Join(root, "deploy", "k8s", "*"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range k8s {
		if st, err := os.Stat(f); err == nil && !st.IsDir() {
			files = append(files, f)
		}
	}
	return files
}

// serveHelp returns the output of `paymon serve --help`: from the binary
// in $PAYMON_BIN when set, otherwise from `go run ./cmd/paymon` in the
// repository root (with the noui tag, so the web build is not needed).
func serveHelp(t *testing.T) string {
	t.Helper()
	root := repoRoot(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()

	var cmd *exec.Cmd
	if bin := os.Getenv("PAYMON_BIN"); bin != "" {
		cmd = exec.CommandContext(ctx, bin, "serve", "--help")
	} else {
		if st, err := os.Stat(filepath.Join(root, "cmd", "paymon")); err != nil || !st.IsDir() {
			t.Fatalf("cannot run `paymon serve --help`: %s/cmd/paymon does not exist yet. "+
				"Build the binary and set PAYMON_BIN=/path/to/paymon, or add cmd/paymon.", root)
		}
		cmd = exec.CommandContext(ctx, "go", "run", "-tags", "noui", "./cmd/paymon", "serve", "--help")
		cmd.Env = append(cmd.Env, "GOWORK=off")
	}
	cmd.Dir = root
	// The help must not depend on the caller's PAYMON_* settings.
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PAYMON_") && !strings.HasPrefix(kv, "GOWORK=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("`%s` timed out", strings.Join(cmd.Args, " "))
	}
	// Many flag packages exit non-zero after printing help; accept that as
	// long as the output lists variables.
	var exitErr *exec.ExitError
	if err != nil && !errors.As(err, &exitErr) {
		t.Fatalf("cannot run `%s`: %v", strings.Join(cmd.Args, " "), err)
	}
	if len(paymonVar.FindAll(out, -1)) == 0 {
		t.Fatalf("`%s` (in %s) printed no PAYMON_* variable (err: %v); output:\n%s",
			strings.Join(cmd.Args, " "), root, err, out)
	}
	return string(out)
}

func TestEveryPaymonVariableIsDocumented(t *testing.T) {
	// Collect first, so a missing binary still reports what was found.
	used := map[string][]string{} // variable -> files
	for _, f := range deployFilesWithEnv(t) {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Errorf("cannot read %s: %v", rel(t, f), err)
			continue
		}
		for _, m := range paymonVar.FindAll(data, -1) {
			name := string(m)
			files := used[name]
			if len(files) == 0 || files[len(files)-1] != rel(t, f) {
				used[name] = append(files, rel(t, f))
			}
		}
	}
	if len(used) == 0 {
		t.Fatal("no PAYMON_* variable found in the deploy files")
	}
	names := make([]string, 0, len(used))
	for n := range used {
		names = append(names, n)
	}
	sort.Strings(names)
	t.Logf("PAYMON_* variables used by deploy files: %s", strings.Join(names, " "))

	documented := map[string]bool{}
	for _, m := range paymonVar.FindAllString(serveHelp(t), -1) {
		documented[m] = true
	}
	for _, n := range names {
		if !documented[n] {
			t.Errorf("%s is set in %s but `paymon serve --help` does not document it",
				n, strings.Join(used[n], ", "))
		}
	}
}
