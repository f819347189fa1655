package store

import (
	"context"
	"time"

	"github.com/handoffbot/handoff/flows"
)

// Integrations is what the HTTP API (bot/api) keeps: the tokens other
// systems call it with, the idempotency keys of their calls, and the list
// of requests they page through.
type Integrations interface {
	// CreateToken records t, or returns an error wrapping flows.ErrExists
	// when a token of that name is recorded already (revoked or not).
	CreateToken(ctx context.Context, t Token) error
	// TokenByHash returns the token whose hash is hash, revoked or not, or
	// an error wrapping flows.ErrNotFound.
	TokenByHash(ctx context.Context, hash string) (Token, error)
	// Tokens returns every recorded token, by name.
	Tokens(ctx context.Context) ([]Token, error)
	// RevokeToken marks token name revoked at at, unless it is already;
	// false (no error) means there is no such token or it was revoked.
	RevokeToken(ctx context.Context, name string, at time.Time) (bool, error)
	// TokenUsed records that token name was used at at, unless a later
	// use is recorded already.
	TokenUsed(ctx context.Context, name string, at time.Time) error

	// ReserveIdempotency records k unless a record of k's token and key
	// made after expiredBefore exists; it returns the record that holds
	// (k, or the earlier one) and whether this call made it. An expired
	// record is replaced.
	ReserveIdempotency(ctx context.Context, k IdempotencyKey, expiredBefore time.Time) (held IdempotencyKey, created bool, err error)
	// ReleaseIdempotency removes the record of token and key if it still
	// names requestID: the request it reserved could not be started.
	ReleaseIdempotency(ctx context.Context, token, key, requestID string) error
	// PruneIdempotency drops the records made before before and returns
	// how many.
	PruneIdempotency(ctx context.Context, before time.Time) (int, error)

	// ListRequests returns the instances f selects, oldest first by
	// (created_at, id), at most ClampLimit(f.Limit).
	ListRequests(ctx context.Context, f RequestFilter) ([]*flows.Instance, error)
}

// Token is an API token as stored: its hash, never the token.
type Token struct {
	Name      string    `bson:"_id"`
	Hash      string    `bson:"hash"` // hex SHA-256 of the token
	Processes []string  `bson:"processes"`
	Scopes    []string  `bson:"scopes"`
	CreatedAt time.Time `bson:"created_at"`
	LastUsed  time.Time `bson:"last_used"`
	RevokedAt time.Time `bson:"revoked_at"`
}

// Revoked reports whether t was revoked.
func (t Token) Revoked() bool { return !t.RevokedAt.IsZero() }

// IdempotencyKey ties a caller's Idempotency-Key, under one token, to the
// request its first call started.
type IdempotencyKey struct {
	Token       string    // the token's name
	Key         string    // the caller's Idempotency-Key
	Fingerprint string    // a hash of the call's body, to refuse a key reused for another body
	RequestID   string    // the instance the call starts
	At          time.Time // when the first call came
}

// RequestFilter selects the requests ListRequests returns.
type RequestFilter struct {
	Process string      // required
	State   flows.State // only this state; empty: any
	Since   time.Time   // created at or after; zero: any
	// After is the page key of the last request seen: only requests after
	// (AfterCreated, AfterID) are listed. Zero AfterCreated: from the start.
	AfterCreated time.Time
	AfterID      string
	Limit        int
}
