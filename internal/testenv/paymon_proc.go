package testenv

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
)

// PID is the process id of the running `paymon serve`.
func (p *Paymon) PID() int { return p.cmd.Process.Pid }

// Memory reads the process's resident set now (VmRSS) and its high-water
// mark since start (VmHWM) from /proc, in bytes (Linux only).
func (p *Paymon) Memory(t testing.TB) (rss, hwm int64) {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.PID()))
	if err != nil {
		t.Fatalf("cannot read the process status: %v", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		name, val, ok := strings.Cut(line, ":")
		if !ok || (name != "VmRSS" && name != "VmHWM") {
			continue
		}
		f := strings.Fields(val) // "123456 kB"
		if len(f) != 2 || f[1] != "kB" {
			t.Fatalf("unexpected %s line %q", name, line)
		}
		kb, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			t.Fatalf("unexpected %s line %q", name, line)
		}
		if name == "VmRSS" {
			rss = kb << 10
		} else {
			hwm = kb << 10
		}
	}
	return rss, hwm
}
