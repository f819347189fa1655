package bot

import (
	"container/list"
	"sync"
	"time"
)

// recent remembers keys for a while: the event ids Slack retries, the
// modal submissions already answered, the refusals already told. Each key
// is forgotten ttl after it was added, and at most max are kept (the oldest
// go first), so that no burst of requests can make it grow without bound.
// Time comes from the caller (the injected clock), read once per request.
type recent[V any] struct {
	mu    sync.Mutex
	ttl   time.Duration
	max   int
	byKey map[string]*list.Element
	order *list.List // of *recentEntry[V], oldest first: with one ttl, the expiry order too
}

type recentEntry[V any] struct {
	key string
	at  time.Time
	val V
}

func newRecent[V any](ttl time.Duration, max int) *recent[V] {
	return &recent[V]{ttl: ttl, max: max, byKey: map[string]*list.Element{}, order: list.New()}
}

// add remembers key with v unless it is remembered already: then it
// returns what was remembered and false.
func (r *recent[V]) add(key string, now time.Time, v V) (V, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.expireLocked(now)
	if e, ok := r.byKey[key]; ok {
		return e.Value.(*recentEntry[V]).val, false
	}
	for r.order.Len() >= r.max {
		r.removeLocked(r.order.Front())
	}
	r.byKey[key] = r.order.PushBack(&recentEntry[V]{key: key, at: now, val: v})
	return v, true
}

// forget drops key, so that the next add of it is new again.
func (r *recent[V]) forget(key string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if e, ok := r.byKey[key]; ok {
		r.removeLocked(e)
	}
}

// len is how many keys are remembered.
func (r *recent[V]) len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.order.Len()
}

func (r *recent[V]) expireLocked(now time.Time) {
	for e := r.order.Front(); e != nil; e = r.order.Front() {
		if now.Sub(e.Value.(*recentEntry[V]).at) < r.ttl {
			return
		}
		r.removeLocked(e)
	}
}

func (r *recent[V]) removeLocked(e *list.Element) {
	delete(r.byKey, e.Value.(*recentEntry[V]).key)
	r.order.Remove(e)
}
