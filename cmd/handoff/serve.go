package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/kelseyhightower/envconfig"
	"github.com/slack-go/slack"

	"github.com/handoffbot/handoff/bot"
	"github.com/handoffbot/handoff/flows"
	"github.com/handoffbot/handoff/reminders"
	"github.com/handoffbot/handoff/store"
)

// Config is every setting of `handoff serve`, read from the environment.
// The README's configuration table lists the same.
type Config struct {
	Addr      string `envconfig:"HANDOFF_ADDR" default:":3000"`
	Flows     string `envconfig:"HANDOFF_FLOWS" default:"flows"`
	Directory string `envconfig:"HANDOFF_DIRECTORY"`
	LogLevel  string `envconfig:"HANDOFF_LOG_LEVEL" default:"info"`
	// Replica names this process in delivery claims and leases; the host
	// name by default, so that a restart on the same host is the same
	// replica (see replicaName).
	Replica string `envconfig:"HANDOFF_REPLICA"`

	// StoreConfig: HANDOFF_DATA_DIR, MONGODB_URI, MONGODB_DATABASE.
	StoreConfig

	SlackBotToken      string `envconfig:"SLACK_BOT_TOKEN"`
	SlackSigningSecret string `envconfig:"SLACK_SIGNING_SECRET"`
	SlackAppToken      string `envconfig:"SLACK_APP_TOKEN"`
	SlackAPIURL        string `envconfig:"SLACK_API_URL"`

	// Reminders: how often nudges and escalations are looked for, and when
	// (in which timezone) the overdue digest goes out.
	ScanEvery  time.Duration `envconfig:"HANDOFF_SCAN_EVERY" default:"1m"`
	DigestCron string        `envconfig:"HANDOFF_DIGEST_CRON" default:"0 9 * * 1-5"`
	Timezone   string        `envconfig:"HANDOFF_TIMEZONE" default:"UTC"`

	// WebhookGiveUp is how long a webhook event is retried before it is
	// recorded as failed (see `handoff webhooks failed`).
	WebhookGiveUp time.Duration `envconfig:"HANDOFF_WEBHOOK_GIVE_UP" default:"24h"`

	// pacing replaces Slack's rate-limit pacing (tests); nil paces to
	// Slack's tiers.
	pacing *bot.Pacer
	// outboxScan replaces how often the outbox is scanned for effects
	// nobody kicked (tests); zero keeps the dispatcher's default.
	outboxScan time.Duration
	// sharedFile lets a second App serve the same embedded file, which
	// serve refuses: tests of several replicas, which in production need
	// MongoDB, run on SQLite's transactions this way.
	sharedFile bool
	// tuneDispatcher changes the dispatcher's settings (tests: short
	// claims, backoffs and token probes); nil keeps them.
	tuneDispatcher func(*bot.DispatcherConfig)
	// tuneWebhooks changes the webhook lane's settings (tests); nil keeps
	// them.
	tuneWebhooks func(*bot.WebhookConfig)
	// wrapStore wraps the opened store (tests: a store that fails or
	// stalls); nil uses it as it is.
	wrapStore func(store.DB) store.DB
	// ackBudget replaces how long a request waits for its save before
	// Slack is answered anyway (tests); zero keeps the bot's default.
	ackBudget time.Duration
}

// loadConfig reads the environment and says, naming each, which required
// settings are missing.
func loadConfig() (Config, error) {
	var c Config
	if err := envconfig.Process("", &c); err != nil {
		return c, err
	}
	return c, c.check()
}

// errNoSlack says that no Slack setting is given at all: serve runs the
// sandbox then (sandbox.go).
var errNoSlack = errors.New("no Slack settings")

