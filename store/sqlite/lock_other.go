//go:build !(linux || darwin)

package sqlite

// LockForServe does nothing on this platform: Handoff targets Linux and
// macOS, and this file only keeps others building. See lock_unix.go.
func (db *DB) LockForServe() error { return nil }

func (db *DB) unlockServe() error { return nil }
