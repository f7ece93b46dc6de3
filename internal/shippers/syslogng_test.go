package shippers

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/paymon/paymon/internal/testenv"
)

// syslogNG starts syslog-ng 3.38, unpacked by scripts/deps.sh into
// bin/syslog-ng-root (not installed: it would conflict with rsyslog), in
// the foreground with conf (a testdata file filled with vals), its
// internal messages on stderr.
func syslogNG(t *testing.T, conf string, vals any) *syslogOutput {
	t.Helper()
	root := filepath.Join(testenv.Root(), "bin", "syslog-ng-root")
	bin := syslogNeed(t, "syslog-ng", filepath.Join(root, "usr", "sbin", "syslog-ng"))
	dir := t.TempDir()
	path := syslogConfig(t, conf, dir, vals)
	args := []string{"-F", "-e", "--no-caps", "-f", path, "--module-path=" + filepath.Join(root, "usr", "lib", "syslog-ng", "3.38"),
		"--persist-file=" + filepath.Join(dir, "syslog-ng.persist"), "--pidfile=" + filepath.Join(dir, "syslog-ng.pid"),
		"--control=" + filepath.Join(dir, "syslog-ng.ctl")}
	env := append(os.Environ(), "LD_LIBRARY_PATH="+filepath.Join(root, "usr", "lib", "syslog-ng"))
	check := exec.Command(bin, append([]string{"--syntax-only"}, args...)...)
	check.Env = env
	if out, err := check.CombinedOutput(); err != nil {
		t.Fatalf("syslog-ng refuses %s: %v\n%s", path, err, out)
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	return syslogStart(t, cmd)
}

// syslogNGClean fails the test if syslog-ng reported lost messages or an
// error on its stderr.
func syslogNGClean(t *testing.T, out *syslogOutput) {
	t.Helper()
	for _, line := range strings.Split(out.String(), "\n") {
		l := strings.ToLower(line)
		if strings.Contains(l, "dropped") || strings.Contains(l, "error") {
			t.Errorf("syslog-ng: %s", line)
		}
	}
}

// syslog-ng's syslog() (RFC 5424, TCP, octet counting) and network()
// (RFC 3164 over TCP and UDP) destinations into the syslog listener of a
// real paymon: every line of every severity arrives with its level, none
// is dropped.
func TestSyslogNGIntoSyslogListener(t *testing.T) {
	p, port, token := syslogPaymon(t)
	vals := struct{ RFC5424Port, BSDTCPPort, BSDUDPPort, PaymonPort int }{syslogFreePort(t), syslogFreePort(t), syslogFreePort(t), port}
	out := syslogNG(t, "testdata/syslog-ng/syslog.conf", vals)
	const rounds = 5
	inputs := []struct {
		name string
		port int
	}{{"sng-rfc5424", vals.RFC5424Port}, {"sng-bsd-tcp", vals.BSDTCPPort}, {"sng-bsd-udp", vals.BSDUDPPort}}
	for _, in := range inputs {
		c := syslogDial(t, in.port, out)
		var b bytes.Buffer
		for r := range rounds {
			for sev, s := range syslogSeverities {
				fmt.Fprintf(&b, "<%d>%s app-host %s[%d]: %s round %d via syslog-ng\n", 8+sev, time.Now().Format(time.Stamp), in.name, 200+r, s.name, r)
			}
		}
		if _, err := c.Write(b.Bytes()); err != nil {
			t.Fatal(err)
		}
	}
	for _, in := range inputs {
		got := syslogWaitLogsOr(t, p, token, in.name, rounds*len(syslogSeverities), out)
		for r := range rounds {
			for _, s := range syslogSeverities {
				msg := fmt.Sprintf("%s round %d via syslog-ng", s.name, r)
				e, ok := got[msg]
				if !ok {
					t.Fatalf("%s: %q missing; got %v", in.name, msg, got)
				}
				attrs, _ := e["attributes"].(map[string]any)
				if e["level"] != s.level || attrs["severity"] != s.name || attrs["procid"] != strconv.Itoa(200+r) || attrs["hostname"] != "app-host" {
					t.Errorf("%s %q: level %v attributes %v, want level %s", in.name, msg, e["level"], attrs, s.level)
				}
			}
		}
	}
	syslogNGClean(t, out)
}

// syslog-ng's http() destination with the stock JSON template (syslog
// level words, program, host) into POST /api/v1/logs with an ingest key:
// every line arrives with its level mapped, none dropped. It needs the
// lenient native decoder (levels like "notice", unknown fields kept).
func TestSyslogNGHTTPIntoLogsAPI(t *testing.T) {
	p := testenv.StartPaymon(t)
	_, key := p.APIKey("syslog-ng", "ingest")
	vals := struct {
		InputPort         int
		PaymonURL, APIKey string
	}{syslogFreePort(t), p.URL, key}
	out := syslogNG(t, "testdata/syslog-ng/http.conf", vals)
	c := syslogDial(t, vals.InputPort, out)
	const rounds = 25
	var b bytes.Buffer
	for r := range rounds {
		for sev, s := range syslogSeverities {
			fmt.Fprintf(&b, "<%d>%s app-host sng-http[%d]: %s round %d via syslog-ng http\n", 8+sev, time.Now().Format(time.Stamp), 300+r, s.name, r)
		}
	}
	if _, err := c.Write(b.Bytes()); err != nil {
		t.Fatal(err)
	}
	got := syslogWaitLogsOr(t, p, p.AdminToken(), "sng-http", rounds*len(syslogSeverities), out)
	for r := range rounds {
		for _, s := range syslogSeverities {
			msg := fmt.Sprintf("%s round %d via syslog-ng http", s.name, r)
			e, ok := got[msg]
			if !ok {
				t.Fatalf("%q missing", msg)
			}
			if attrs, _ := e["attributes"].(map[string]any); e["level"] != s.level || attrs["host"] != "app-host" {
				t.Errorf("%q: level %v attributes %v, want level %s", msg, e["level"], attrs, s.level)
			}
		}
	}
	syslogNGClean(t, out)
}
