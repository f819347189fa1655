// Package embedded runs FerretDB inside our process, on SQLite files under a
// data directory, so that the bot works without a MongoDB server to install.
//
// The rest of the program never sees FerretDB: it gets a mongodb:// URI and
// talks to it with the official driver exactly as it would to MongoDB, which
// keeps one code path for development, tests and production.
//
// A data directory belongs to one server at a time: SQLite files shared by two
// FerretDB instances would be corrupted by their separate metadata caches. The
// running server therefore holds a lock on the directory and publishes its
// URI there, so that a second process (a CLI command, say) calls Attach and
// uses the running server instead of opening the files itself.
package embedded

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/FerretDB/FerretDB/ferretdb"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// Names of the files Start keeps in the data directory.
const (
	lockFile  = "LOCK"   // flocked while a server runs; holds its pid
	addrFile  = "ADDR"   // the running server's URI, for Attach
	sqliteDir = "sqlite" // FerretDB's SQLite files, one per database
)

const (
	// startTimeout bounds the wait for FerretDB to answer its first ping,
	// on top of whatever deadline the caller's context has.
	startTimeout = 15 * time.Second

	// lockRetries and lockRetryDelay let Start ride out Attach's momentary
	// probe of the lock, so that only a real holder makes it fail.
	lockRetries    = 5
	lockRetryDelay = 20 * time.Millisecond

	// attachWait is how long Attach waits for a server that holds the lock
	// but has not answered yet, which covers one that is still starting.
	attachWait  = 2 * time.Second
	attachPoll  = 50 * time.Millisecond
	dialTimeout = 500 * time.Millisecond
)

// ErrLocked means another server (in this process or another) owns the data
// directory, so starting a second one there would corrupt it.
var ErrLocked = errors.New("data directory is locked")

// ErrNotRunning means no server owns the data directory, so the caller may
// Start its own.
var ErrNotRunning = errors.New("no embedded server is running")

// newMu serialises ferretdb.New, which writes a package-level variable of
// FerretDB's (the version's Package field) and so races with itself.
var newMu sync.Mutex

// Config says where a Server keeps its data and where its logs go.
type Config struct {
	// Dir is the data directory; Start creates it (0o700) if missing.
	Dir string

	// Logger receives the Server's own logs and FerretDB's, the latter
	// demoted to Debug below Error so that FerretDB stays quiet unless
	// asked. Nil means slog.Default().
	Logger *slog.Logger
}

// Server is a running FerretDB that owns a data directory until Close.
type Server struct {
	dir    string // absolute
	uri    string
	log    *slog.Logger
	lock   *os.File
	cancel context.CancelFunc
	done   chan struct{} // closed when FerretDB's Run returns

	closeOnce sync.Once
	closeErr  error
}

