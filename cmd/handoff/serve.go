package main

import (
	"context"
	"fmt"
	"io"
)

// runServe runs the bot. A placeholder until the Slack adapter lands.
func runServe(_ context.Context, _ []string, _, stderr io.Writer) error {
	fmt.Fprintln(stderr, "serve: not implemented yet")
	return errSilent
}
