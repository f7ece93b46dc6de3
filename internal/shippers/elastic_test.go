package shippers

import (
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/paymon/paymon/internal/testenv"
)

// esFreePort returns a loopback TCP port nobody listens on right now.
func esFreePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	_, port, _ := net.SplitHostPort(l.Addr().String())
	return port
}

// esBasicAccepted says whether paymon takes an API key as the password
// of Basic credentials, the only credentials omelasticsearch can send.
func esBasicAccepted(t *testing.T, p *testenv.Paymon, key string) bool {
	t.Helper()
	req, _ := http.NewRequest("GET", p.URL+"/_license", nil)
	req.SetBasicAuth("rsyslog", key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// TestRsyslogOmelasticsearch runs rsyslogd with the configuration in
// testdata/rsyslog: syslog lines in over TCP, out through omelasticsearch
// into POST /_bulk. Every line must arrive with its severity mapped.
func TestRsyslogOmelasticsearch(t *testing.T) {
	rsyslogd, err := exec.LookPath("rsyslogd")
	if err != nil {
		t.Fatal("rsyslogd not found; run scripts/deps.sh rsyslog")
	}
	p := testenv.StartPaymon(t)
	_, key := p.APIKey("rsyslog", "ingest")
	// omelasticsearch can only send Basic credentials: the key is the
	// password.
	if !esBasicAccepted(t, p, key) {
		t.Fatal("paymon refuses an API key as a Basic password, which is all omelasticsearch can send")
	}
	u, _ := url.Parse(p.URL)
	_, paymonPort, _ := net.SplitHostPort(u.Host)
	work := t.TempDir()
	tcpPort := esFreePort(t)
	conf, _ := filepath.Abs("testdata/rsyslog/omelasticsearch.conf")
	cmd := exec.Command(rsyslogd, "-n", "-f", conf, "-i", filepath.Join(work, "rsyslogd.pid"))
	cmd.Env = append(os.Environ(), "PAYMON_RSYSLOG_WORKDIR="+work, "PAYMON_RSYSLOG_TCP_PORT="+tcpPort,
		"PAYMON_PORT="+paymonPort, "PAYMON_INGEST_KEY="+key)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("rsyslogd output:\n%s", out.String())
			if b, err := os.ReadFile(filepath.Join(work, "es-errors.json")); err == nil {
				t.Logf("omelasticsearch error file:\n%s", b)
			}
		}
	})

	var conn net.Conn
	for deadline := time.Now().Add(20 * time.Second); ; {
		if conn, err = net.Dial("tcp", "127.0.0.1:"+tcpPort); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("rsyslogd does not listen on %s: %v\n%s", tcpPort, err, out.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	defer conn.Close()
	// Severities 0–7 of facility local0 (16): PRI = 16*8 + severity.
	want := []string{"fatal", "fatal", "fatal", "error", "warn", "info", "info", "debug"}
	const perSeverity = 25
	stamp := time.Now().Format(time.Stamp)
	for i := range perSeverity {
		for sev := range want {
			if _, err := fmt.Fprintf(conn, "<%d>%s web-1 rsyslog-app[42]: line %d of severity %d\n", 16*8+sev, stamp, i, sev); err != nil {
				t.Fatal(err)
			}
		}
	}
	total := perSeverity * len(want)
	var got []map[string]any
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(250 * time.Millisecond) {
		if got = p.SearchLogs(p.AdminToken(), "service=rsyslog-app"); len(got) >= total {
			break
		}
	}
	if len(got) != total {
		t.Fatalf("paymon stored %d of %d lines", len(got), total)
	}
	seen := map[string]bool{}
	for _, e := range got {
		msg, _ := e["message"].(string)
		var i, sev int
		if _, err := fmt.Sscanf(msg, "line %d of severity %d", &i, &sev); err != nil || sev < 0 || sev >= len(want) {
			t.Errorf("unexpected message %q", msg)
			continue
		}
		if seen[msg] {
			t.Errorf("line stored twice: %q", msg)
		}
		seen[msg] = true
		if e["level"] != want[sev] || otelAttr(e, "host.name") != "web-1" {
			t.Errorf("%q: level %v, attributes %v; want level %s", msg, e["level"], e["attributes"], want[sev])
		}
	}
}
