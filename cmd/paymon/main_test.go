package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// These tests build the real binary and run it as a user would.

var binPath string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "paymon-bin")
	if err != nil {
		panic(err)
	}
	binPath = filepath.Join(dir, "paymon")
	out, err := exec.Command("go", "build", "-tags", "noui", "-o", binPath, ".").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "build: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

type proc struct {
	cmd    *exec.Cmd
	url    string
	stdout *bytes.Buffer
	mu     *sync.Mutex
}

var listenRE = regexp.MustCompile(`listening on (http://\S+)`)

// start runs `paymon serve` on a free port with dataDir and waits for its
// listening line.
func start(t *testing.T, dataDir string, env ...string) *proc {
	t.Helper()
	cmd := exec.Command(binPath, "serve")
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"), "PAYMON_ADDR=127.0.0.1:0", "PAYMON_DATA_DIR=" + dataDir}, env...)
	pr, pw := io.Pipe()
	cmd.Stdout = pw
	var stderr bytes.Buffer
	// Paymon's own (JSON) log lines go to output() too, for the tests that
	// check what it logged.
	cmd.Stderr = io.MultiWriter(&stderr, pw)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &proc{cmd: cmd, stdout: &bytes.Buffer{}, mu: &sync.Mutex{}}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			p.mu.Lock()
			p.stdout.WriteString(sc.Text() + "\n")
			p.mu.Unlock()
			if m := listenRE.FindStringSubmatch(sc.Text()); m != nil {
				found <- m[1]
			}
		}
	}()
	select {
	case p.url = <-found:
	case <-time.After(30 * time.Second):
		t.Fatalf("paymon did not start; stderr:\n%s", stderr.String())
	}
	return p
}

func (p *proc) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stdout.String()
}

func (p *proc) stop(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- p.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("paymon exited with %v", err)
		}
	case <-time.After(40 * time.Second):
		t.Fatal("paymon did not stop on SIGTERM")
	}
}

func token(t *testing.T, base, email, password string) string {
	t.Helper()
	resp, err := http.PostForm(base+"/api/v1/auth/token", url.Values{"grant_type": {"password"}, "username": {email}, "password": {password}})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		AccessToken string `json:"access_token"`
	}
	if resp.StatusCode != 200 || json.NewDecoder(resp.Body).Decode(&out) != nil {
		t.Fatalf("login: %s", resp.Status)
	}
	return out.AccessToken
}

