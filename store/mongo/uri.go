package mongo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strings"
	"syscall"
	"time"

	"go.mongodb.org/mongo-driver/v2/x/mongo/driver/description"
	"go.mongodb.org/mongo-driver/v2/x/mongo/driver/topology"
)

// describeURI returns what of uri may be shown (its hosts and database) and
// the credentials that must not be, without any I/O: a mongodb+srv URI is
// shown by its SRV name, not resolved.
//
// The credentials end at the last @: hosts never hold one, and a password
// with an unescaped / or ? (which the driver refuses) must not be taken for
// the path and shown. A URI with an @ in its database or options is shown
// by less than its hosts, never by more.
func describeURI(uri string) (hosts, database string, secrets []string) {
	rest := uri
	if i := strings.Index(rest, "://"); i >= 0 {
		rest = rest[i+3:]
	}
	if i := strings.LastIndexByte(rest, '@'); i >= 0 {
		user, pass, _ := strings.Cut(rest[:i], ":")
		secrets = appendSecret(appendSecret(secrets, user), pass)
		rest = rest[i+1:]
	}
	var query string
	if i := strings.IndexAny(rest, "/?"); i >= 0 {
		path := rest[i:]
		rest = rest[:i]
		path, query, _ = strings.Cut(path, "?")
		database = strings.TrimPrefix(path, "/")
	}
	// Options that hold secrets of their own.
	opts, _ := url.ParseQuery(query)
	for k, vs := range opts {
		for _, v := range vs {
			switch strings.ToLower(k) {
			case "tlscertificatekeyfilepassword":
				secrets = appendSecret(secrets, v)
			case "authmechanismproperties": // AWS_SESSION_TOKEN:…,…
				for _, kv := range strings.Split(v, ",") {
					_, val, _ := strings.Cut(kv, ":")
					secrets = appendSecret(secrets, val)
				}
			}
		}
	}
	if rest == "" {
		rest = "(no host)"
	}
	database, _ = url.PathUnescape(database)
	return rest, database, secrets
}

// appendSecret adds s, and its unescaped form when that differs.
func appendSecret(secrets []string, s string) []string {
	if s == "" {
		return secrets
	}
	secrets = append(secrets, s)
	if u, err := url.PathUnescape(s); err == nil && u != s {
		secrets = append(secrets, u)
	}
	return secrets
}

// scrub hides secrets in err's message, in case the driver quoted the URI.
// The result still unwraps to err, for errors.Is.
func scrub(err error, secrets []string) error {
	msg := err.Error()
	for _, s := range secrets {
		if len(s) >= minSecret {
			msg = strings.ReplaceAll(msg, s, "xxxxx")
		}
	}
	if msg == err.Error() {
		return err
	}
	return &scrubbedError{msg: msg, err: err}
}

// minSecret keeps scrub from mangling a message over a one- or two-letter
// user name; real passwords are longer.
const minSecret = 3

type scrubbedError struct {
	msg string
	err error
}

func (e *scrubbedError) Error() string { return e.msg }
func (e *scrubbedError) Unwrap() error { return e.err }

// unreachableError is a server that could not be used within the wait, said
// in one sentence (which hosts, within how long, why, what to check) instead
// of the driver's description of its whole topology, which still comes out
// of Unwrap. It names no setting: the URI may come from MONGODB_URI or from
// `store copy --to`, and the caller says which.
type unreachableError struct {
	hosts   []hostState
	within  time.Duration
	primary bool // some server answered, but none as a primary
	err     error
}

// hostState is one server of the topology and why it could not be used.
type hostState struct{ addr, why string }

func (e *unreachableError) Error() string {
	what, check := "MongoDB", "check the URI, the network, and that the server is running"
	if e.primary {
		what, check = "a MongoDB primary", "check the URI's replicaSet and that the replica set has a primary"
	}
	same := true
	addrs := make([]string, len(e.hosts))
	for i, h := range e.hosts {
		addrs[i] = h.addr
		same = same && h.why == e.hosts[0].why
	}
	if same {
		return fmt.Sprintf("cannot reach %s at %s within %s (%s); %s", what, strings.Join(addrs, ", "), e.within, e.hosts[0].why, check)
	}
	for i, h := range e.hosts {
		addrs[i] = h.addr + " (" + h.why + ")"
	}
	return fmt.Sprintf("cannot reach %s at %s within %s; %s", what, strings.Join(addrs, ", "), e.within, check)
}

func (e *unreachableError) Unwrap() error { return e.err }

// unreachable returns err as an unreachableError when it is the driver
// giving up on finding a server (to talk to, or a primary) within the given
// time, as a short interruption when ctx was cancelled (the server is not
// to blame then), and nil otherwise. hosts are the URI's, for a topology
// that lists no server.
func unreachable(ctx context.Context, err error, hosts string, within time.Duration) error {
	var sse topology.ServerSelectionError
	if !errors.As(err, &sse) {
		return nil
	}
	if errors.Is(ctx.Err(), context.Canceled) {
		return &scrubbedError{msg: "interrupted while connecting to MongoDB at " + hosts, err: err}
	}
	u := &unreachableError{within: within, err: err}
	for _, s := range sse.Desc.Servers {
		h := hostState{addr: s.Addr.String()}
		switch {
		case s.LastError != nil:
			h.why = shortCause(s.LastError)
		case s.Kind != description.Unknown:
			h.why = "answers as " + kindName(s.Kind)
			u.primary = true
		default:
			h.why = "no answer"
		}
		u.hosts = append(u.hosts, h)
	}
	if len(u.hosts) == 0 {
		u.hosts = []hostState{{addr: hosts, why: "no server answered"}}
	}
	return u
}

// kindName is what a server that is not a primary answered as, in words.
func kindName(k description.ServerKind) string {
	switch k {
	case description.ServerKindRSSecondary:
		return "a secondary"
	case description.ServerKindRSArbiter:
		return "an arbiter"
	case description.ServerKindRSGhost:
		return "a replica set member not yet initiated"
	case description.ServerKindRSMember:
		return "a replica set member that is neither primary nor secondary"
	case description.ServerKindStandalone:
		return "a standalone server"
	case description.ServerKindMongos:
		return "mongos"
	}
	return k.String()
}

// budget is how long an attempt under ctx may take to find a server: wait,
// or less if ctx ends sooner. It is rounded for the message that says how
// long we waited.
func budget(ctx context.Context, wait time.Duration) time.Duration {
	d := wait
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) < d {
		d = time.Until(dl)
	}
	if d >= time.Second {
		return d.Round(time.Second)
	}
	return d.Round(10 * time.Millisecond)
}

// shortCause is the innermost part of a dial or handshake error: "connection
// refused" rather than "connection() error occurred during connection
// handshake: dial tcp 127.0.0.1:1: connect: connection refused".
func shortCause(err error) string {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		return errno.Error()
	}
	var dns *net.DNSError
	if errors.As(err, &dns) {
		return "cannot resolve " + dns.Name
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, syscall.ETIMEDOUT) {
		return "timed out"
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return "closed the connection"
	}
	for {
		inner := errors.Unwrap(err)
		if inner == nil {
			if err.Error() == "length of read message too large" {
				// What the driver makes of an answer in another protocol
				// (HTTP, say): the port is not MongoDB's.
				return "answers, but not as MongoDB"
			}
			return err.Error()
		}
		err = inner
	}
}

// dnsCause is a DNS failure in a few words.
func dnsCause(e *net.DNSError) string {
	switch {
	case e.IsNotFound:
		return "no such host"
	case e.IsTimeout:
		return "timed out"
	}
	return e.Err
}
