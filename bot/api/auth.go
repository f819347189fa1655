package api

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/handoffbot/handoff/flows"
)

// The scopes a token may have.
const (
	ScopeStart  = "start"  // POST /requests
	ScopeRead   = "read"   // GET /requests, GET /requests/{id}
	ScopeCancel = "cancel" // POST /requests/{id}/cancel
	// ScopeComplete lets a system complete the call steps that wait for
	// its callback: POST /requests/{id}/steps/{step}/complete.
	ScopeComplete = "complete"
)

// Scopes are every scope, the default of `handoff token create`.
var Scopes = []string{ScopeStart, ScopeRead, ScopeCancel, ScopeComplete}

// tokenPrefix marks Handoff's tokens, so that a secret scanner (or a
// person) can tell one in a paste.
const tokenPrefix = "hnd_"

// NewToken returns a new random token (32 bytes from crypto/rand) and the
// hash to store of it.
func NewToken() (token, hash string) {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // never fails (crypto/rand's contract)
	token = tokenPrefix + base64.RawURLEncoding.EncodeToString(b)
	return token, HashToken(token)
}

// HashToken is how a token is stored and looked up: its SHA-256, in hex.
// The token has 256 bits of randomness, so a fast hash is enough.
func HashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// Token is a caller as the API sees it.
type Token struct {
	Name      string
	Hash      string
	Processes []string
	Scopes    []string
	LastUsed  time.Time
	Revoked   bool
}

// sees reports whether t may see requests of process.
func (t *Token) sees(process string) bool { return slices.Contains(t.Processes, process) }

func (t *Token) may(scope string) bool { return slices.Contains(t.Scopes, scope) }

// usedEvery is how often a token's last use is written: not at every
// call, which would make every read a write.
const usedEvery = time.Minute

// authenticate returns the caller's token, or answers 401 and returns nil.
// Nothing is written for a wrong or revoked token, and neither the token
// nor the header is logged.
func (a *API) authenticate(w http.ResponseWriter, r *http.Request) *Token {
	raw, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	raw = strings.TrimSpace(raw)
	if !ok || raw == "" {
		problem(w, http.StatusUnauthorized, "Send an API token as Authorization: Bearer <token> (see handoff token create).")
		return nil
	}
	hash := HashToken(raw)
	t, err := a.cfg.Store.Token(r.Context(), hash)
	switch {
	case errors.Is(err, flows.ErrNotFound):
		problem(w, http.StatusUnauthorized, "The API token is not known. Check it, or make one with handoff token create.")
		return nil
	case err != nil:
		a.log.Error("reading an API token", "err", err)
		problem(w, http.StatusInternalServerError, "Nothing was changed; try again in a minute.")
		return nil
	}
	// The lookup was by hash; compare again in constant time, so that
	// what decides is not a database's string comparison.
	if subtle.ConstantTimeCompare([]byte(t.Hash), []byte(hash)) != 1 {
		problem(w, http.StatusUnauthorized, "The API token is not known. Check it, or make one with handoff token create.")
		return nil
	}
	if t.Revoked {
		problem(w, http.StatusUnauthorized, "The API token was revoked.")
		return nil
	}
	if now := a.cfg.Clock.Now(); now.Sub(t.LastUsed) >= usedEvery {
		if err := a.cfg.Store.TokenUsed(context.WithoutCancel(r.Context()), t.Name, now.UTC()); err != nil {
			a.log.Warn("recording an API token's use", "token", t.Name, "err", err)
		}
	}
	return &t
}

// require answers 403 unless t has scope.
func require(w http.ResponseWriter, t *Token, scope string) bool {
	if t.may(scope) {
		return true
	}
	problem(w, http.StatusForbidden, "This token lacks the "+scope+" scope (handoff token create --scope).")
	return false
}
