package sqlite

import (
	"errors"
	"fmt"
)

// serveLockFile is the file LockForServe locks, in the data directory.
const serveLockFile = "serve.lock"

// ErrServeLocked means another `handoff serve` holds the serve lock on the
// file (see LockForServe).
var ErrServeLocked = errors.New("the embedded store is in use by another handoff serve")

// servingError is ErrServeLocked in words a person can act on.
type servingError struct {
	path string
	pid  int // 0 when unknown
}

func (e *servingError) Error() string {
	who := "another handoff serve"
	if e.pid > 0 {
		who = fmt.Sprintf("another handoff serve (pid %d)", e.pid)
	}
	return fmt.Sprintf("%s is using %s; one embedded store serves one process; "+
		"to run several replicas, use MongoDB (set MONGODB_URI, see the README's Operations section)", who, e.path)
}

func (e *servingError) Unwrap() error { return ErrServeLocked }
