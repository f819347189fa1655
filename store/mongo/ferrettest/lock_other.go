//go:build !(linux || darwin)

package embedded

import (
	"errors"
	"fmt"
	"os"
	"runtime"
)

// errWouldBlock reports that another open file description holds the lock.
var errWouldBlock = errors.New("lock is held")

// tryLock fails: the project only targets Linux and macOS, and this file only
// keeps other platforms building.
func tryLock(*os.File, bool) error {
	return fmt.Errorf("locking the data directory is not supported on %s", runtime.GOOS)
}

func unlock(*os.File) error { return nil }