func (c Config) check() error {
	if c.SlackBotToken == "" && c.SlackSigningSecret == "" && c.SlackAppToken == "" && c.SlackAPIURL == "" {
		return errNoSlack
	}
	var missing []string
	if c.SlackBotToken == "" {
		missing = append(missing, "SLACK_BOT_TOKEN (the Bot User OAuth Token, xoxb-…)")
	}
	if c.SlackAppToken == "" && c.SlackSigningSecret == "" {
		missing = append(missing, "SLACK_SIGNING_SECRET (Basic Information → Signing Secret), or SLACK_APP_TOKEN (xapp-…) for Socket Mode")
	}
	if c.SlackAppToken != "" && !strings.HasPrefix(c.SlackAppToken, "xapp-") {
		return errors.New("SLACK_APP_TOKEN must be an app-level token starting with xapp-")
	}
	if len(missing) > 0 {
		return fmt.Errorf("missing settings:\n  %s\nSee the README's configuration table", strings.Join(missing, "\n  "))
	}
	return nil
}

// runServe runs the bot until it is interrupted.
func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("serve", "serve", "Run the bot: Slack endpoints on HANDOFF_ADDR (or Socket Mode), reminders, and the outbox.\nSettings come from the environment; see the README.", stderr)
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := loadConfig()
	if errors.Is(err, errNoSlack) {
		return serveSandbox(ctx, cfg, stdout, stderr)
	}
	if err != nil {
		return err
	}
	log := newLogger(stderr, cfg.LogLevel)
	app, err := NewApp(ctx, cfg, flows.ClockFunc(time.Now), log, stderr)
	if err != nil {
		return err
	}
	defer app.Close()
	return app.Run(ctx)
}

func newLogger(w io.Writer, level string) *slog.Logger {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		l = slog.LevelInfo
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l}))
}

// App is a running Handoff: store, Slack adapter, outbox dispatcher and
// HTTP server, wired. Tests start one on port 0.
type App struct {
	cfg        Config
	log        *slog.Logger
	db         store.DB
	lib        *flows.Library
	svc        *flows.Service
	server     *bot.Server
	dispatcher *bot.Dispatcher
	webhooks   *bot.WebhookSender
	listener   net.Listener
	httpServer *http.Server
	socket     *bot.Socket
	scheduler  *reminders.Scheduler

	closeOnce sync.Once
}

