package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/kelseyhightower/envconfig"

	"github.com/handoffbot/handoff/bot/fakeslack"
	"github.com/handoffbot/handoff/bot/sandbox"
	"github.com/handoffbot/handoff/flows"
)

// exampleDirectory is the directory file the sandbox reads when
// HANDOFF_DIRECTORY is unset and the file is at hand (running from a
// checkout), so that "manager" steps have someone to go to.
const exampleDirectory = "directory.example.yml"

// runSandbox runs the real bot against a built-in stand-in for Slack, with
// a web page to play everyone's part.
func runSandbox(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("sandbox", "sandbox", "Try Handoff in a browser without a Slack workspace: the real bot, on the embedded store,\n"+
		"answering a built-in stand-in for Slack, with a page on HANDOFF_ADDR (http://localhost:3000/).\n"+
		"`handoff serve` does the same when no Slack setting is given.", stderr)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return errUsage
	}
	var cfg Config
	if err := envconfig.Process("", &cfg); err != nil {
		return err
	}
	if cfg.SlackBotToken != "" || cfg.SlackSigningSecret != "" || cfg.SlackAppToken != "" || cfg.SlackAPIURL != "" {
		fmt.Fprintln(stderr, "sandbox: ignoring the SLACK_* settings: the sandbox talks only to its own stand-in for Slack.")
	}
	return serveSandbox(ctx, cfg, stdout, stderr)
}

// serveSandbox runs the sandbox with cfg's settings other than Slack's until
// ctx ends. Its data lives in a fresh temporary directory unless
// HANDOFF_DATA_DIR names one, so that a trial never mixes with real data.
func serveSandbox(ctx context.Context, cfg Config, stdout, stderr io.Writer) error {
	temporary := false
	if _, set := os.LookupEnv("HANDOFF_DATA_DIR"); !set && cfg.MongoURI == "" {
		temporary = true
		dir, err := os.MkdirTemp("", "handoff-sandbox-")
		if err != nil {
			return fmt.Errorf("making the sandbox's data directory: %w", err)
		}
		defer os.RemoveAll(dir)
		cfg.DataDir = dir
	}
	// Anyone who reaches the page can act as anyone: listen on this machine
	// only, unless told otherwise.
	if _, set := os.LookupEnv("HANDOFF_ADDR"); !set {
		cfg.Addr = "localhost:3000"
	}
	if _, set := os.LookupEnv("MONGODB_DATABASE"); !set {
		cfg.MongoDatabase = "handoff_sandbox"
	}
	if cfg.Directory == "" {
		if _, err := os.Stat(exampleDirectory); err == nil {
			cfg.Directory = exampleDirectory
		}
	}
	log := newLogger(stderr, cfg.LogLevel)
	sb, err := startSandbox(ctx, cfg, time.Now, stderr)
	if err != nil {
		return err
	}
	defer sb.Close()
	fmt.Fprintf(stdout, "Handoff sandbox: the real bot, on the embedded store, answering a built-in stand-in for Slack.\n"+
		"Open %s to try it: pick who you are, type /request purchase, approve as the reviewers.\n"+
		"To connect a real Slack workspace instead, set SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET (or SLACK_APP_TOKEN\n"+
		"for Socket Mode) and run handoff serve: see the README.\n", sb.URL())
	where := "Its data is in " + absolute(cfg.DataDir) + "."
	if temporary {
		where = "Its data is in " + absolute(cfg.DataDir) + " until it stops."
	}
	if cfg.MongoURI != "" {
		where = "Its data is in the MongoDB database " + cfg.MongoDatabase + "."
	}
	fmt.Fprintf(stdout, "%s From another terminal, while it runs (on the real clock; the page's Reports use the sandbox's):\n", where)
	for _, c := range sb.commands {
		fmt.Fprintf(stdout, "  %s\n", c.Line)
	}
	log.Info("sandbox flows", "flows", cfg.Flows, "directory", cfg.Directory, "processes", len(sb.app.lib.Processes()))
	return sb.app.Run(ctx)
}

