package mongo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.mongodb.org/mongo-driver/v2/x/mongo/driver/topology"
)

// TestDescribeURI: what of a URI may be shown, and the credentials that
// must not be, escaped or not.
func TestDescribeURI(t *testing.T) {
	t.Parallel()
	tests := []struct {
		uri       string
		hosts, db string
		secrets   []string
	}{
		{"mongodb://localhost:27017", "localhost:27017", "", nil},
		{"mongodb://localhost:27017/", "localhost:27017", "", nil},
		{"mongodb://a:1,b:2/prod?replicaSet=rs0", "a:1,b:2", "prod", nil},
		{"mongodb://alice:s3cr3t@db.example:27017/handoff?authSource=admin", "db.example:27017", "handoff", []string{"alice", "s3cr3t"}},
		{"mongodb://bob:p%40ss@h/x", "h", "x", []string{"bob", "p%40ss", "p@ss"}},
		{"mongodb://user@h?tls=true", "h", "", []string{"user"}},
		{"mongodb+srv://u:pw@cluster0.example.net/app", "cluster0.example.net", "app", []string{"u", "pw"}},
		{"mongodb:///db", "(no host)", "db", nil},
		{"mongodb://h/my%20db", "h", "my db", nil},
		{"mongodb://ann:pa/ss1@h:1/db", "h:1", "db", []string{"ann", "pa/ss1"}},
		{"mongodb://ann:pa?ss1@h/db?w=1", "h", "db", []string{"ann", "pa?ss1"}},
		{"mongodb://h/db?tls=true&tlsCertificateKeyFilePassword=k3y", "h", "db", []string{"k3y"}},
		{"mongodb://h/?authMechanism=MONGODB-AWS&authMechanismProperties=AWS_SESSION_TOKEN:t0ken", "h", "", []string{"t0ken"}},
	}
	for _, tt := range tests {
		hosts, db, secrets := describeURI(tt.uri)
		if hosts != tt.hosts || db != tt.db || !cmp.Equal(secrets, tt.secrets) {
			t.Errorf("describeURI(%s) = %q, %q, %q; want %q, %q, %q", tt.uri, hosts, db, secrets, tt.hosts, tt.db, tt.secrets)
		}
	}
}

// TestScrub: secrets leave the message but not the chain, and a message
// without any is passed through as it is.
func TestScrub(t *testing.T) {
	t.Parallel()
	cause := errors.New("auth failed for alice with s3cr3t at h")
	err := scrub(cause, []string{"alice", "s3cr3t", "xy"})
	if got, want := err.Error(), "auth failed for xxxxx with xxxxx at h"; got != want {
		t.Errorf("scrub = %q, want %q", got, want)
	}
	if !errors.Is(err, cause) {
		t.Errorf("scrub(%v) does not unwrap to it", cause)
	}
	plain := errors.New("no secret here, xy")
	if got := scrub(plain, []string{"xy", "s3cr3t"}); got != plain {
		t.Errorf("scrub of a message with only a too-short secret = %v, want the error itself", got)
	}
}

// closedPort returns a port of 127.0.0.1 that nothing listens on.
func closedPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return port
}

// TestOpenUnreachable: a server that is not there is one sentence naming
// the host, the wait, the cause and what to check, without the password or
// the driver's topology dump, and the driver's error is still in the chain.
// The wait is the URI's serverSelectionTimeoutMS, or the caller's shorter
// deadline.
func TestOpenUnreachable(t *testing.T) {
	t.Parallel()
	addr := fmt.Sprintf("127.0.0.1:%d", closedPort(t))
	tests := []struct {
		name     string
		query    string
		deadline time.Duration // 0: none
		want     string
	}{
		{"the URI's wait", "?serverSelectionTimeoutMS=300", 0,
			"cannot reach MongoDB at " + addr + " within 300ms (connection refused); check the URI, the network, and that the server is running"},
		{"the caller's deadline", "?serverSelectionTimeoutMS=60000", 2200 * time.Millisecond,
			"cannot reach MongoDB at " + addr + " within 2s (connection refused); check the URI, the network, and that the server is running"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			if tt.deadline > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tt.deadline)
				defer cancel()
			}
			start := time.Now()
			err := openErr(ctx, "mongodb://alice:s3cr3tpw@"+addr+"/prod"+tt.query)
			if d := time.Since(start); d > 4*time.Second {
				t.Errorf("Open took %v to fail", d)
			}
			if err.Error() != tt.want {
				t.Errorf("Open error =\n%s\nwant\n%s", err, tt.want)
			}
			var sse topology.ServerSelectionError
			if !errors.As(err, &sse) {
				t.Errorf("Open error %q does not wrap the driver's server selection error", err)
			}
		})
	}
}

