//go:build linux || darwin

package embedded

import (
	"errors"
	"os"
	"syscall"
)

// errWouldBlock reports that another open file description holds the lock.
var errWouldBlock = errors.New("lock is held")

// tryLock takes a non-blocking flock on f: exclusive for the server, shared
// for a probe that only wants to know whether a server is there. flock rather
// than fcntl locks because flock locks belong to the open file description, so
// two Starts in one process conflict just as two processes do, and the kernel
// drops the lock when the holder dies, leaving no stale lock to clean up.
func tryLock(f *os.File, exclusive bool) error {
	how := syscall.LOCK_SH
	if exclusive {
		how = syscall.LOCK_EX
	}
	for {
		err := syscall.Flock(int(f.Fd()), how|syscall.LOCK_NB)
		switch {
		case err == nil:
			return nil
		case errors.Is(err, syscall.EINTR):
			continue
		case errors.Is(err, syscall.EWOULDBLOCK):
			return errWouldBlock
		default:
			return err
		}
	}
}

// unlock releases a lock taken by tryLock.
func unlock(f *os.File) error {
	return syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
}
