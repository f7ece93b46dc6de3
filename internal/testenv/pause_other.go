//go:build !unix

package testenv

import "testing"

// Pause needs SIGSTOP, which this platform lacks: the test is skipped.
func (s *Server) Pause(t testing.TB) {
	t.Helper()
	t.Skip("testenv: Pause needs Unix signals")
}

// Resume needs SIGCONT, which this platform lacks: the test is skipped.
func (s *Server) Resume(t testing.TB) {
	t.Helper()
	t.Skip("testenv: Resume needs Unix signals")
}
