//go:build unix

package sqlite

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// LockFile is the name of the file in the data dir that one `paymon serve`
// holds an exclusive lock on.
const LockFile = "paymon.lock"

// LockDataDir takes an exclusive lock on dir/paymon.lock and writes this
// process's id into it, so that a second server on the same data dir
// refuses to start instead of running beside the first with its own cache,
// rate limits and live feeds. The kernel drops the lock when the process
// ends, even on kill -9: a stale file never blocks a restart. release
// unlocks; the file stays (removing it would let a third process lock a
// new file while a second still holds the old one).
func LockDataDir(dir string) (release func() error, err error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("cannot create data dir: %w", err)
	}
	path := filepath.Join(dir, LockFile)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("cannot open the lock file %s: %w", path, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		defer f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			b := make([]byte, 32)
			n, _ := f.ReadAt(b, 0)
			pid := strings.TrimSpace(string(b[:n]))
			if pid == "" {
				pid = "unknown"
			}
			return nil, fmt.Errorf("data dir %s is in use by another paymon serve (pid %s, lock %s): stop it, or set PAYMON_DATA_DIR to another directory", dir, pid, path)
		}
		return nil, fmt.Errorf("cannot lock %s: %w", path, err)
	}
	err = f.Truncate(0)
	if err == nil {
		_, err = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("cannot write the pid into %s: %w", path, err)
	}
	return f.Close, nil
}
