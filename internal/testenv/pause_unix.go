//go:build unix

package testenv

import (
	"syscall"
	"testing"
)

// Pause freezes the server with SIGSTOP: its port stays open and its
// connections stay up, but it answers nothing, as a hung server or a
// network partition would look to its clients. Resume undoes it; Stop and
// the test's cleanup still work on a paused server.
func (s *Server) Pause(t testing.TB) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		t.Fatalf("testenv: cannot pause %s on %s: it is stopped", s.name, s.addr)
	}
	signalGroup(s.cmd.Process, syscall.SIGSTOP)
	t.Logf("testenv: paused %s on %s", s.name, s.addr)
}

// Resume continues a paused server (SIGCONT).
func (s *Server) Resume(t testing.TB) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		t.Fatalf("testenv: cannot resume %s on %s: it is stopped", s.name, s.addr)
	}
	signalGroup(s.cmd.Process, syscall.SIGCONT)
	t.Logf("testenv: resumed %s on %s", s.name, s.addr)
}