func create(base, tok, key string) (int, string, error) {
	req, _ := http.NewRequest("POST", base+"/api/v1/payments", strings.NewReader(`{"amount":1234,"currency":"EUR","metadata":{"simulate":"succeed"}}`))
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Idempotency-Key", key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	var p struct {
		ID string `json:"id"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&p)
	return resp.StatusCode, p.ID, nil
}

var pwRE = regexp.MustCompile(`First admin created: (\S+) / (\S+)`)

func TestFirstStartPrintsLoginAndRestartKeepsPayments(t *testing.T) {
	data := t.TempDir()
	p := start(t, data)
	m := pwRE.FindStringSubmatch(p.output())
	if m == nil {
		t.Fatalf("no first login printed:\n%s", p.output())
	}
	email, pw := m[1], m[2]
	tok := token(t, p.url, email, pw)
	var ids []string
	for i := 0; i < 5; i++ {
		st, id, err := create(p.url, tok, fmt.Sprintf("k%d", i))
		if err != nil || st != 201 {
			t.Fatalf("create: %d %v", st, err)
		}
		ids = append(ids, id)
	}
	p.stop(t)

	p = start(t, data)
	if !strings.Contains(p.output(), "Log in as "+email) {
		t.Fatalf("restart does not say how to log in:\n%s", p.output())
	}
	tok = token(t, p.url, email, pw)
	for _, id := range ids {
		req, _ := http.NewRequest("GET", p.url+"/api/v1/payments/"+id, nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("payment %s after restart: %v %v", id, err, resp.Status)
		}
		resp.Body.Close()
	}
	p.stop(t)
}

// Every create that was answered 201 before or during a SIGTERM must be in
// the store after restart: nothing acknowledged is lost.
func TestShutdownLosesNoAcknowledgedPayment(t *testing.T) {
	data := t.TempDir()
	p := start(t, data, "PAYMON_ADMIN_PASSWORD=shutdown-test-pw")
	tok := token(t, p.url, "admin@paymon.local", "shutdown-test-pw")
	var mu sync.Mutex
	var acked []string
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for c := 0; c < 8; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ctx.Err() == nil; i++ {
				st, id, err := create(p.url, tok, fmt.Sprintf("c%d-%d", c, i))
				if err != nil {
					return // the server is gone
				}
				if st == 201 {
					mu.Lock()
					acked = append(acked, id)
					mu.Unlock()
				} else if st >= 500 {
					t.Errorf("create answered %d during shutdown", st)
					return
				}
			}
		}()
	}
	time.Sleep(500 * time.Millisecond)
	p.stop(t)
	cancel()
	wg.Wait()
	if len(acked) == 0 {
		t.Fatal("no create was acknowledged before shutdown")
	}
	p = start(t, data, "PAYMON_ADMIN_PASSWORD=shutdown-test-pw")
	tok = token(t, p.url, "admin@paymon.local", "shutdown-test-pw")
	for _, id := range acked {
		req, _ := http.NewRequest("GET", p.url+"/api/v1/payments/"+id, nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("acknowledged payment %s lost (%d of %d)", id, resp.StatusCode, len(acked))
		}
	}
	p.stop(t)
}

func TestHealthcheck(t *testing.T) {
	p := start(t, t.TempDir())
	u, _ := url.Parse(p.url)
	ok := exec.Command(binPath, "healthcheck")
	ok.Env = []string{"PAYMON_ADDR=" + u.Host}
	if out, err := ok.CombinedOutput(); err != nil {
		t.Fatalf("healthcheck against a running instance: %v %s", err, out)
	}
	p.stop(t)
	down := exec.Command(binPath, "healthcheck", "-url", p.url+"/healthz", "-timeout", "2s")
	if err := down.Run(); err == nil {
		t.Fatal("healthcheck passed against a stopped instance")
	}
}

func TestBadConfigStopsStartup(t *testing.T) {
	cmd := exec.Command(binPath, "serve")
	cmd.Env = []string{"PAYMON_PROVIDER=bitcoin", "PAYMON_DATA_DIR=" + t.TempDir()}
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "PAYMON_PROVIDER") {
		t.Fatalf("bad config: err=%v out=%s", err, out)
	}
}

func TestServeHelpListsSettings(t *testing.T) {
	out, err := exec.Command(binPath, "serve", "--help").CombinedOutput()
	if err != nil {
		t.Fatalf("--help: %v", err)
	}
	for _, name := range []string{"PAYMON_ADDR", "PAYMON_DATA_DIR", "PAYMON_MONGODB_URI", "PAYMON_REDIS_URL", "PAYMON_JWT_SECRET"} {
		if !strings.Contains(string(out), name) {
			t.Errorf("--help lacks %s", name)
		}
	}
}

func TestSimulateFeedsARunningInstance(t *testing.T) {
	p := start(t, t.TempDir(), "PAYMON_ADMIN_PASSWORD=simulate-test-pw")
	cmd := exec.Command(binPath, "simulate", "-url", p.url, "-rate", "20", "-fail", "0.5", "-duration", "2s")
	cmd.Env = []string{"PAYMON_ADMIN_PASSWORD=simulate-test-pw"}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("simulate: %v\n%s", err, out)
	}
	m := regexp.MustCompile(`sent (\d+) payments \((\d+) forced to fail\)`).FindStringSubmatch(string(out))
	if m == nil || m[1] == "0" {
		t.Fatalf("simulate output: %s", out)
	}
	tok := token(t, p.url, "admin@paymon.local", "simulate-test-pw")
	req, _ := http.NewRequest("GET", p.url+"/api/v1/logs?q=order&limit=5", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var logs struct {
		Data []json.RawMessage `json:"data"`
	}
	json.NewDecoder(resp.Body).Decode(&logs)
	resp.Body.Close()
	if len(logs.Data) == 0 {
		t.Fatal("simulate sent no logs")
	}
	req, _ = http.NewRequest("GET", p.url+"/api/v1/payments?limit=100", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var l struct {
		Data []struct {
			Status string `json:"status"`
		} `json:"data"`
	}
	json.NewDecoder(resp.Body).Decode(&l)
	resp.Body.Close()
	if fmt.Sprint(len(l.Data)) != m[1] {
		t.Fatalf("simulate said %s payments, the API lists %d", m[1], len(l.Data))
	}
	p.stop(t)
}