// Start locks cfg.Dir, starts FerretDB on SQLite under it listening on a free
// loopback port, and returns once FerretDB answers a ping. ctx bounds only the
// start; the server runs until Close.
//
// If another server holds the directory, Start fails at once with an error
// wrapping ErrLocked that names the directory and the holder's pid.
func Start(ctx context.Context, cfg Config) (_ *Server, err error) {
	if cfg.Dir == "" {
		return nil, errors.New("starting embedded server: no data directory given")
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.Default()
	}

	dir, err := filepath.Abs(cfg.Dir)
	if err != nil {
		return nil, fmt.Errorf("resolving data directory %s: %w", cfg.Dir, err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("creating data directory %s: %w", cfg.Dir, err)
	}

	lock, err := acquire(cfg.Dir, dir)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			_ = unlock(lock)
			_ = lock.Close()
		}
	}()

	dataDir := filepath.Join(dir, sqliteDir)
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("creating sqlite directory in %s: %w", cfg.Dir, err)
	}

	// FerretDB wants a file: URI naming an existing directory, with a
	// trailing slash; url.URL escapes odd characters in the path for us.
	sqliteURL := (&url.URL{Scheme: "file", Path: dataDir + "/", OmitHost: true}).String()

	newMu.Lock()
	f, err := ferretdb.New(&ferretdb.Config{
		Listener: ferretdb.ListenerConfig{TCP: "127.0.0.1:0"},
		Logger:   slog.New(quietHandler{inner: logger.Handler()}).With(slog.String("component", "ferretdb")),
		Handler:  "sqlite",
		// The embedded package keeps its state in memory and never starts
		// the telemetry reporter, so nothing here reaches the network.
		SQLiteURL: sqliteURL,
	})
	newMu.Unlock()
	if err != nil {
		return nil, fmt.Errorf("starting ferretdb in %s: %w", cfg.Dir, err)
	}

	uri, err := clientURI(f.MongoDBURI())
	if err != nil {
		return nil, fmt.Errorf("starting ferretdb in %s: %w", cfg.Dir, err)
	}

	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = f.Run(runCtx) // always nil; it returns when runCtx is done
	}()
	defer func() {
		if err != nil {
			cancel()
			<-done
		}
	}()

	if err := ping(ctx, uri); err != nil {
		return nil, fmt.Errorf("waiting for ferretdb in %s at %s: %w", cfg.Dir, uri, err)
	}
	if err := writeAddr(dir, uri); err != nil {
		return nil, fmt.Errorf("publishing address in %s: %w", cfg.Dir, err)
	}

	logger.InfoContext(ctx, "embedded mongodb started", slog.String("dir", dir), slog.String("uri", uri))

	return &Server{
		dir:    dir,
		uri:    uri,
		log:    logger,
		lock:   lock,
		cancel: cancel,
		done:   done,
	}, nil
}

// URI is what to hand to the MongoDB driver; it points at loopback and asks
// for a direct connection, as FerretDB is no replica set.
func (s *Server) URI() string { return s.uri }

// Dir is the absolute data directory, for messages that tell the user where
// their data lives.
func (s *Server) Dir() string { return s.dir }

// Close withdraws the address, stops FerretDB, waiting for its SQLite files
// to be closed, and releases the directory for the next Start. Clients should disconnect
// first: FerretDB gives connected clients up to three seconds to go. Calling
// Close again returns the first result.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		var errs []error
		// Withdraw the address first so that Attach stops handing it out.
		if err := os.Remove(filepath.Join(s.dir, addrFile)); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, fmt.Errorf("removing address file in %s: %w", s.dir, err))
		}
		s.cancel()
		<-s.done
		if err := unlock(s.lock); err != nil {
			errs = append(errs, fmt.Errorf("unlocking data directory %s: %w", s.dir, err))
		}
		if err := s.lock.Close(); err != nil {
			errs = append(errs, fmt.Errorf("closing lock file in %s: %w", s.dir, err))
		}
		s.closeErr = errors.Join(errs...)
		s.log.Info("embedded mongodb stopped", slog.String("dir", s.dir))
	})
	return s.closeErr
}

// Attach returns the URI of the server that owns dir, so that a second
// process shares it instead of opening the files twice. It returns
// ErrNotRunning when nobody owns dir, and an error wrapping ErrLocked when
// the owner does not answer within a couple of seconds (hung, or not a
// Server at all).
func Attach(dir string) (uri string, err error) {
	lock, err := os.Open(filepath.Join(dir, lockFile))
	if errors.Is(err, os.ErrNotExist) {
		return "", ErrNotRunning
	}
	if err != nil {
		return "", fmt.Errorf("opening lock file in %s: %w", dir, err)
	}
	defer lock.Close()

	switch err := tryLock(lock, false); {
	case err == nil:
		_ = unlock(lock)
		return "", ErrNotRunning
	case !errors.Is(err, errWouldBlock):
		return "", fmt.Errorf("probing lock in %s: %w", dir, err)
	}

	// Someone holds the lock. A Server publishes its address only once it
	// answers, so give one that is still starting a moment.
	deadline := time.NewTimer(attachWait)
	defer deadline.Stop()
	tick := time.NewTicker(attachPoll)
	defer tick.Stop()
	for {
		uri, reason := reachable(dir)
		if reason == "" {
			return uri, nil
		}
		select {
		case <-tick.C:
			continue
		case <-deadline.C:
		}
		return "", fmt.Errorf("the data directory %s is in use by %s that %s: %w",
			dir, holder(readPID(lock)), reason, ErrLocked)
	}
}

