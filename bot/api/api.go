package api

import (
	"context"
	_ "embed"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/handoffbot/handoff/flows"
)

// Prefix is where the API is mounted.
const Prefix = "/api/v1"

// MaxBody is the largest body a call may send: far more than a form's
// values (flows.MaxFormLength characters) need.
const MaxBody = 64 << 10

// IdempotencyWindow is how long an Idempotency-Key holds.
const IdempotencyWindow = 24 * time.Hour

// Store is what the API reads and writes. cmd/handoff adapts store.DB.
type Store interface {
	// Instance returns the instance with the given id, or an error
	// wrapping flows.ErrNotFound.
	Instance(ctx context.Context, id string) (*flows.Instance, error)
	// Token returns the token whose hash is hash, or an error wrapping
	// flows.ErrNotFound.
	Token(ctx context.Context, hash string) (Token, error)
	// TokenUsed records a use of token name.
	TokenUsed(ctx context.Context, name string, at time.Time) error
	// Reserve records k unless an unexpired record of its token and key
	// exists, and returns the record that holds and whether it is k.
	Reserve(ctx context.Context, k IdempotencyKey, expiredBefore time.Time) (IdempotencyKey, bool, error)
	// Release removes the record of token and key if it names requestID.
	Release(ctx context.Context, token, key, requestID string) error
	// Prune drops the records made before before.
	Prune(ctx context.Context, before time.Time) (int, error)
	// List returns the requests of one process f selects, oldest first.
	List(ctx context.Context, f Filter) ([]*flows.Instance, error)
}

// IdempotencyKey ties a caller's Idempotency-Key to the request its first
// call started.
type IdempotencyKey struct {
	Token, Key, Fingerprint, RequestID string
	At                                 time.Time
}

// Filter is one page of one process's requests.
type Filter struct {
	Process      string
	State        flows.State
	Since        time.Time
	AfterCreated time.Time
	AfterID      string
	Limit        int
}

// Config is what the API needs.
type Config struct {
	Service *flows.Service
	Store   Store
	Clock   flows.Clock
	Logger  *slog.Logger
	// Started is told of each request the API started or cancelled, so
	// that its messages go out at once (the dispatcher's Kick); nil: the
	// outbox scan finds them.
	Started func(id string)
}

// API serves /api/v1.
type API struct {
	cfg       Config
	log       *slog.Logger
	lastPrune atomic.Int64
}

// New returns the API over cfg.
func New(cfg Config) *API {
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &API{cfg: cfg, log: log}
}

// route is one route of the API: the document (openapi.json) lists the
// same, with the statuses each may answer.
type route struct {
	method, path string
	statuses     []int
	handle       func(*API, http.ResponseWriter, *http.Request)
}

// routes are the API's routes. Every route may also answer 401 and 500.
var routes = []route{
	{"GET", "/openapi.json", []int{200}, (*API).openAPI},
	{"POST", "/requests", []int{200, 201, 400, 403, 409, 413, 415, 422}, (*API).start},
	{"GET", "/requests", []int{200, 400, 403}, (*API).list},
	{"GET", "/requests/{id}", []int{200, 403, 404}, (*API).get},
	{"POST", "/requests/{id}/cancel", []int{200, 400, 403, 404, 409, 413, 415}, (*API).cancel},
	{"POST", "/requests/{id}/steps/{step}/complete", []int{200, 400, 403, 404, 409, 413, 415, 422}, (*API).complete},
}

// Handler serves the API's routes under Prefix.
func (a *API) Handler() http.Handler {
	mux := http.NewServeMux()
	for _, rt := range routes {
		mux.HandleFunc(rt.method+" "+Prefix+rt.path, func(w http.ResponseWriter, r *http.Request) {
			ctx, cancel := context.WithTimeout(r.Context(), 8*time.Second)
			defer cancel()
			rt.handle(a, w, r.WithContext(ctx))
		})
	}
	mux.HandleFunc(Prefix+"/", func(w http.ResponseWriter, r *http.Request) {
		if allowed := methodsFor(strings.TrimPrefix(r.URL.Path, Prefix)); len(allowed) > 0 {
			w.Header().Set("Allow", strings.Join(allowed, ", "))
			problem(w, http.StatusMethodNotAllowed, r.Method+" is not a method of "+r.URL.Path+"; use "+strings.Join(allowed, " or ")+".")
			return
		}
		problem(w, http.StatusNotFound, "No such route; see "+Prefix+"/openapi.json.")
	})
	return mux
}

// methodsFor lists the methods of the routes whose path template matches
// path: what a request with another method may use instead.
func methodsFor(path string) []string {
	var out []string
	for _, rt := range routes {
		if templateMatches(rt.path, path) && !slices.Contains(out, rt.method) {
			out = append(out, rt.method)
		}
	}
	return out
}

// templateMatches reports whether path fits tmpl, whose {name} segments
// match any one segment.
func templateMatches(tmpl, path string) bool {
	ts, ps := strings.Split(tmpl, "/"), strings.Split(path, "/")
	if len(ts) != len(ps) {
		return false
	}
	for i, t := range ts {
		if !(strings.HasPrefix(t, "{") && strings.HasSuffix(t, "}") && ps[i] != "") && t != ps[i] {
			return false
		}
	}
	return true
}

//go:embed openapi.json
var openAPIDoc []byte

func (a *API) openAPI(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(openAPIDoc)
}

// now reads the clock once per call.
func (a *API) now() time.Time { return a.cfg.Clock.Now().UTC() }
