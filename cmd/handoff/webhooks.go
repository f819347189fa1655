package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/handoffbot/handoff/bot"
	"github.com/handoffbot/handoff/flows"
	"github.com/handoffbot/handoff/store"
)

// webhookHolder names replica's webhook lane in outbox claims: apart from
// its dispatcher, so that neither lane releases the other's claim.
func webhookHolder(replica string) string { return replica + "/webhooks" }

// webhookSecrets reads, once, the variables the processes' webhooks and
// call steps name (secret_env). It returns the secrets by variable name and the names of
// the variables that are unset or empty.
func webhookSecrets(processes []*flows.Process) (secrets map[string]string, unset []string) {
	secrets = map[string]string{}
	read := func(name string) {
		if _, seen := secrets[name]; seen || slices.Contains(unset, name) {
			return
		}
		if v := os.Getenv(name); v != "" {
			secrets[name] = v
		} else {
			unset = append(unset, name)
		}
	}
	for _, p := range processes {
		for _, h := range p.Webhooks {
			read(h.SecretEnv)
		}
		for _, w := range p.Workflows {
			for _, s := range w.Steps {
				if s.Call != nil {
					read(s.Call.SecretEnv)
				}
			}
		}
	}
	return secrets, unset
}

func newWebhookSender(cfg Config, db store.DB, svc *flows.Service, clock flows.Clock, log *slog.Logger, m *bot.Metrics, replica string, processes []*flows.Process) *bot.WebhookSender {
	secrets, unset := webhookSecrets(processes)
	wcfg := bot.WebhookConfig{
		Store: db, Service: svc, Clock: clock, Logger: log, Metrics: m,
		Holder: webhookHolder(replica), Secrets: secrets, GiveUpAfter: cfg.WebhookGiveUp, ScanEvery: cfg.outboxScan,
	}
	if cfg.tuneWebhooks != nil {
		cfg.tuneWebhooks(&wcfg)
	}
	for _, name := range unset {
		if wcfg.Secrets[name] == "" {
			// Named, never shown: the events wait in the outbox, and fail
			// after HANDOFF_WEBHOOK_GIVE_UP, until it is set and Handoff
			// restarted.
			log.Error("a webhook's secret variable is not set; its events cannot be signed and wait", "secret_env", name)
		}
	}
	return bot.NewWebhookSender(wcfg)
}

// warnWebhookSecrets is check's note on the webhooks whose secret
// variable is not set here.
func warnWebhookSecrets(stdout io.Writer, procs []*flows.Process) {
	_, unset := webhookSecrets(procs)
	for _, name := range unset {
		fmt.Fprintf(stdout, "note: %s is not set in this environment, so webhooks signed with it would not be sent; set it where `handoff serve` runs\n", name)
	}
}

const webhooksAbout = `A webhook event that a receiver refused (a 4xx other than 408 and 429), or
that still failed when HANDOFF_WEBHOOK_GIVE_UP (24h) of retries ran out, is
recorded on its request as failed. "webhooks failed" lists them;
"webhooks redeliver ID" sends one again, with the same event id and
payload, through the outbox of the running serve (within its scan, 10 s).`

func runWebhooks(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("webhooks", "webhooks failed [--process NAME] | webhooks redeliver EVENT_ID", webhooksAbout, stderr)
	process := fs.String("process", "", "only this process (failed)")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	switch {
	case len(pos) == 1 && pos[0] == "failed":
		db, err := openForReading(ctx, stderr)
		if err != nil {
			return err
		}
		defer closeStore(db)
		return listFailedWebhooks(ctx, db, *process, stdout)
	case len(pos) == 2 && pos[0] == "redeliver":
		sc, err := loadStoreConfig()
		if err != nil {
			return err
		}
		db, err := openStore(ctx, sc, forWorking, stderr)
		if err != nil {
			return err
		}
		defer closeStore(db)
		return redeliverWebhook(ctx, db, pos[1], stdout)
	}
	fs.Usage()
	return fmt.Errorf("%w: want `webhooks failed` or `webhooks redeliver EVENT_ID`", errUsage)
}

// listFailedWebhooks prints the failed webhook events, oldest request first.
func listFailedWebhooks(ctx context.Context, db store.DB, process string, stdout io.Writer) error {
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "EVENT ID\tEVENT\tREQUEST\tFAILED AT\tERROR\tREASON")
	n := 0
	for in, err := range db.Stream(ctx, store.StreamFilter{Process: process}) {
		if err != nil {
			return fmt.Errorf("listing failed webhook events: %w", err)
		}
		for _, f := range in.WebhookFailures() {
			n++
			fmt.Fprintf(tw, "%s\t%s\t%s/%s %s\t%s\t%s\t%s\n", f.Key, f.Note, in.Process, in.Workflow, in.ID,
				f.At.UTC().Format(time.RFC3339), f.Code, f.Reason)
		}
	}
	if n == 0 {
		fmt.Fprintln(stdout, "no failed webhook events")
		return nil
	}
	return tw.Flush()
}

// redeliverWebhook queues failed webhook event eventID again.
func redeliverWebhook(ctx context.Context, db store.DB, eventID string, stdout io.Writer) error {
	i := strings.LastIndexByte(eventID, '.')
	if i <= 0 {
		return fmt.Errorf("%w: %q is not a webhook event id; `handoff webhooks failed` lists them (like 7QK2M9XH1A.e12)", errUsage, eventID)
	}
	svc := flows.NewService(db, flows.NewLibrary(nil, db), nil, flows.ClockFunc(time.Now))
	in, err := svc.RedeliverWebhook(ctx, eventID[:i], eventID)
	if err != nil {
		return fmt.Errorf("redelivering webhook event %s: %w", eventID, err)
	}
	fmt.Fprintf(stdout, "webhook event %s of %s/%s %s is queued again; the running serve sends it within its outbox scan\n", eventID, in.Process, in.Workflow, in.ID)
	return nil
}

// onlyWebhooksLeft reports whether the outboxes of ids hold webhook events
// only: shutdown does not wait for a receiver, which may be down for
// hours; the next start sends them.
func onlyWebhooksLeft(ctx context.Context, db store.DB, ids []string) bool {
	for _, id := range ids {
		in, err := db.Instance(ctx, id)
		if err != nil {
			return false
		}
		for _, e := range in.Outbox {
			if e.Kind != flows.EffectWebhook {
				return false
			}
		}
	}
	return true
}
