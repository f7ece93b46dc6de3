//go:build !unix

package sqlite

// LockFile is the name of the lock file on systems with flock.
const LockFile = "paymon.lock"

// LockDataDir does nothing where flock(2) does not exist: Paymon's images
// and packages target Linux, where the lock is real (lock.go).
func LockDataDir(string) (func() error, error) { return func() error { return nil }, nil }