// TestOpenUnreachableHosts: each host of the URI is named with what became
// of it, in a few words, when they differ.
func TestOpenUnreachableHosts(t *testing.T) {
	t.Parallel()
	closed := fmt.Sprintf("127.0.0.1:%d", closedPort(t))
	// Accepts and never answers. The connection is read from, so that it
	// stays referenced: one dropped would be closed by the collector, and
	// the driver would see a reset instead of silence.
	silent := listen(t, func(c net.Conn) { go io.Copy(io.Discard, c) })
	http := listen(t, func(c net.Conn) { // answers in another protocol
		_, _ = c.Write([]byte("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n"))
	})
	gone := listen(t, func(c net.Conn) { // reads the handshake, closes
		_, _ = c.Read(make([]byte, 64<<10))
		c.Close()
	})
	tests := []struct {
		hosts, want string
	}{
		{closed + "," + silent, "cannot reach MongoDB at " + closed + " (connection refused), " + silent + " (no answer) within 500ms; check the URI, the network, and that the server is running"},
		{http, "cannot reach MongoDB at " + http + " within 500ms (answers, but not as MongoDB); check the URI, the network, and that the server is running"},
		{gone, "cannot reach MongoDB at " + gone + " within 500ms (closed the connection); check the URI, the network, and that the server is running"},
	}
	for _, tt := range tests {
		t.Run(tt.hosts, func(t *testing.T) {
			t.Parallel()
			err := openErr(t.Context(), "mongodb://alice:s3cr3tpw@"+tt.hosts+"/prod?serverSelectionTimeoutMS=500")
			if err.Error() != tt.want {
				t.Errorf("Open error =\n%s\nwant\n%s", err, tt.want)
			}
		})
	}
}

// TestOpenInterrupted: a caller that gives up is told so in a few words; the
// server is not blamed.
func TestOpenInterrupted(t *testing.T) {
	t.Parallel()
	addr := fmt.Sprintf("127.0.0.1:%d", closedPort(t))
	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(200*time.Millisecond, cancel)
	err := openErr(ctx, "mongodb://alice:s3cr3tpw@"+addr+"/prod")
	if want := "interrupted while connecting to MongoDB at " + addr; err.Error() != want {
		t.Errorf("Open error = %q, want %q", err, want)
	}
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Open error %q is not context.Canceled", err)
	}
}

// TestOpenNoSRVRecord: a mongodb+srv URI whose name does not resolve says
// which record is missing, without the driver's parse error around it.
func TestOpenNoSRVRecord(t *testing.T) {
	t.Parallel()
	err := openErr(t.Context(), "mongodb+srv://alice:s3cr3tpw@cluster0.handoff.invalid/prod")
	// The cause depends on this machine's DNS ("no such host" where
	// there is one).
	want := regexp.MustCompile(`^cannot look up the hosts of MongoDB at cluster0\.handoff\.invalid: no DNS record _mongodb\._tcp\.cluster0\.handoff\.invalid \([^()]+\); check the URI, and the DNS this machine uses$`)
	if !want.MatchString(err.Error()) {
		t.Errorf("Open error = %q, want it to match %s", err, want)
	}
}

// openErr opens uri, which must fail, and checks that the error is one line
// that shows neither the credentials nor the driver's topology.
func openErr(ctx context.Context, uri string) error {
	db, err := Open(ctx, uri, "")
	if err == nil {
		_ = db.Close(context.Background())
		return errors.New("Open succeeded")
	}
	for _, bad := range []string{"s3cr3tpw", "alice", "topology", "\n"} {
		if strings.Contains(err.Error(), bad) {
			return fmt.Errorf("Open error shows %q: %w", bad, err)
		}
	}
	return err
}

// listen serves each connection to 127.0.0.1 with serve, and returns the
// address.
func listen(t *testing.T, serve func(net.Conn)) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			serve(c)
		}
	}()
	return l.Addr().String()
}

// TestBudget: the wait Open reports is the connect timeout, or the
// caller's shorter deadline, rounded.
func TestBudget(t *testing.T) {
	t.Parallel()
	if got := budget(context.Background(), connectTimeout); got != connectTimeout {
		t.Errorf("budget without a deadline = %v, want %v", got, connectTimeout)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if got := budget(ctx, connectTimeout); got != connectTimeout {
		t.Errorf("budget under a long deadline = %v, want %v", got, connectTimeout)
	}
	ctx, cancel = context.WithTimeout(context.Background(), 1500*time.Millisecond+100*time.Millisecond)
	defer cancel()
	if got := budget(ctx, connectTimeout); got != 2*time.Second {
		t.Errorf("budget under a 1.6 s deadline = %v, want 2s", got)
	}
	if got := budget(context.Background(), 250*time.Millisecond); got != 250*time.Millisecond {
		t.Errorf("budget of a 250 ms wait = %v, want 250ms", got)
	}
}

// TestOpenRefusesOtherSchemes: a string that is no MongoDB URI is refused
// without being quoted, as it may hold a password.
func TestOpenRefusesOtherSchemes(t *testing.T) {
	t.Parallel()
	_, err := Open(t.Context(), "postgres://alice:s3cr3tpw@h/db", "")
	if err == nil || strings.Contains(err.Error(), "s3cr3tpw") || !strings.Contains(err.Error(), "mongodb://") {
		t.Errorf("Open(postgres://...) = %v; want a refusal naming mongodb:// and not the password", err)
	}
}

// TestOpenUnescapedPassword: a password with an unescaped / is refused by
// the driver, and the refusal shows none of it.
func TestOpenUnescapedPassword(t *testing.T) {
	t.Parallel()
	err := openErr(t.Context(), "mongodb://alice:s3cr3tpw/x@127.0.0.1:1/prod")
	if want := "connecting to MongoDB at 127.0.0.1:1/prod: error parsing uri: unescaped slash in password"; err.Error() != want {
		t.Errorf("Open error = %q, want %q", err, want)
	}
}
