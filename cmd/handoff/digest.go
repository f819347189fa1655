package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/kelseyhightower/envconfig"
	"github.com/slack-go/slack"

	"github.com/handoffbot/handoff/bot"
	"github.com/handoffbot/handoff/flows"
)

const digestAbout = `Digest builds the overdue digest now and sends it once: to each process
channel, the overdue requests by step, the longest queues and the slowest
step; to each reviewer with overdue requests, a direct message listing them
with their buttons. It is the message ` + "`handoff serve`" + ` sends on
HANDOFF_DIGEST_CRON; sending it here does not count as that day's digest.

With --dry-run it prints the messages instead, and needs no Slack token.
Settings: HANDOFF_FLOWS, MONGODB_URI, MONGODB_DATABASE, HANDOFF_DATA_DIR,
SLACK_BOT_TOKEN and SLACK_API_URL, as for serve.`

// digestTimeout bounds the command: starting the store, streaming every
// overdue request, and paced posts.
const digestTimeout = 10 * time.Minute

// runDigest is `handoff digest [--dry-run]`.
func runDigest(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("digest", "digest [--dry-run]", digestAbout, stderr)
	dry := fs.Bool("dry-run", false, "print the digest instead of sending it")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage // flag has printed the error and the usage
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return fmt.Errorf("%w: unexpected %q", errUsage, fs.Arg(0))
	}
	var cfg Config
	if err := envconfig.Process("", &cfg); err != nil {
		return err
	}
	if !*dry && cfg.SlackBotToken == "" {
		return errors.New("missing SLACK_BOT_TOKEN (the Bot User OAuth Token, xoxb-…); use --dry-run to print the digest without Slack")
	}
	processes, err := loadFlows(flowsSetting(cfg.Flows))
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, digestTimeout)
	defer cancel()
	db, err := openStore(ctx, cfg.StoreConfig, forWorking, stderr)
	if err != nil {
		return err
	}
	defer closeStore(db)
	// Versions stay unset: each instance's definition is read from the
	// archive by the version it runs on, and nothing is recorded.
	lib := flows.NewLibrary(processes, db)
	log := newLogger(stderr, cfg.LogLevel)

	var sender flows.DigestSender = bot.DigestPrinter{W: stdout}
	if !*dry {
		api := slack.New(cfg.SlackBotToken, slackOptions(cfg)...)
		sender = bot.NewDispatcher(bot.DispatcherConfig{Slack: api, Logger: log, Clock: flows.ClockFunc(time.Now)}).Digests()
	}
	s, err := newScheduler(cfg, db, lib, nil, nil, flows.ClockFunc(time.Now), slog.New(slog.DiscardHandler), "digest-command", nil)
	if err != nil {
		return err
	}
	d, err := s.SendDigest(ctx, sender)
	if d != nil {
		verb := "sent to"
		if *dry {
			verb = "would go to"
		}
		fmt.Fprintf(stderr, "digest: %d overdue %s; %s %d %s and %d %s\n",
			d.Overdue, plural(d.Overdue, "request", "requests"), verb,
			channels(d), plural(channels(d), "channel", "channels"),
			len(d.Reviewers), plural(len(d.Reviewers), "reviewer", "reviewers"))
	}
	return err
}

// channels counts the processes of d that have a channel to send to.
func channels(d *flows.Digest) int {
	n := 0
	for _, p := range d.Processes {
		if p.Channel != "" {
			n++
		}
	}
	return n
}