// acquire takes the directory's lock and records our pid in it for the
// messages of whoever comes next. shown is the directory as the user gave it.
func acquire(shown, dir string) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(dir, lockFile), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("opening lock file in %s: %w", shown, err)
	}
	for i := 0; ; i++ {
		err = tryLock(f, true)
		if !errors.Is(err, errWouldBlock) || i == lockRetries {
			break
		}
		time.Sleep(lockRetryDelay)
	}
	switch {
	case errors.Is(err, errWouldBlock):
		pid := readPID(f)
		_ = f.Close()
		return nil, fmt.Errorf("data directory %s is already in use by %s; stop it, or point HANDOFF_DATA_DIR elsewhere: %w",
			shown, holder(pid), ErrLocked)
	case err != nil:
		_ = f.Close()
		return nil, fmt.Errorf("locking data directory %s: %w", shown, err)
	}

	pid := []byte(strconv.Itoa(os.Getpid()) + "\n")
	err = f.Truncate(0)
	if err == nil {
		_, err = f.WriteAt(pid, 0)
	}
	if err != nil {
		_ = unlock(f)
		_ = f.Close()
		return nil, fmt.Errorf("recording pid in lock file in %s: %w", shown, err)
	}
	return f, nil
}

// readPID returns the pid recorded in the lock file, or 0 if there is none
// (the holder may not have written it yet).
func readPID(f *os.File) int {
	buf := make([]byte, 32)
	n, _ := f.ReadAt(buf, 0)
	pid, err := strconv.Atoi(strings.TrimSpace(string(buf[:n])))
	if err != nil || pid <= 0 {
		return 0
	}
	return pid
}

// holder names the lock's holder for an error message.
func holder(pid int) string {
	switch pid {
	case 0:
		return "another process"
	case os.Getpid():
		return fmt.Sprintf("this process (pid %d)", pid)
	default:
		return fmt.Sprintf("another process (pid %d)", pid)
	}
}

// reachable reads the published address and dials it. It returns the URI,
// or a reason for an error message when it cannot be used.
func reachable(dir string) (uri, reason string) {
	b, err := os.ReadFile(filepath.Join(dir, addrFile))
	if err != nil {
		return "", "has not published its address in " + filepath.Join(dir, addrFile)
	}
	uri = strings.TrimSpace(string(b))
	u, err := url.Parse(uri)
	if err != nil || u.Scheme != "mongodb" || u.Host == "" {
		return "", fmt.Sprintf("published an unusable address %q in %s", uri, filepath.Join(dir, addrFile))
	}
	conn, err := net.DialTimeout("tcp", u.Host, dialTimeout)
	if err != nil {
		return "", "does not answer at " + u.Host
	}
	_ = conn.Close()
	return uri, ""
}

// clientURI turns FerretDB's URI into one for the driver: directConnection
// stops the driver from looking for replica set members that do not exist.
func clientURI(ferret string) (string, error) {
	u, err := url.Parse(ferret)
	if err != nil {
		return "", fmt.Errorf("parsing ferretdb uri %q: %w", ferret, err)
	}
	u.RawQuery = url.Values{"directConnection": {"true"}}.Encode()
	return u.String(), nil
}

// ping waits until FerretDB answers a command, which proves both the listener
// and the SQLite backend are up.
func ping(ctx context.Context, uri string) error {
	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	client, err := mongo.Connect(options.Client().ApplyURI(uri))
	if err != nil {
		return err
	}
	defer func() {
		// The caller's deadline may be spent by now; disconnecting from
		// loopback is quick, but do not let it hang either.
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
		defer cancel()
		_ = client.Disconnect(ctx)
	}()
	return client.Ping(ctx, nil)
}

// writeAddr publishes uri in dir by rename, so that Attach never reads half
// a file.
func writeAddr(dir, uri string) error {
	tmp, err := os.CreateTemp(dir, addrFile+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // fails harmlessly once renamed
	if _, err := tmp.WriteString(uri + "\n"); err != nil {
		_ = tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), filepath.Join(dir, addrFile))
}
