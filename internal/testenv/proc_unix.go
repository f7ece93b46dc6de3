//go:build unix

package testenv

import (
	"os"
	"syscall"
)

// signalGroup sends sig to the process group led by p.
func signalGroup(p *os.Process, sig syscall.Signal) {
	if err := syscall.Kill(-p.Pid, sig); err != nil {
		_ = p.Signal(sig)
	}
}

func terminate(p *os.Process) { signalGroup(p, syscall.SIGTERM) }

func kill(p *os.Process) { signalGroup(p, syscall.SIGKILL) }
