package mongo

import (
	"context"
	"errors"
	"fmt"
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
func describeURI(uri string) (hosts, database string, secrets []string) {
	rest := uri
	if i := strings.Index(rest, "://"); i >= 0 {
		rest = rest[i+3:]
	}
	if i := strings.IndexAny(rest, "/?"); i >= 0 {
		if rest[i] == '/' {
			database = rest[i+1:]
			if j := strings.IndexByte(database, '?'); j >= 0 {
				database = database[:j]
			}
		}
		rest = rest[:i]
	}
	if i := strings.LastIndexByte(rest, '@'); i >= 0 {
		user, pass, _ := strings.Cut(rest[:i], ":")
		for _, s := range []string{user, pass} {
			if s == "" {
				continue
			}
			secrets = append(secrets, s)
			if u, err := url.PathUnescape(s); err == nil && u != s {
				secrets = append(secrets, u)
			}
		}
		rest = rest[i+1:]
	}
	if rest == "" {
		rest = "(no host)"
	}
	database, _ = url.PathUnescape(database)
	return rest, database, secrets
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

// unreachableError is a server that did not answer in time, said in one
// sentence instead of the driver's description of its whole topology, which
// still comes out of Unwrap.
type unreachableError struct {
	where  string
	within time.Duration
	cause  string
	err    error
}

func (e *unreachableError) Error() string {
	return fmt.Sprintf("cannot reach MongoDB at %s within %s: %s; check MONGODB_URI and that the server is running",
		e.where, e.within, e.cause)
}

func (e *unreachableError) Unwrap() error { return e.err }

// unreachable returns err as an unreachableError when it is the driver
// giving up on finding a server (to talk to, or a primary) within the given
// time, and nil otherwise. ctx is the one the attempt ran under: when its
// caller cancelled it, the server is not to blame.
func unreachable(ctx context.Context, err error, where string, within time.Duration) error {
	var sse topology.ServerSelectionError
	if !errors.As(err, &sse) || errors.Is(ctx.Err(), context.Canceled) {
		return nil
	}
	return &unreachableError{where: where, within: within, cause: selectionCause(sse), err: err}
}

// budget is how long an attempt under ctx may take to find a server: the
// driver's connectTimeout, or less if ctx ends sooner. It is rounded for
// the message that says how long we waited.
func budget(ctx context.Context) time.Duration {
	d := connectTimeout
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) < d {
		d = time.Until(dl)
	}
	if d >= time.Second {
		return d.Round(time.Second)
	}
	return d.Round(10 * time.Millisecond)
}

// selectionCause says in a few words why no server was selected: what the
// last attempt to reach each one ended with, or what they answered as.
func selectionCause(sse topology.ServerSelectionError) string {
	var causes, kinds []string
	for _, s := range sse.Desc.Servers {
		switch {
		case s.LastError != nil:
			causes = appendNew(causes, shortCause(s.LastError))
		case s.Kind != description.Unknown:
			kinds = append(kinds, s.Addr.String()+" is "+s.Kind.String())
		}
	}
	switch {
	case len(causes) > 0:
		return strings.Join(causes, ", ")
	case len(kinds) > 0:
		return "no primary (" + strings.Join(kinds, ", ") + ")"
	}
	return "no server answered"
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
	for {
		inner := errors.Unwrap(err)
		if inner == nil {
			return err.Error()
		}
		err = inner
	}
}

func appendNew(list []string, s string) []string {
	for _, have := range list {
		if have == s {
			return list
		}
	}
	return append(list, s)
}