// sandboxApp is an App wired to the stand-in, with the sandbox page on its
// HTTP server.
type sandboxApp struct {
	app     *App
	slack   *fakeslack.Server
	clock   *sandbox.Clock
	sandbox *sandbox.Sandbox
	// commands read the sandbox's data from the command line.
	commands []sandbox.Command
}

// startSandbox starts the stand-in and an App on it, and serves the page
// next to the bot's own endpoints. now is the real clock. Nothing runs until
// app.Run.
func startSandbox(ctx context.Context, cfg Config, now func() time.Time, stderr io.Writer) (*sandboxApp, error) {
	secret := make([]byte, 16)
	if _, err := rand.Read(secret); err != nil {
		return nil, fmt.Errorf("making a signing secret: %w", err)
	}
	fake := fakeslack.New()
	cfg.SlackBotToken = "xoxb-sandbox"
	cfg.SlackSigningSecret = hex.EncodeToString(secret)
	cfg.SlackAppToken = ""
	cfg.SlackAPIURL = fake.APIURL()
	clock := sandbox.NewClock(now)
	log := newLogger(stderr, cfg.LogLevel)
	app, err := NewApp(ctx, cfg, clock, log, stderr)
	if err != nil {
		fake.Close()
		return nil, err
	}
	dir, err := flows.LoadDirectory(cfg.Directory)
	if err != nil {
		app.Close()
		fake.Close()
		return nil, fmt.Errorf("loading the directory: %w", err)
	}
	commands := sandboxCommands(cfg, processNames(app.lib.Processes()))
	sb := sandbox.New(sandbox.Config{
		Slack:         fake,
		BotURL:        "http://" + loopback(app.listener.Addr()),
		SigningSecret: cfg.SlackSigningSecret,
		Clock:         clock,
		Now:           now,
		Processes:     app.lib.Processes(),
		Directory:     dir,
		AfterAdvance:  dueWork(app),
		Commands:      commands,
		Downloads:     sandboxDownloads(app),
		Logger:        log,
	})
	bot := app.httpServer.Handler
	mux := http.NewServeMux()
	mux.Handle("/slack/", bot)
	mux.Handle("/healthz", bot)
	mux.Handle("/metrics", bot)
	mux.Handle("/api/", bot) // the HTTP API, to try with a token of the sandbox's store
	mux.Handle("/", sb.Handler())
	app.httpServer.Handler = mux
	// The page keeps a state request waiting for news; a shutdown must
	// not wait for it.
	app.httpServer.RegisterOnShutdown(sb.EndPolls)
	return &sandboxApp{app: app, slack: fake, clock: clock, sandbox: sb, commands: commands}, nil
}

func processNames(ps []*flows.Process) []string {
	names := make([]string, len(ps))
	for i, p := range ps {
		names[i] = p.Name
	}
	return names
}

// dueWork is what the sandbox runs after the page moves time forward: the
// reminder jobs that became due (nudges, escalations, the digest), as the
// scheduler would on its next tick.
func dueWork(a *App) func(context.Context) error {
	return a.scheduler.RunDue
}

// URL is where the page is, for people: localhost when the server listens
// on every interface or was asked for localhost.
func (s *sandboxApp) URL() string {
	addr := s.app.listener.Addr().String()
	host, port, err := net.SplitHostPort(addr)
	asked, _, _ := net.SplitHostPort(s.app.cfg.Addr)
	if err == nil && (host == "" || net.ParseIP(host).IsUnspecified() || asked == "localhost") {
		addr = net.JoinHostPort("localhost", port)
	}
	return "http://" + addr + "/"
}

// Close stops the store and the stand-in.
func (s *sandboxApp) Close() {
	s.app.Close()
	s.slack.Close()
}

// loopback is addr with an unspecified host replaced by 127.0.0.1, so the
// sandbox can dial the bot it serves next to.
func loopback(addr net.Addr) string {
	tcp, ok := addr.(*net.TCPAddr)
	if !ok {
		return addr.String()
	}
	ip := tcp.IP
	if ip == nil || ip.IsUnspecified() {
		ip = net.IPv4(127, 0, 0, 1)
	}
	return net.JoinHostPort(ip.String(), fmt.Sprint(tcp.Port))
}
