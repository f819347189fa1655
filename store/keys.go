package store

import (
	"errors"
	"fmt"
	"regexp"

	"github.com/handoffbot/handoff/flows"
)

// safeKey is what a store accepts as a key it writes into a path or a
// stored map ("outbox.<effect id>", "messages.<key>", a claim key, a form
// field id): no dots, which MongoDB reads as a path, no leading $, which it
// reads as an operator, and no quotes, which would end a SQLite JSON path.
// Effect ids ("e1"), message keys ("review:manager:1:U0FIN1"), claim keys
// ("digest:procurement:2025-01-31") and form field ids all fit.
var safeKey = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_:\-]{0,199}$`)

// CheckKey refuses a key that is not safe to write (see safeKey) before the
// database sees it; what names the kind of key for the message.
func CheckKey(what, key string) error {
	if !safeKey.MatchString(key) {
		return fmt.Errorf("%s %s: want letters, digits, _, : or - (no dots, no leading $, at most 200)", what, Quote(key))
	}
	return nil
}

// CheckInstance refuses an instance the store could not write safely: no
// id, or a form field, effect or message key that CheckKey refuses, or an
// effect kept under another id than its own.
func CheckInstance(in *flows.Instance) error {
	if in.ID == "" {
		return errors.New("instance has no id")
	}
	for k := range in.Values {
		if err := CheckKey("form field", k); err != nil {
			return err
		}
	}
	for k, e := range in.Outbox {
		if err := CheckKey("effect id", k); err != nil {
			return err
		}
		if e.ID != k {
			return fmt.Errorf("effect %s is kept under %s", Quote(e.ID), Quote(k))
		}
	}
	for k := range in.Messages {
		if err := CheckKey("message key", k); err != nil {
			return err
		}
	}
	return nil
}

// Quote quotes s for a message, cut to a readable length: a refused key may
// be anything a client sent.
func Quote(s string) string {
	const max = 40
	if len(s) > max {
		return fmt.Sprintf("%q...", s[:max])
	}
	return fmt.Sprintf("%q", s)
}
