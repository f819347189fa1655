package main

import (
	"context"
	"net/http"
	"time"

	"github.com/handoffbot/handoff/bot/api"
	"github.com/handoffbot/handoff/flows"
	"github.com/handoffbot/handoff/store"
)

// newAPI wires the HTTP API over the store and the service.
func newAPI(db store.DB, svc *flows.Service, clock flows.Clock, a *App) *api.API {
	return api.New(api.Config{
		Service: svc, Store: apiStore{db}, Clock: clock, Logger: a.log.With("component", "api"),
		Started: a.dispatcher.Kick,
	})
}

// withAPI serves the API under /api/v1 beside the bot's own routes.
func withAPI(bot http.Handler, a *api.API) http.Handler {
	mux := http.NewServeMux()
	mux.Handle(api.Prefix+"/", a.Handler())
	mux.Handle("/", bot)
	return mux
}

// apiStore is store.DB as the API asks for it.
type apiStore struct{ db store.DB }

var _ api.Store = apiStore{}

func (s apiStore) Instance(ctx context.Context, id string) (*flows.Instance, error) {
	return s.db.Instance(ctx, id)
}

func (s apiStore) Token(ctx context.Context, hash string) (api.Token, error) {
	t, err := s.db.TokenByHash(ctx, hash)
	if err != nil {
		return api.Token{}, err
	}
	return api.Token{Name: t.Name, Hash: t.Hash, Processes: t.Processes, Scopes: t.Scopes, LastUsed: t.LastUsed, Revoked: t.Revoked()}, nil
}

func (s apiStore) TokenUsed(ctx context.Context, name string, at time.Time) error {
	return s.db.TokenUsed(ctx, name, at)
}

func (s apiStore) Reserve(ctx context.Context, k api.IdempotencyKey, expiredBefore time.Time) (api.IdempotencyKey, bool, error) {
	held, created, err := s.db.ReserveIdempotency(ctx, store.IdempotencyKey(k), expiredBefore)
	return api.IdempotencyKey(held), created, err
}

func (s apiStore) Release(ctx context.Context, token, key, requestID string) error {
	return s.db.ReleaseIdempotency(ctx, token, key, requestID)
}

func (s apiStore) Prune(ctx context.Context, before time.Time) (int, error) {
	return s.db.PruneIdempotency(ctx, before)
}

func (s apiStore) List(ctx context.Context, f api.Filter) ([]*flows.Instance, error) {
	return s.db.ListRequests(ctx, store.RequestFilter(f))
}
