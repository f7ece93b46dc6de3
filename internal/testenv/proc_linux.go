//go:build linux

package testenv

import "syscall"

// sysProcAttr puts the server in its own process group (so that it and its
// children can be killed together) and asks the kernel to kill it when the
// test binary dies.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
