package flows

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"
)

// Absence says that User is away and who stands in for them. Until is the
// first instant they are back; the zero time means "until /request back".
type Absence struct {
	User     string    `bson:"_id" json:"id"`
	Delegate string    `bson:"delegate" json:"delegate"`
	Until    time.Time `bson:"until,omitempty" json:"until,omitzero"`
	SetAt    time.Time `bson:"set_at" json:"set_at"`
}

// ActiveAt reports whether the absence holds at now.
func (a *Absence) ActiveAt(now time.Time) bool {
	return a != nil && a.Delegate != "" && (a.Until.IsZero() || now.Before(a.Until))
}

// Absences keeps who is away. The Service reads it when it resolves
// reviewers and reminders; the bot writes it through the Service.
type Absences interface {
	// Absence returns user's recorded absence, or nil when there is none.
	// An absence whose Until has passed may still be returned; the Service
	// checks it against its clock.
	Absence(ctx context.Context, user string) (*Absence, error)
	// SetAbsence records a, replacing the user's earlier absence.
	SetAbsence(ctx context.Context, a Absence) error
	// ClearAbsence removes user's absence and reports whether there was one.
	ClearAbsence(ctx context.Context, user string) (bool, error)
}

// MaxDelegationHops bounds how far a chain of absences is followed: Ann away
// to Bob, Bob away to Cy, Cy away to Dee ends at Dee however the chain goes
// on.
const MaxDelegationHops = 3

// ErrSelfDelegation: someone named themselves as their own delegate.
var ErrSelfDelegation = errors.New("cannot delegate to yourself")

// ErrPastDate: an absence that would end before it starts.
var ErrPastDate = errors.New("the end of the absence has passed")

// delegate returns who acts for user at now: user themselves when they are
// not away, else the end of the chain of delegates. The chain is followed at
// most MaxDelegationHops, and it stops before anyone it has met already (a
// loop) and before the requester, who may not review their own request: in
// both cases the last person reached keeps the work. OnBehalfOf is the
// reviewer who was asked in the first place, set only when someone else
// acts.
func delegate(ctx context.Context, abs Absences, user, requester string, now time.Time) (Assignee, error) {
	out := Assignee{User: user}
	if abs == nil || user == "" {
		return out, nil
	}
	chain := []string{user}
	cur := user
	for range MaxDelegationHops {
		a, err := abs.Absence(ctx, cur)
		if err != nil {
			return Assignee{}, fmt.Errorf("looking up whether %s is away: %w", cur, err)
		}
		if !a.ActiveAt(now) || slices.Contains(chain, a.Delegate) || a.Delegate == requester {
			break
		}
		cur = a.Delegate
		chain = append(chain, cur)
	}
	if cur != user {
		out = Assignee{User: cur, OnBehalfOf: user}
	}
	return out, nil
}

// delegateAll maps each assignee through delegate, keeping the first
// assignment of anyone named twice (a reviewer who is also another's
// delegate is asked once, for themselves).
func delegateAll(ctx context.Context, abs Absences, in []Assignee, requester string, now time.Time) ([]Assignee, error) {
	if abs == nil {
		return in, nil
	}
	out := make([]Assignee, 0, len(in))
	for _, a := range in {
		d, err := delegate(ctx, abs, a.User, requester, now)
		if err != nil {
			return nil, err
		}
		if slices.ContainsFunc(out, func(o Assignee) bool { return o.User == d.User }) {
			continue
		}
		out = append(out, d)
	}
	return out, nil
}

// SetAway records that user is away until until (zero: until they say they
// are back), and that delegate acts for them meanwhile.
func (s *Service) SetAway(ctx context.Context, user, delegate string, until time.Time) (Absence, error) {
	if s.absences == nil {
		return Absence{}, errors.New("setting an absence: no absence store configured")
	}
	now := s.clock.Now().UTC()
	switch {
	case delegate == "" || user == "":
		return Absence{}, fmt.Errorf("setting an absence: %w: whom to delegate to?", ErrWrongAction)
	case delegate == user:
		return Absence{}, ErrSelfDelegation
	case !until.IsZero() && !until.After(now):
		return Absence{}, ErrPastDate
	}
	a := Absence{User: user, Delegate: delegate, Until: until.UTC(), SetAt: now}
	if err := s.absences.SetAbsence(ctx, a); err != nil {
		return Absence{}, fmt.Errorf("setting the absence of %s: %w", user, err)
	}
	return a, nil
}

// Back ends user's absence and reports whether they were away.
func (s *Service) Back(ctx context.Context, user string) (bool, error) {
	if s.absences == nil {
		return false, nil
	}
	ok, err := s.absences.ClearAbsence(ctx, user)
	if err != nil {
		return false, fmt.Errorf("ending the absence of %s: %w", user, err)
	}
	return ok, nil
}

// Away returns user's absence if it holds now, else nil.
func (s *Service) Away(ctx context.Context, user string) (*Absence, error) {
	if s.absences == nil {
		return nil, nil
	}
	a, err := s.absences.Absence(ctx, user)
	if err != nil {
		return nil, fmt.Errorf("looking up whether %s is away: %w", user, err)
	}
	if !a.ActiveAt(s.clock.Now()) {
		return nil, nil
	}
	return a, nil
}
