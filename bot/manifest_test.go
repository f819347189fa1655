package bot_test

import (
	"bytes"
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/dlclark/regexp2"
	"github.com/handoffbot/handoff/bot"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"go.yaml.in/yaml/v3"
)

// The schema is a copy of Slack's (slackapi/manifest-schema, MIT, licence
// beside it), so the test needs nothing outside the repository.
const manifestSchema = "testdata/slack-manifest-schema/manifest.schema.1.0.0.json"

// wantScopes are the bot scopes Handoff uses, no more: commands for /request,
// chat:write for chat.postMessage/update/postEphemeral, im:write for
// conversations.open, users:read for users.info, usergroups:read for group:
// reviewers, and im:history, channels:history and groups:history for
// conversations.history, to find a message posted before a crash.
var wantScopes = []string{"channels:history", "chat:write", "commands", "groups:history", "im:history", "im:write", "usergroups:read", "users:read"}

// manifestParameter is one input or output parameter of a function.
type manifestParameter struct {
	Type       string `yaml:"type"`
	IsRequired bool   `yaml:"is_required"`
}

// manifest is the part of the manifest Handoff relies on.
type manifest struct {
	DisplayInformation struct {
		Name string `yaml:"name"`
	} `yaml:"display_information"`
	Features struct {
		AppHome struct {
			HomeTabEnabled             bool `yaml:"home_tab_enabled"`
			MessagesTabEnabled         bool `yaml:"messages_tab_enabled"`
			MessagesTabReadOnlyEnabled bool `yaml:"messages_tab_read_only_enabled"`
		} `yaml:"app_home"`
		BotUser struct {
			DisplayName string `yaml:"display_name"`
		} `yaml:"bot_user"`
		SlashCommands []struct {
			Command      string `yaml:"command"`
			URL          string `yaml:"url"`
			UsageHint    string `yaml:"usage_hint"`
			ShouldEscape bool   `yaml:"should_escape"`
		} `yaml:"slash_commands"`
	} `yaml:"features"`
	Settings struct {
		Interactivity struct {
			IsEnabled  bool   `yaml:"is_enabled"`
			RequestURL string `yaml:"request_url"`
		} `yaml:"interactivity"`
		EventSubscriptions struct {
			RequestURL string   `yaml:"request_url"`
			BotEvents  []string `yaml:"bot_events"`
		} `yaml:"event_subscriptions"`
		SocketModeEnabled    bool   `yaml:"socket_mode_enabled"`
		TokenRotationEnabled bool   `yaml:"token_rotation_enabled"`
		OrgDeployEnabled     bool   `yaml:"org_deploy_enabled"`
		FunctionRuntime      string `yaml:"function_runtime"`
	} `yaml:"settings"`
	Functions map[string]struct {
		Title            string                       `yaml:"title"`
		InputParameters  map[string]manifestParameter `yaml:"input_parameters"`
		OutputParameters map[string]manifestParameter `yaml:"output_parameters"`
	} `yaml:"functions"`
	OAuthConfig struct {
		Scopes struct {
			Bot []string `yaml:"bot"`
		} `yaml:"scopes"`
	} `yaml:"oauth_config"`
}

func repoRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found above the test directory")
		}
		dir = parent
	}
}

func readManifest(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot(t), "manifest.yml"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// manifestJSON converts manifest YAML to the JSON Slack's schema describes.
func manifestJSON(t *testing.T, y []byte) any {
	t.Helper()
	var doc any
	if err := yaml.Unmarshal(y, &doc); err != nil {
		t.Fatalf("manifest.yml is not YAML: %v", err)
	}
	b, err := json.Marshal(doc)
	if err != nil {
		t.Fatalf("manifest.yml does not convert to JSON: %v", err)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return inst
}

func compileSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	f, err := os.Open(manifestSchema)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		t.Fatalf("decoding %s: %v", manifestSchema, err)
	}
	c := jsonschema.NewCompiler()
	c.UseRegexpEngine(ecmaRegexp)
	if err := c.AddResource("manifest.schema.json", doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile("manifest.schema.json")
	if err != nil {
		t.Fatalf("compiling Slack's manifest schema: %v", err)
	}
	return sch
}

// ecmaRegexp compiles schema patterns as the ECMA-262 regular expressions
// JSON Schema specifies: Slack's schema uses lookaheads, which Go's RE2
// syntax lacks.
func ecmaRegexp(pattern string) (jsonschema.Regexp, error) {
	re, err := regexp2.Compile(pattern, regexp2.ECMAScript)
	if err != nil {
		return nil, err
	}
	return (*ecmaRE)(re), nil
}

type ecmaRE regexp2.Regexp

func (re *ecmaRE) MatchString(s string) bool {
	ok, err := (*regexp2.Regexp)(re).MatchString(s)
	return err == nil && ok
}

func (re *ecmaRE) String() string { return (*regexp2.Regexp)(re).String() }

func TestManifestMatchesSlackSchema(t *testing.T) {
	t.Parallel()
	sch := compileSchema(t)
	if err := sch.Validate(manifestJSON(t, readManifest(t))); err != nil {
		t.Errorf("manifest.yml does not validate against Slack's schema:\n%v", err)
	}
}

// The schema refuses unknown keys and wrong types, so drift fails the test.
func TestManifestSchemaCatchesDrift(t *testing.T) {
	t.Parallel()
	sch := compileSchema(t)
	orig := string(readManifest(t))
	tests := []struct {
		name, old, new string
	}{
		{"misspelled key", "slash_commands:", "slash_comands:"},
		{"misspelled setting", "socket_mode_enabled:", "socketmode_enabled:"},
		{"command without slash", "command: /request", "command: request"},
		{"boolean as text", "is_enabled: true", "is_enabled: \"yes\""},
		{"request url not http", "request_url: https://handoff.example.com/slack/events", "request_url: handoff.example.com/slack/events"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if !strings.Contains(orig, tt.old) {
				t.Fatalf("manifest.yml has no %q to change", tt.old)
			}
			changed := strings.Replace(orig, tt.old, tt.new, 1)
			if err := sch.Validate(manifestJSON(t, []byte(changed))); err == nil {
				t.Errorf("schema accepted the manifest with %q -> %q", tt.old, tt.new)
			}
		})
	}
}

