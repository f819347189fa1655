package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/handoffbot/handoff/bot/api"
	"github.com/handoffbot/handoff/flows"
	"github.com/handoffbot/handoff/store"
)

const tokenAbout = `Token makes, lists and revokes the tokens other systems call the HTTP API
(/api/v1, see the README's Integrations section) with.

  token create --name NAME --process PROCESS[,PROCESS] [--scope start,read,cancel,complete]
      makes a token and prints it once, alone on the last line: keep it in
      your secret store; Handoff keeps only its SHA-256. The token sees only
      the requests of its processes.
  token list
      lists the tokens: name, processes, scopes, created, last used, revoked.
  token revoke NAME
      revokes a token at once; calls with it are answered 401.

Settings: MONGODB_URI, MONGODB_DATABASE, HANDOFF_DATA_DIR, HANDOFF_FLOWS.`

// tokenName is what a token's name may be: it shows in logs and the
// history, and keys idempotency records.
var tokenName = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)

// runToken is `handoff token create|list|revoke`.
func runToken(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("token", "token create --name NAME --process PROCESS [--scope start,read,cancel,complete] | token list | token revoke NAME", tokenAbout, stderr)
	name := fs.String("name", "", "the token's `name`, such as erp (create)")
	process := fs.String("process", "", "the `processes` the token may see, comma-separated (create)")
	scope := fs.String("scope", strings.Join(api.Scopes, ","), "what the token may do, comma-separated: start, read, cancel, complete (create)")
	if len(args) == 0 {
		fs.Usage()
		return fmt.Errorf("%w: want create, list or revoke", errUsage)
	}
	sub := args[0]
	if sub == "-h" || sub == "-help" || sub == "--help" || sub == "help" {
		fs.Usage()
		return flag.ErrHelp
	}
	positional, err := parseInterspersed(fs, args[1:])
	if err != nil {
		return err
	}
	var tok store.Token
	switch {
	case sub == "create" && len(positional) == 0:
		if tok, err = tokenToCreate(*name, *process, *scope); err != nil {
			fs.Usage()
			return err
		}
	case sub == "list" && len(positional) == 0:
	case sub == "revoke" && len(positional) == 1:
	default:
		fs.Usage()
		return fmt.Errorf("%w: want token create --name NAME --process PROCESS, token list or token revoke NAME", errUsage)
	}
	cfg, err := loadStoreConfig()
	if err != nil {
		return err
	}
	db, err := openStore(ctx, cfg, forWorking, stderr)
	if err != nil {
		return err
	}
	defer closeStore(db)
	now := time.Now().UTC()
	switch sub {
	case "create":
		return createToken(ctx, db, tok, now, stdout)
	case "list":
		return listTokens(ctx, db, stdout)
	}
	ok, err := db.RevokeToken(ctx, positional[0], now)
	switch {
	case err != nil:
		return err
	case !ok:
		return fmt.Errorf("no token %q that is not revoked already; see handoff token list", positional[0])
	}
	fmt.Fprintf(stdout, "Revoked token %s: calls with it are refused from now on.\n", positional[0])
	return nil
}

// tokenToCreate checks create's flags.
func tokenToCreate(name, process, scope string) (store.Token, error) {
	t := store.Token{Name: name, Processes: splitList(process), Scopes: splitList(scope)}
	switch {
	case !tokenName.MatchString(name):
		return t, fmt.Errorf("%w: --name: want lower-case letters, digits, - and _ (at most 63), like erp", errUsage)
	case len(t.Processes) == 0:
		return t, fmt.Errorf("%w: --process: name the processes the token may see, like --process procurement", errUsage)
	case len(t.Scopes) == 0:
		return t, fmt.Errorf("%w: --scope: give at least one of %s", errUsage, strings.Join(api.Scopes, ", "))
	}
	for _, s := range t.Scopes {
		if !slices.Contains(api.Scopes, s) {
			return t, fmt.Errorf("%w: --scope: %q is not one of %s", errUsage, s, strings.Join(api.Scopes, ", "))
		}
	}
	return t, nil
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" && !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	return out
}

// createToken records t with a new token's hash and prints the token.
func createToken(ctx context.Context, db store.DB, t store.Token, now time.Time, stdout io.Writer) error {
	known, err := db.DefinitionProcesses(ctx)
	if err != nil {
		return err
	}
	if ps, err := loadFlows(flowsSetting(envOr("HANDOFF_FLOWS", "flows"))); err == nil {
		for _, p := range ps {
			known = append(known, p.Name)
		}
	}
	for _, p := range t.Processes {
		if !slices.Contains(known, p) {
			return fmt.Errorf("no process %q in HANDOFF_FLOWS or the store (known: %s)", p, strings.Join(uniq(known), ", "))
		}
	}
	token, hash := api.NewToken()
	t.Hash, t.CreatedAt = hash, now
	if err := db.CreateToken(ctx, t); errors.Is(err, flows.ErrExists) {
		return fmt.Errorf("a token named %s exists already: pick another name, or revoke it and use another", t.Name)
	} else if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Created token %s for %s (scopes %s).\n", t.Name, strings.Join(t.Processes, ", "), strings.Join(t.Scopes, ", "))
	fmt.Fprintln(stdout, "It is shown this once; Handoff keeps only its hash. Send it as Authorization: Bearer <token>.")
	fmt.Fprintln(stdout, token)
	return nil
}

func uniq(s []string) []string {
	slices.Sort(s)
	return slices.Compact(s)
}

// listTokens prints the tokens as a table.
func listTokens(ctx context.Context, db store.DB, stdout io.Writer) error {
	all, err := db.Tokens(ctx)
	if err != nil {
		return err
	}
	if len(all) == 0 {
		fmt.Fprintln(stdout, "No tokens. Make one with handoff token create --name NAME --process PROCESS.")
		return nil
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tPROCESSES\tSCOPES\tCREATED\tLAST USED\tREVOKED")
	for _, t := range all {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", t.Name, strings.Join(t.Processes, ","), strings.Join(t.Scopes, ","),
			when(t.CreatedAt), when(t.LastUsed), when(t.RevokedAt))
	}
	return tw.Flush()
}

func when(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04Z")
}
