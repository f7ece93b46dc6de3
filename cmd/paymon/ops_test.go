package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/paymon/paymon/internal/testenv"
)

// serveOnce runs `paymon serve` expecting it to stop by itself and returns
// what it printed and its exit error.
func serveOnce(t *testing.T, env ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binPath, "serve")
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}, env...)
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("paymon serve did not stop by itself; output:\n%s", out)
	}
	return string(out), err
}

// TestSecondServeOnOneDataDirRefusesToStart: two servers on one SQLite
// data dir would each keep their own cache, rate limits and live feeds;
// the second must exit, naming the data dir and the first one's pid. After
// a kill -9 of the first, the kernel has dropped its lock: a restart works.
func TestSecondServeOnOneDataDirRefusesToStart(t *testing.T) {
	data := t.TempDir()
	first := start(t, data, "PAYMON_ADMIN_PASSWORD=lock-test-password")

	out, err := serveOnce(t, "PAYMON_ADDR=127.0.0.1:0", "PAYMON_DATA_DIR="+data, "PAYMON_ADMIN_PASSWORD=lock-test-password")
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() == 0 {
		t.Fatalf("second serve on the same data dir: err=%v, output:\n%s", err, out)
	}
	pid := fmt.Sprintf("pid %d", first.cmd.Process.Pid)
	if !strings.Contains(out, data) || !strings.Contains(out, pid) {
		t.Fatalf("the refusal must name the data dir %s and the other process (%s); output:\n%s", data, pid, out)
	}
	if strings.Contains(out, "listening on") {
		t.Fatalf("the second serve listened; output:\n%s", out)
	}
	// The first is still the one serving.
	token(t, first.url, "admin@paymon.local", "lock-test-password")

	if err := first.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = first.cmd.Wait()
	again := start(t, data, "PAYMON_ADMIN_PASSWORD=lock-test-password")
	token(t, again.url, "admin@paymon.local", "lock-test-password")
	again.stop(t)
}

// TestTakenPortFailsBeforeAnythingIsCreated: the listen address is checked
// first, so a taken port neither creates the store nor prints a first
// admin's password, and the message says which setting to change.
func TestTakenPortFailsBeforeAnythingIsCreated(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	data := filepath.Join(t.TempDir(), "data")
	out, err := serveOnce(t, "PAYMON_ADDR="+ln.Addr().String(), "PAYMON_DATA_DIR="+data)
	if err == nil {
		t.Fatalf("serve on a taken port succeeded; output:\n%s", out)
	}
	if !strings.Contains(out, "PAYMON_ADDR") || !strings.Contains(out, ln.Addr().String()) {
		t.Fatalf("the error must name PAYMON_ADDR and the address; output:\n%s", out)
	}
	if strings.Contains(out, "First admin") || strings.Contains(out, "Log in as") {
		t.Fatalf("a first admin was set up before the port was checked; output:\n%s", out)
	}
	if entries, err := os.ReadDir(data); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the data dir was created (%v, %d entries) before the port was checked", err, len(entries))
	}
}

// TestSimulateFindsThePasswordInTheDataDir: without -password, simulate
// logs in with the initial password that serve wrote into its data dir,
// PAYMON_DATA_DIR or -data-dir, the same place serve uses.
func TestSimulateFindsThePasswordInTheDataDir(t *testing.T) {
	data := t.TempDir()
	p := start(t, data)
	if _, err := os.Stat(filepath.Join(data, "initial-admin-password")); err != nil {
		t.Fatalf("serve wrote no initial password: %v\n%s", err, p.output())
	}
	for _, tc := range []struct {
		name string
		args []string
		env  []string
	}{
		{"PAYMON_DATA_DIR", nil, []string{"PAYMON_DATA_DIR=" + data}},
		{"-data-dir", []string{"-data-dir", data}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"simulate", "-url", p.url, "-rate", "5", "-duration", "500ms"}, tc.args...)
			cmd := exec.Command(binPath, args...)
			cmd.Dir = t.TempDir() // no ./data to fall back on
			cmd.Env = tc.env
			out, err := cmd.CombinedOutput()
			if err != nil || !strings.Contains(string(out), "sent ") {
				t.Fatalf("simulate: %v\n%s", err, out)
			}
		})
	}
	// Without any, the error says where it looked.
	var stdout, stderr bytes.Buffer
	missing := filepath.Join(t.TempDir(), "nowhere")
	err := simulate(context.Background(), []string{"-url", p.url}, []string{"PAYMON_DATA_DIR=" + missing}, &stdout, &stderr)
	if err == nil || !strings.Contains(err.Error(), filepath.Join(missing, "initial-admin-password")) {
		t.Fatalf("simulate without a password: %v", err)
	}
	p.stop(t)
}

