//go:build linux || darwin

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

// LockForServe takes the serve lock, an exclusive flock on
// <dir>/serve.lock held until Close, and writes this process's pid into
// it. A second `handoff serve` on the same file, in this process or
// another, is refused with an error wrapping ErrServeLocked that names the
// holder's pid. Other commands (report, export, flows, digest --dry-run)
// Open the file without it: WAL lets them read while serve writes.
//
// flock, because its lock belongs to the open file: two Opens in one
// process conflict as two processes do, and the kernel drops the lock when
// its holder dies, so nothing stale is left to clean up.
func (db *DB) LockForServe() error {
	db.mu.Lock()
	defer db.mu.Unlock()
	if db.lock != nil {
		return nil
	}
	path := filepath.Join(db.dir, serveLockFile)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("opening the serve lock %s: %w", path, err)
	}
	for {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if !errors.Is(err, syscall.EINTR) {
			break
		}
	}
	if errors.Is(err, syscall.EWOULDBLOCK) {
		pid := holderPID(f)
		_ = f.Close()
		return &servingError{path: db.path, pid: pid}
	}
	if err != nil {
		_ = f.Close()
		return fmt.Errorf("locking %s: %w", path, err)
	}
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	db.lock = f
	return nil
}

// holderPID reads the pid the holder of the lock wrote, or 0.
func holderPID(f *os.File) int {
	b := make([]byte, 32)
	n, _ := f.ReadAt(b, 0)
	pid, err := strconv.Atoi(strings.TrimSpace(string(b[:n])))
	if err != nil {
		return 0
	}
	return pid
}

// unlockServe lets go of the serve lock, if held.
func (db *DB) unlockServe() error {
	db.mu.Lock()
	defer db.mu.Unlock()
	if db.lock == nil {
		return nil
	}
	f := db.lock
	db.lock = nil
	// Emptied first, so that nobody reads a dead pid; closing drops the
	// lock.
	_ = f.Truncate(0)
	return f.Close()
}