func TestManifestContent(t *testing.T) {
	t.Parallel()
	var m manifest
	dec := yaml.NewDecoder(bytes.NewReader(readManifest(t)))
	if err := dec.Decode(&m); err != nil {
		t.Fatal(err)
	}
	if m.DisplayInformation.Name != "Handoff" || m.Features.BotUser.DisplayName != "Handoff" {
		t.Errorf("names = %q, %q; want Handoff", m.DisplayInformation.Name, m.Features.BotUser.DisplayName)
	}
	if cmds := m.Features.SlashCommands; len(cmds) != 1 || cmds[0].Command != "/request" ||
		!strings.HasSuffix(cmds[0].URL, "/slack/commands") || cmds[0].ShouldEscape || cmds[0].UsageHint == "" {
		t.Errorf("slash commands = %+v; want only /request posting to /slack/commands, unescaped, with a usage hint", cmds)
	}
	if i := m.Settings.Interactivity; !i.IsEnabled || !strings.HasSuffix(i.RequestURL, "/slack/interactivity") {
		t.Errorf("interactivity = %+v", i)
	}
	if e := m.Settings.EventSubscriptions; !slices.Contains(e.BotEvents, "app_home_opened") || !strings.HasSuffix(e.RequestURL, "/slack/events") {
		t.Errorf("event subscriptions = %+v; want app_home_opened to /slack/events", e)
	}
	if h := m.Features.AppHome; !h.HomeTabEnabled || !h.MessagesTabEnabled || h.MessagesTabReadOnlyEnabled {
		t.Errorf("app home = %+v; want home tab, writable messages tab", h)
	}
	// Workflow Builder steps need an org-ready app with remote functions.
	if s := m.Settings; !s.SocketModeEnabled || s.TokenRotationEnabled || !s.OrgDeployEnabled || s.FunctionRuntime != "remote" {
		t.Errorf("settings: socket mode %v, token rotation %v, org deploy %v, function runtime %q; want true, false, true, remote",
			s.SocketModeEnabled, s.TokenRotationEnabled, s.OrgDeployEnabled, s.FunctionRuntime)
	}
	if !slices.Contains(m.Settings.EventSubscriptions.BotEvents, "function_executed") {
		t.Errorf("bot events = %v; want function_executed, for the Workflow Builder step", m.Settings.EventSubscriptions.BotEvents)
	}
	fn, ok := m.Functions[bot.FunctionCallback]
	if !ok || len(m.Functions) != 1 {
		t.Fatalf("functions = %v; want only %s", m.Functions, bot.FunctionCallback)
	}
	params := func(ps map[string]manifestParameter) map[string]string {
		out := map[string]string{}
		for name, p := range ps {
			out[name] = p.Type
		}
		return out
	}
	wantIn := map[string]string{"workflow": "string", "requester": "slack#/types/user_id", "values": "string"}
	if got := params(fn.InputParameters); !maps.Equal(got, wantIn) {
		t.Errorf("%s inputs = %v, want %v", bot.FunctionCallback, got, wantIn)
	}
	// The outputs are what flows.FunctionOutputs makes of a request.
	wantOut := map[string]string{"outcome": "string", "decided_by": "slack#/types/user_id", "reason": "string", "request_id": "string"}
	if got := params(fn.OutputParameters); !maps.Equal(got, wantOut) {
		t.Errorf("%s outputs = %v, want %v", bot.FunctionCallback, got, wantOut)
	}
	for name, p := range fn.OutputParameters {
		if p.IsRequired != (name == "outcome" || name == "request_id") {
			t.Errorf("output %s: is_required = %v; only outcome and request_id are always set", name, p.IsRequired)
		}
	}
	if got := slices.Sorted(slices.Values(m.OAuthConfig.Scopes.Bot)); !slices.Equal(got, wantScopes) {
		t.Errorf("bot scopes = %v, want exactly %v", got, wantScopes)
	}
}

// The copy must follow the schema in ../shared when that is checked out.
func TestManifestSchemaCopyIsCurrent(t *testing.T) {
	t.Parallel()
	shared := filepath.Join(repoRoot(t), "..", "shared", "slack-manifest-schema", "manifest.schema.1.0.0.json")
	want, err := os.ReadFile(shared)
	if os.IsNotExist(err) {
		t.Skipf("%s is not checked out; the copy in testdata is used", shared)
	}
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(manifestSchema)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from %s: copy the new schema (and its LICENSE) into testdata", manifestSchema, shared)
	}
}