func call(t *testing.T, method, url, tok, body string) (*http.Response, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Content-Type", "application/json")
	if method == "POST" {
		req.Header.Set("Idempotency-Key", fmt.Sprintf("k-%d", time.Now().UnixNano()))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp, out
}

func errorCode(body map[string]any) string {
	e, _ := body["error"].(map[string]any)
	c, _ := e["code"].(string)
	return c
}

// TestDamagedDatabaseIsNeverReportedHealthy damages the pages of the log
// table of a real server's database file. While it runs, the query that
// meets the damage answers store_corrupt without Retry-After, /readyz
// turns 503 "corrupt", writes are refused and a FATAL line is logged.
// Restarted on the damaged file, serve refuses to start.
func TestDamagedDatabaseIsNeverReportedHealthy(t *testing.T) {
	const pw = "corrupt-test-password"
	data := t.TempDir()
	p := start(t, data, "PAYMON_ADMIN_PASSWORD="+pw)
	tok := token(t, p.url, "admin@paymon.local", pw)
	for b := 0; b < 4; b++ {
		var sb strings.Builder
		sb.WriteString("[")
		for i := 0; i < 500; i++ {
			if i > 0 {
				sb.WriteString(",")
			}
			fmt.Fprintf(&sb, `{"level":"info","service":"checkout","message":"order %d placed with a message long enough to fill pages"}`, b*500+i)
		}
		sb.WriteString("]")
		if resp, body := call(t, "POST", p.url+"/api/v1/logs", tok, sb.String()); resp.StatusCode != http.StatusOK {
			t.Fatalf("ingest: %s %v", resp.Status, body)
		}
	}
	if st, _, err := create(p.url, tok, "before-damage"); err != nil || st != http.StatusCreated {
		t.Fatalf("create: %d %v", st, err)
	}
	p.stop(t) // checkpoints everything into paymon.db

	p = start(t, data, "PAYMON_ADMIN_PASSWORD="+pw)
	tok = token(t, p.url, "admin@paymon.local", pw)
	dbPath := filepath.Join(data, "paymon.db")
	testenv.DamageSQLiteTable(t, dbPath, "log_entries")

	// A text search reads every page of the table.
	resp, body := call(t, "GET", p.url+"/api/v1/logs?q=no-such-message&limit=10", tok, "")
	if resp.StatusCode != http.StatusInternalServerError || errorCode(body) != "store_corrupt" || resp.Header.Get("Retry-After") != "" {
		t.Fatalf("search over damaged pages: %s Retry-After=%q %v", resp.Status, resp.Header.Get("Retry-After"), body)
	}
	resp, body = call(t, "GET", p.url+"/readyz", "", "")
	checks, _ := body["checks"].(map[string]any)
	if resp.StatusCode != http.StatusServiceUnavailable || checks["store"] != "corrupt" || resp.Header.Get("Retry-After") != "" {
		t.Fatalf("/readyz after corruption: %s Retry-After=%q %v", resp.Status, resp.Header.Get("Retry-After"), body)
	}
	resp, body = call(t, "POST", p.url+"/api/v1/payments", tok, `{"amount":1234,"currency":"EUR"}`)
	if resp.StatusCode != http.StatusInternalServerError || errorCode(body) != "store_corrupt" || resp.Header.Get("Retry-After") != "" {
		t.Fatalf("create on a damaged store: %s %v", resp.Status, body)
	}
	if out := p.output(); !strings.Contains(out, `"level":"FATAL"`) || !strings.Contains(out, "damaged") {
		t.Fatalf("no FATAL log line about the damage; output:\n%s", out)
	}
	p.stop(t)

	out, err := serveOnce(t, "PAYMON_ADDR=127.0.0.1:0", "PAYMON_DATA_DIR="+data, "PAYMON_ADMIN_PASSWORD="+pw)
	if err == nil || !strings.Contains(out, "damaged") || !strings.Contains(out, dbPath) || !strings.Contains(out, `"level":"FATAL"`) {
		t.Fatalf("serve on a damaged file: err=%v, output:\n%s", err, out)
	}
	if strings.Contains(out, "listening on") {
		t.Fatalf("serve listened on a damaged file; output:\n%s", out)
	}
}
