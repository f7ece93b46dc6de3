package shippers

import (
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/paymon/paymon/internal/testenv"
)

// syslogFreePort returns a loopback port free on both TCP and UDP, for a
// listener that takes the same port on both (the syslog listener, a
// shipper's own input).
func syslogFreePort(t *testing.T) int {
	t.Helper()
	for range 20 {
		tl, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := tl.Addr().(*net.TCPAddr).Port
		ul, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port})
		tl.Close()
		if err == nil {
			ul.Close()
			return port
		}
	}
	t.Fatal("no port free on both TCP and UDP")
	return 0
}

// syslogPaymon starts a real paymon serve with the syslog listener on a
// free port, and returns it, the listener's port and an admin token.
func syslogPaymon(t *testing.T, env ...string) (*testenv.Paymon, int, string) {
	t.Helper()
	port := syslogFreePort(t)
	p := testenv.StartPaymon(t, append([]string{"PAYMON_SYSLOG_ADDR=127.0.0.1:" + strconv.Itoa(port)}, env...)...)
	return p, port, p.AdminToken()
}

// syslogWaitLogs searches until want entries of service are found (the
// shippers send asynchronously), failing after a minute, and returns them
// by message.
func syslogWaitLogs(t *testing.T, p *testenv.Paymon, token, service string, want int) map[string]map[string]any {
	t.Helper()
	return syslogWaitLogsOr(t, p, token, service, want, nil)
}

// syslogWaitLogsOr is syslogWaitLogs that also shows the shipper's
// output when the entries do not all arrive.
func syslogWaitLogsOr(t *testing.T, p *testenv.Paymon, token, service string, want int, shipper fmt.Stringer) map[string]map[string]any {
	t.Helper()
	q := "service=" + url.QueryEscape(service)
	deadline := time.Now().Add(time.Minute)
	for {
		es := p.SearchLogs(token, q)
		// A shipper that dropped messages will not send them again.
		dropped := shipper != nil && strings.Contains(shipper.String(), "dropped")
		if len(es) >= want || dropped || time.Now().After(deadline) {
			out := make(map[string]map[string]any, len(es))
			for _, e := range es {
				msg, _ := e["message"].(string)
				out[msg] = e
			}
			if len(es) != want {
				t.Fatalf("service %s: %d entries, want %d; paymon output:\n%s\nshipper output:\n%v", service, len(es), want, p.Output(), shipper)
			}
			return out
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// syslogSeverities are the eight syslog severities with the level each
// must be stored at.
var syslogSeverities = []struct{ name, level string }{
	{"emerg", "fatal"}, {"alert", "fatal"}, {"crit", "fatal"}, {"err", "error"},
	{"warning", "warn"}, {"notice", "info"}, {"info", "info"}, {"debug", "debug"},
}

// syslogNeed returns the path of the first of paths that exists, or
// skips the test (fails it when PAYMON_TESTENV_REQUIRE is set, as make
// test does) with the command that installs it.
func syslogNeed(t *testing.T, dep string, paths ...string) string {
	t.Helper()
	for _, p := range paths {
		if found, err := exec.LookPath(p); err == nil {
			return found
		}
	}
	msg := fmt.Sprintf("%s not found; install it with: scripts/deps.sh %s (from the repository root)", paths[0], dep)
	if v := os.Getenv(testenv.RequireEnv); v != "" && v != "0" && !strings.EqualFold(v, "false") {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}
