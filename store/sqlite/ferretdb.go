package sqlite

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// ErrFerretDBData means the data directory holds the data of Handoff's
// earlier embedded store, FerretDB over SQLite files in <dir>/sqlite,
// which this version does not read. Open's error wraps it and says how to
// carry the requests over.
var ErrFerretDBData = errors.New("data directory holds the earlier FerretDB store's data")

// ferretDBError is ErrFerretDBData for one directory, in words a person can
// act on.
type ferretDBError struct{ dir string }

func (e *ferretDBError) Error() string {
	return fmt.Sprintf("%s holds the data of Handoff's earlier embedded store (FerretDB), which this version no longer reads; "+
		"to carry the requests over, start the earlier release on it (it serves MongoDB's protocol at the address in %s) "+
		"and run `handoff store copy --from mongodb://<that address>/handoff`; or move the directory aside to start empty",
		e.dir, filepath.Join(e.dir, "ADDR"))
}

func (e *ferretDBError) Unwrap() error { return ErrFerretDBData }

// checkFerretDB refuses a directory whose sqlite/ subdirectory holds
// FerretDB's *.sqlite files, unless this store's own file is there too (a
// copy has been made into it, so the old files are only left over).
func checkFerretDB(dir, path string) error {
	if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
		return nil // ours, or unreadable: Open says which
	}
	old, err := filepath.Glob(filepath.Join(dir, "sqlite", "*.sqlite"))
	if err != nil {
		return fmt.Errorf("looking for earlier data in %s: %w", dir, err)
	}
	if len(old) > 0 {
		return &ferretDBError{dir: dir}
	}
	return nil
}