// NewApp opens the store, loads and records the flows, and listens on
// cfg.Addr. Nothing runs until Run.
func NewApp(ctx context.Context, cfg Config, clock flows.Clock, log *slog.Logger, stderr io.Writer) (*App, error) {
	processes, err := loadFlows(flowsSetting(cfg.Flows))
	if err != nil {
		return nil, err
	}
	dirFile, err := loadDirectoryFile(directorySetting("HANDOFF_DIRECTORY", cfg.Directory))
	if err != nil {
		return nil, err
	}
	mode := forServing
	if cfg.sharedFile {
		mode = forSharing
	}
	db, err := openStore(ctx, cfg.StoreConfig, mode, stderr)
	if err != nil {
		return nil, err
	}
	if cfg.wrapStore != nil {
		db = cfg.wrapStore(db)
	}
	a := &App{cfg: cfg, log: log, db: db}
	if err := a.recordVersions(ctx, processes, clock.Now()); err != nil {
		a.Close()
		return nil, err
	}
	a.lib = flows.NewLibrary(processes, db)

	replica := replicaName(cfg.Replica)
	if cfg.MongoURI != "" && !cfg.sharedFile {
		// A replica restarting under its own name takes back the
		// delivery claims it held when it died, instead of leaving its
		// messages for five minutes. (The embedded store's serve took
		// back every claim when it locked the file.)
		n, err := db.ReleaseClaims(ctx, replica)
		if err == nil {
			_, err = db.ReleaseClaims(ctx, webhookHolder(replica))
		}
		if err != nil {
			a.Close()
			return nil, fmt.Errorf("taking back the delivery claims of replica %s: %w", replica, err)
		}
		if n > 0 {
			log.Info("took back the delivery claims of this replica's previous run", "replica", replica, "instances", n)
		}
	}
	api := slack.New(cfg.SlackBotToken, slackOptions(cfg)...)
	dir := bot.NewDirectory(dirFile, api, clock, 5*time.Minute)
	svc := flows.NewService(db, a.lib, dir, clock)
	svc.UseAbsences(db)
	a.svc = svc
	metrics := bot.NewMetrics()
	dcfg := bot.DispatcherConfig{
		Store: db, Service: svc, Slack: api, Clock: clock, Logger: log, Metrics: metrics, Holder: replica,
		Pacing: cfg.pacing, Homes: db, ScanEvery: cfg.outboxScan,
	}
	a.webhooks = newWebhookSender(cfg, db, svc, clock, log, metrics, replica, processes)
	dcfg.Webhooks = a.webhooks
	if cfg.tuneDispatcher != nil {
		cfg.tuneDispatcher(&dcfg)
	}
	a.dispatcher = bot.NewDispatcher(dcfg)
	a.webhooks.UseDispatcher(a.dispatcher)
	a.server = bot.NewServer(bot.Config{
		SigningSecret: cfg.SlackSigningSecret, Service: svc, Slack: api, Dispatcher: a.dispatcher, Store: db,
		Clock: clock, Logger: log, Metrics: metrics, Health: db.Ping, Homes: db, AckBudget: cfg.ackBudget,
	})
	a.scheduler, err = newScheduler(cfg, db, a.lib, svc, digestSender(a.dispatcher), clock, log, replica, a.dispatcher.KickLater)
	if err != nil {
		a.Close()
		return nil, err
	}
	if cfg.SlackAppToken != "" {
		a.socket = bot.NewSocket(a.server, cfg.SlackAppToken, cfg.SlackBotToken, slackOptions(cfg)...)
	}
	a.listener, err = net.Listen("tcp", cfg.Addr)
	if err != nil {
		a.Close()
		return nil, fmt.Errorf("listening on HANDOFF_ADDR=%s: %w", cfg.Addr, err)
	}
	a.httpServer = &http.Server{
		Handler:           withAPI(a.server.Handler(), newAPI(db, svc, clock, a)),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	return a, nil
}

func slackOptions(cfg Config) []slack.Option {
	opts := []slack.Option{slack.OptionHTTPClient(&http.Client{Timeout: 15 * time.Second})}
	if cfg.SlackAPIURL != "" {
		u := cfg.SlackAPIURL
		if !strings.HasSuffix(u, "/") {
			u += "/"
		}
		opts = append(opts, slack.OptionAPIURL(u))
	}
	return opts
}

// recordVersions stores each process file's content as a definition version
// when it is new, notes the version on the process, and records it as in
// force from now when it is not already (a new file, or a rollback to an
// earlier one), for `handoff flows show --at`.
func (a *App) recordVersions(ctx context.Context, processes []*flows.Process, now time.Time) error {
	for _, p := range processes {
		v, created, err := a.db.RecordDefinition(ctx, p, now)
		if err != nil {
			return fmt.Errorf("recording the definition of %s: %w", p.Name, err)
		}
		p.Version = v
		if created {
			a.log.Info("recorded a new definition version", "process", p.Name, "version", v, "hash", p.Source.Hash)
		}
		activated, err := a.db.RecordActivation(ctx, p.Name, v, now)
		if err != nil {
			return fmt.Errorf("recording the definition of %s: %w", p.Name, err)
		}
		if activated && !created {
			// A rollback, or the first start that records activations.
			a.log.Info("recorded the definition version in force", "process", p.Name, "version", v)
		}
	}
	return nil
}

// Addr is the address the HTTP server listens on.
func (a *App) Addr() string { return a.listener.Addr().String() }

// shutdownTimeout bounds a graceful shutdown: finishing the requests in
// flight, the saves that outlived their answer, and the delivery of what
// the outbox holds. What is not delivered by then stays in the outbox for
// the next start; nothing acknowledged is lost either way.
const shutdownTimeout = 10 * time.Second

// Run serves until ctx ends, then shuts down gracefully, in the order that
// keeps what people did: it stops taking requests (HTTP and Socket Mode) and
// starting reminders, lets the requests in flight finish their saves (they
// save on contexts of their own, which shutdown does not cancel), waits for
// the work they left running, and lets the dispatcher deliver what is
// queued, all within shutdownTimeout.
func (a *App) Run(ctx context.Context) error {
	// Each part stops on its own context, in turn, whatever ctx does.
	intake, stopIntake := context.WithCancel(context.WithoutCancel(ctx))
	defer stopIntake()
	outbox, stopOutbox := context.WithCancel(context.WithoutCancel(ctx))
	defer stopOutbox()
	var intakeDone, outboxDone sync.WaitGroup
	outboxDone.Add(1)
	go func() {
		defer outboxDone.Done()
		a.dispatcher.Run(outbox)
	}()
	outboxDone.Add(1)
	go func() {
		defer outboxDone.Done()
		a.webhooks.Run(outbox)
	}()
	intakeDone.Add(1)
	go func() {
		defer intakeDone.Done()
		a.scheduler.Run(intake)
	}()
	errc := make(chan error, 2)
	if a.socket != nil {
		intakeDone.Add(1)
		go func() {
			defer intakeDone.Done()
			if err := a.socket.Run(intake); err != nil && intake.Err() == nil {
				errc <- fmt.Errorf("socket mode: %w", err)
			}
		}()
	}
	go func() {
		if err := a.httpServer.Serve(a.listener); !errors.Is(err, http.ErrServerClosed) {
			errc <- err
		}
	}()
	mode := "HTTP request URLs on /slack/commands, /slack/interactivity, /slack/events"
	if a.socket != nil {
		mode = "Socket Mode"
	}
	a.log.Info("handoff is running", "addr", a.Addr(), "slack", mode, "processes", len(a.lib.Processes()))
	var err error
	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	a.shutdown(stopIntake, &intakeDone, stopOutbox, &outboxDone)
	return err
}

// shutdown is Run's graceful end; see Run for the order.
func (a *App) shutdown(stopIntake func(), intakeDone *sync.WaitGroup, stopOutbox func(), outboxDone *sync.WaitGroup) {
	began := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	stopIntake()
	// No new connections; the handlers in flight finish, saves included.
	if err := a.httpServer.Shutdown(ctx); err != nil {
		a.log.Warn("requests still running at the shutdown deadline", "err", err)
		a.httpServer.Close()
	}
	intakeDone.Wait()
	if err := a.server.Shutdown(ctx); err != nil {
		a.log.Warn("work after requests still running at the shutdown deadline", "err", err)
	}
	if left := a.drain(ctx); left > 0 {
		a.log.Info("left undelivered messages for the next start", "instances", left)
	}
	stopOutbox()
	outboxDone.Wait()
	a.log.Info("handoff stopped", "took", time.Since(began).Round(time.Millisecond))
}

// drain waits, until ctx ends, for the dispatcher to deliver what the
// outbox holds, and returns how many instances still hold effects. It
// watches the store, the dispatcher's own record of what is left.
func (a *App) drain(ctx context.Context) int {
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for {
		ids, err := a.db.Undelivered(ctx, 100)
		if err == nil && (len(ids) == 0 || onlyWebhooksLeft(ctx, a.db, ids)) {
			return 0
		}
		select {
		case <-ctx.Done():
			if err != nil {
				return 0 // the store does not answer: nothing to wait for
			}
			return len(ids)
		case <-t.C:
		}
	}
}

// Close releases the store. It is safe to call more than once.
func (a *App) Close() {
	a.closeOnce.Do(func() {
		if a.listener != nil {
			a.listener.Close()
		}
		if a.db != nil {
			closeStore(a.db)
		}
	})
}

// replicaName is the name this process holds claims and leases under: the
// configured one, else the host name, which stays the same across restarts
// so that a restarted replica knows its own claims (several replicas on one
// host must each set HANDOFF_REPLICA).
func replicaName(configured string) string {
	if configured != "" {
		return configured
	}
	if host, err := os.Hostname(); err == nil && host != "" {
		return host
	}
	return "handoff"
}
