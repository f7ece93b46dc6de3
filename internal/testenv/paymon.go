package testenv

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

// PaymonAdminEmail and PaymonAdminPassword are the first admin of every
// Paymon started by StartPaymon (a test-only password, set at run time).
const (
	PaymonAdminEmail    = "admin@paymon.test"
	PaymonAdminPassword = "test-admin-password-0123456789"
)

var (
	buildOnce sync.Once
	buildPath string
	buildErr  error
)

// PaymonBinary builds ./cmd/paymon once per test process (without the
// dashboard, which the Go tests do not need) and returns its path.
func PaymonBinary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "paymon-testbin")
		if err != nil {
			buildErr = err
			return
		}
		buildPath = filepath.Join(dir, "paymon")
		cmd := exec.Command("go", "build", "-tags", "noui", "-o", buildPath, "./cmd/paymon")
		cmd.Dir = Root()
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("cannot build paymon: %w\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return buildPath
}

// Paymon is a real `paymon serve` process started by a test.
type Paymon struct {
	URL     string
	DataDir string
	Env     []string

	t      testing.TB
	cmd    *exec.Cmd
	mu     sync.Mutex
	output bytes.Buffer
	exited chan struct{}
}

var listenLine = regexp.MustCompile(`listening on (http://\S+)`)

// StartPaymon runs `paymon serve` on a free loopback port with a fresh
// data dir (unless env sets PAYMON_DATA_DIR) and the test admin, and
// waits until it listens. env adds or overrides PAYMON_* settings. The
// process is killed when the test ends.
func StartPaymon(t testing.TB, env ...string) *Paymon {
	t.Helper()
	base := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"), "PAYMON_ADDR=127.0.0.1:0",
		"PAYMON_DATA_DIR=" + t.TempDir(), "PAYMON_ADMIN_EMAIL=" + PaymonAdminEmail, "PAYMON_ADMIN_PASSWORD=" + PaymonAdminPassword,
		"PAYMON_ACCESS_LOG=false"}
	p := &Paymon{t: t, Env: mergeEnv(base, env)}
	for _, kv := range p.Env {
		if v, ok := strings.CutPrefix(kv, "PAYMON_DATA_DIR="); ok {
			p.DataDir = v
		}
	}
	p.start()
	t.Cleanup(p.Kill)
	return p
}

// mergeEnv returns base with the variables of over replacing or added.
func mergeEnv(base, over []string) []string {
	out := append([]string(nil), base...)
	for _, kv := range over {
		name, _, _ := strings.Cut(kv, "=")
		replaced := false
		for i, b := range out {
			if strings.HasPrefix(b, name+"=") {
				out[i], replaced = kv, true
			}
		}
		if !replaced {
			out = append(out, kv)
		}
	}
	return out
}

func (p *Paymon) start() {
	t := p.t
	t.Helper()
	p.cmd = exec.Command(PaymonBinary(t), "serve")
	p.cmd.Env = p.Env
	pr, pw := io.Pipe()
	p.cmd.Stdout, p.cmd.Stderr = pw, pw
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("cannot start paymon: %v", err)
	}
	p.exited = make(chan struct{})
	go func() {
		_ = p.cmd.Wait()
		pw.Close()
		close(p.exited)
	}()
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			p.mu.Lock()
			p.output.WriteString(sc.Text() + "\n")
			p.mu.Unlock()
			if m := listenLine.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case found <- m[1]:
				default:
				}
			}
		}
		_, _ = io.Copy(io.Discard, pr)
	}()
	select {
	case p.URL = <-found:
	case <-p.exited:
		t.Fatalf("paymon exited before listening; output:\n%s", p.Output())
	case <-time.After(60 * time.Second):
		t.Fatalf("paymon did not start within 60s; output:\n%s", p.Output())
	}
}

// Output is everything the process printed so far.
func (p *Paymon) Output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.output.String()
}

// Kill sends SIGKILL (as a crash would) and waits for the exit.
func (p *Paymon) Kill() {
	if p.cmd == nil || p.cmd.Process == nil {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.exited
}

// Stop sends SIGTERM and waits up to 30 s for a clean exit.
func (p *Paymon) Stop() {
	p.t.Helper()
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(30 * time.Second):
		p.t.Errorf("paymon did not stop on SIGTERM within 30s")
		p.Kill()
	}
}

// Restart starts the process again with the same settings and data dir;
// the URL may change (the port is chosen anew).
func (p *Paymon) Restart() {
	p.t.Helper()
	select {
	case <-p.exited:
	default:
		p.t.Fatal("Restart: paymon is still running; Kill or Stop it first")
	}
	p.mu.Lock()
	p.output.Reset()
	p.mu.Unlock()
	p.start()
}

// Token logs in with the password grant and returns an access token.
func (p *Paymon) Token(email, password string) string {
	p.t.Helper()
	resp, err := http.PostForm(p.URL+"/api/v1/auth/token", url.Values{"grant_type": {"password"}, "username": {email}, "password": {password}})
	if err != nil {
		p.t.Fatalf("cannot log in: %v", err)
	}
	defer resp.Body.Close()
	var out struct {
		AccessToken string `json:"access_token"`
	}
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || json.Unmarshal(body, &out) != nil || out.AccessToken == "" {
		p.t.Fatalf("login as %s: %s %s", email, resp.Status, body)
	}
	return out.AccessToken
}

// AdminToken is an access token of the test admin.
func (p *Paymon) AdminToken() string { return p.Token(PaymonAdminEmail, PaymonAdminPassword) }

// APIKey creates an API key with role (ingest when empty) and returns its
// id and secret.
func (p *Paymon) APIKey(name, role string) (id, secret string) {
	p.t.Helper()
	if role == "" {
		role = "ingest"
	}
	status, body := p.Do("POST", "/api/v1/api-keys", p.AdminToken(), fmt.Sprintf(`{"name":%q,"role":%q}`, name, role))
	var out struct {
		ID  string `json:"id"`
		Key string `json:"key"`
	}
	if status != http.StatusCreated || json.Unmarshal(body, &out) != nil || out.Key == "" {
		p.t.Fatalf("create API key: %d %s", status, body)
	}
	return out.ID, out.Key
}

// Do sends one request with a bearer token ("" for none) and a JSON body
// ("" for none), and returns the status and body.
func (p *Paymon) Do(method, path, token, body string) (int, []byte) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, p.URL+path, rd)
	if err != nil {
		p.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		p.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// SearchLogs returns the messages of the entries GET /api/v1/logs finds
// for query (already URL-encoded, without the leading '?'), following
// the cursor over every page.
func (p *Paymon) SearchLogs(token, query string) []map[string]any {
	p.t.Helper()
	var all []map[string]any
	after := ""
	for range 10_000 {
		q := query + "&limit=1000"
		if after != "" {
			q += "&starting_after=" + after
		}
		status, body := p.Do("GET", "/api/v1/logs?"+q, token, "")
		if status != http.StatusOK {
			p.t.Fatalf("search logs ?%s: %d %s", q, status, body)
		}
		var page struct {
			Data    []map[string]any `json:"data"`
			HasMore bool             `json:"has_more"`
		}
		if err := json.Unmarshal(body, &page); err != nil {
			p.t.Fatalf("search logs: %v", err)
		}
		all = append(all, page.Data...)
		if !page.HasMore || len(page.Data) == 0 {
			return all
		}
		after, _ = page.Data[len(page.Data)-1]["id"].(string)
	}
	return all
}
