//go:build !unix

package store

import "os"

// Without flock, only the writes of this process are serialised; run one
// process per embedded data directory on such systems.
func lockFile(*os.File) error   { return nil }
func unlockFile(*os.File) error { return nil }
