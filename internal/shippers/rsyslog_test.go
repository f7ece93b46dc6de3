package shippers

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"text/template"
	"time"
)

// syslogConfig fills the {{.Name}} placeholders of a configuration file
// under testdata and writes the result into dir.
func syslogConfig(t *testing.T, src, dir string, vals any) string {
	t.Helper()
	tpl, err := template.ParseFiles(src)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := tpl.Execute(&b, vals); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, filepath.Base(src))
	if err := os.WriteFile(out, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return out
}

// syslogOutput collects a child process's output for failure messages.
type syslogOutput struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (o *syslogOutput) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.b.Write(p)
}

func (o *syslogOutput) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.b.String()
}

// syslogStart runs cmd until the test ends (SIGTERM, then SIGKILL) and
// returns its output so far at any time.
func syslogStart(t *testing.T, cmd *exec.Cmd) *syslogOutput {
	t.Helper()
	out := &syslogOutput{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatalf("cannot start %s: %v", cmd.Path, err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	})
	return out
}

// syslogDial connects to a shipper's TCP input once it listens.
func syslogDial(t *testing.T, port int, out *syslogOutput) net.Conn {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(port))
		if err == nil {
			t.Cleanup(func() { c.Close() })
			return c
		}
		if time.Now().After(deadline) {
			t.Fatalf("the shipper does not listen on %d: %v\n%s", port, err, out)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// rsyslogd forwards with omfwd (testdata/rsyslog/omfwd.conf) into the
// syslog listener of a real paymon, over TCP octet-counted, TCP
// newline-framed and UDP: every line of every severity arrives with its
// level.
func TestRsyslogOmfwdIntoSyslogListener(t *testing.T) {
	rsyslogd := syslogNeed(t, "rsyslog", "rsyslogd", "/usr/sbin/rsyslogd")
	p, port, token := syslogPaymon(t)
	dir := t.TempDir()
	vals := struct {
		WorkDir                                     string
		OctetPort, NewlinePort, UDPPort, PaymonPort int
	}{dir, syslogFreePort(t), syslogFreePort(t), syslogFreePort(t), port}
	conf := syslogConfig(t, "testdata/rsyslog/omfwd.conf", dir, vals)
	check := exec.Command(rsyslogd, "-N1", "-f", conf)
	if out, err := check.CombinedOutput(); err != nil {
		t.Fatalf("rsyslogd -N1 refuses %s: %v\n%s", conf, err, out)
	}
	out := syslogStart(t, exec.Command(rsyslogd, "-n", "-f", conf, "-i", filepath.Join(dir, "rsyslogd.pid")))
	const rounds = 5 // lines per severity and transport
	for _, in := range []struct {
		name string
		port int
	}{{"rsyslog-octet", vals.OctetPort}, {"rsyslog-newline", vals.NewlinePort}, {"rsyslog-udp", vals.UDPPort}} {
		c := syslogDial(t, in.port, out)
		var b bytes.Buffer
		for r := range rounds {
			for sev, s := range syslogSeverities {
				// What an application's syslog(3) would hand rsyslog.
				fmt.Fprintf(&b, "<%d>%s app-host %s[%d]: %s round %d via rsyslog\n", 8+sev, time.Now().Format(time.Stamp), in.name, 100+r, s.name, r)
			}
		}
		if _, err := c.Write(b.Bytes()); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range []string{"rsyslog-octet", "rsyslog-newline", "rsyslog-udp"} {
		got := syslogWaitLogsOr(t, p, token, name, rounds*len(syslogSeverities), out)
		for r := range rounds {
			for _, s := range syslogSeverities {
				msg := fmt.Sprintf("%s round %d via rsyslog", s.name, r)
				e, ok := got[msg]
				if !ok {
					t.Fatalf("%s: %q missing", name, msg)
				}
				attrs, _ := e["attributes"].(map[string]any)
				if e["level"] != s.level || attrs["severity"] != s.name || attrs["procid"] != strconv.Itoa(100+r) || attrs["hostname"] != "app-host" {
					t.Errorf("%s %q: level %v attributes %v, want level %s", name, msg, e["level"], attrs, s.level)
				}
			}
		}
	}
}
