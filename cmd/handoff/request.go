package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/handoffbot/handoff/bot/api"
)

const requestAbout = `Request starts a request through a running bot's HTTP API, as any other
system would: the same checks as the Slack form, the token's processes and
scopes, and the reviewers are asked at once by the bot that serves it.
The token comes from HANDOFF_API_TOKEN (handoff token create), never from
a flag, so that it stays out of shell history and process lists.

  request start WORKFLOW --as USER [--set FIELD=VALUE]... [--process P] [--idempotency-key K]

It prints the request's id and status; --json prints the request as the
API returns it. A form error is printed per field, and exits 1.
Give cron a --idempotency-key (such as the date) so a retried run starts
nothing twice.

Settings: HANDOFF_API_TOKEN (required), HANDOFF_API_URL (default
http://localhost:3000).`

// valueFlags collects repeated --set FIELD=VALUE.
type valueFlags map[string]any

func (s valueFlags) String() string { return "" }

func (s valueFlags) Set(v string) error {
	k, val, ok := strings.Cut(v, "=")
	if !ok || k == "" {
		return errors.New("want FIELD=VALUE")
	}
	s[k] = val
	return nil
}

// runRequest is `handoff request start WORKFLOW --as USER --set k=v`.
func runRequest(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("request", "request start WORKFLOW --as USER [--set FIELD=VALUE]... [--process P] [--idempotency-key K] [--json]", requestAbout, stderr)
	as := fs.String("as", "", "the Slack user `id` the request is for (required)")
	process := fs.String("process", "", "the `process`, when the token's processes share the workflow's id")
	key := fs.String("idempotency-key", "", "a `key` that makes a retry return the first call's request")
	asJSON := fs.Bool("json", false, "print the request as JSON")
	url := fs.String("url", envOr("HANDOFF_API_URL", "http://localhost:3000"), "the bot's base `URL`")
	values := valueFlags{}
	fs.Var(values, "set", "a form value, `FIELD=VALUE` (repeat for each field)")
	if len(args) == 0 || args[0] != "start" {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
			fs.Usage()
			return flag.ErrHelp
		}
		fs.Usage()
		return fmt.Errorf("%w: want request start WORKFLOW --as USER", errUsage)
	}
	positional, err := parseInterspersed(fs, args[1:])
	if err != nil {
		return err
	}
	if len(positional) != 1 || *as == "" {
		fs.Usage()
		return fmt.Errorf("%w: want request start WORKFLOW --as USER", errUsage)
	}
	token := os.Getenv("HANDOFF_API_TOKEN")
	if token == "" {
		return errors.New("HANDOFF_API_TOKEN is not set: make a token with handoff token create and export it")
	}
	body, _ := json.Marshal(api.StartBody{Process: *process, Workflow: positional[0], Requester: *as, Values: map[string]any(values)})
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(*url, "/")+api.Prefix+"/requests", bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("--url: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	if *key != "" {
		req.Header.Set("Idempotency-Key", *key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("calling the API at %s: %w", *url, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return fmt.Errorf("reading the API's answer: %w", err)
	}
	if resp.StatusCode >= 300 {
		var p api.Problem
		if json.Unmarshal(raw, &p) != nil || p.Title == "" {
			return fmt.Errorf("the API answered %s", resp.Status)
		}
		msg := p.Title
		if p.Detail != "" {
			msg += ": " + p.Detail
		}
		for _, fe := range p.Errors {
			msg += "\n  " + fe.Field + ": " + fe.Message
		}
		return errors.New(msg)
	}
	if *asJSON {
		_, err := stdout.Write(append(raw, '\n'))
		return err
	}
	var r api.Request
	if err := json.Unmarshal(raw, &r); err != nil {
		return fmt.Errorf("reading the API's answer: %w", err)
	}
	verb := "Started"
	if resp.StatusCode == http.StatusOK {
		verb = "Already started"
	}
	fmt.Fprintf(stdout, "%s %s %s for %s: %s", verb, r.Workflow, r.ID, r.Requester, r.Status)
	if len(r.WaitingOn) > 0 {
		fmt.Fprintf(stdout, ", waiting on %s", strings.Join(r.WaitingOn, ", "))
	}
	fmt.Fprintln(stdout)
	return nil
}
