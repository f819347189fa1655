package mongo

import (
	"context"
	"errors"
	"fmt"
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
func TestOpenUnreachable(t *testing.T) {
	t.Parallel()
	addr := fmt.Sprintf("127.0.0.1:%d", closedPort(t))
	uri := "mongodb://alice:s3cr3tpw@" + addr + "/prod?serverSelectionTimeoutMS=60000"
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
	defer cancel()
	start := time.Now()
	db, err := Open(ctx, uri, "")
	if err == nil {
		_ = db.Close(context.Background())
		t.Fatalf("Open(%s) succeeded", addr)
	}
	if d := time.Since(start); d > 4*time.Second {
		t.Errorf("Open took %v to fail with a 2 s deadline", d)
	}
	msg := err.Error()
	t.Logf("Open error: %s", msg)
	want := regexp.MustCompile(`^cannot reach MongoDB at ` + regexp.QuoteMeta(addr) + `/prod within [12]s: connection refused; check MONGODB_URI and that the server is running$`)
	if !want.MatchString(msg) {
		t.Errorf("Open error = %q, want it to match %s", msg, want)
	}
	for _, bad := range []string{"s3cr3tpw", "alice", "topology", "\n"} {
		if strings.Contains(msg, bad) {
			t.Errorf("Open error shows %q: %s", bad, msg)
		}
	}
	var sse topology.ServerSelectionError
	if !errors.As(err, &sse) {
		t.Errorf("Open error %q does not wrap the driver's server selection error", msg)
	}
}

// TestBudget: the wait Open reports is the connect timeout, or the
// caller's shorter deadline, rounded.
func TestBudget(t *testing.T) {
	t.Parallel()
	if got := budget(context.Background()); got != connectTimeout {
		t.Errorf("budget without a deadline = %v, want %v", got, connectTimeout)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if got := budget(ctx); got != connectTimeout {
		t.Errorf("budget under a long deadline = %v, want %v", got, connectTimeout)
	}
	ctx, cancel = context.WithTimeout(context.Background(), 1500*time.Millisecond+100*time.Millisecond)
	defer cancel()
	if got := budget(ctx); got != 2*time.Second {
		t.Errorf("budget under a 1.6 s deadline = %v, want 2s", got)
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
