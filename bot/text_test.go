package bot

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func TestEscape(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"<!channel>", "&lt;!channel&gt;"},
		{"<https://evil.example|invoice>", "&lt;https://evil.example|invoice&gt;"},
		{"R&D > ops", "R&amp;D &gt; ops"},
		{"plain *bold* text", "plain \u2217bold\u2217 text"},
		{"_x_ ~x~ `x` ```pre```", "\u02cdx\u02cd \u223cx\u223c \u02cbx\u02cb \u02cb\u02cb\u02cbpre\u02cb\u02cb\u02cb"},
		{"PO_2291 *urgent*", "PO\u02cd2291 \u2217urgent\u2217"},
	}
	for _, tt := range tests {
		if got := escape(tt.in); got != tt.want {
			t.Errorf("escape(%q) = %q; want %q", tt.in, got, tt.want)
		}
	}
}

func TestTruncate(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("é", 5000)
	if got := truncate(long, 3000); utf8.RuneCountInString(got) != 3000 || !strings.HasSuffix(got, "…") {
		t.Errorf("truncate to 3000 gave %d runes ending %q; want 3000 ending with an ellipsis", utf8.RuneCountInString(got), got[len(got)-3:])
	}
	if got := truncate("short", 10); got != "short" {
		t.Errorf("truncate(short) = %q", got)
	}
	// Never leave half an escape sequence behind.
	if got := truncate(escape(strings.Repeat("a", 8)+"<b"), 12); strings.Contains(got, "&l…") || strings.Contains(got, "&lt…") {
		t.Errorf("truncate cut an escape in half: %q", got)
	}
	// A raw '&' is text like any other.
	if got, want := truncate("Q&A session for the whole team", 12), "Q&A session…"; got != want {
		t.Errorf("truncate(raw &) = %q, want %q", got, want)
	}
}

func TestHumanize(t *testing.T) {
	t.Parallel()
	tests := []struct {
		d    time.Duration
		want string
	}{
		{30 * time.Second, "less than a minute"},
		{time.Minute, "1 minute"},
		{45 * time.Minute, "45 minutes"},
		{5 * time.Hour, "5 hours"},
		{47 * time.Hour, "47 hours"},
		{50 * time.Hour, "2 days"},
	}
	for _, tt := range tests {
		if got := humanize(tt.d); got != tt.want {
			t.Errorf("humanize(%v) = %q; want %q", tt.d, got, tt.want)
		}
	}
}

func TestNumber(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{"5000": "5,000", "1234567.5": "1,234,567.5", "999": "999", "-12500": "-12,500", "x": "x"} {
		if got := number(in); got != want {
			t.Errorf("number(%q) = %q; want %q", in, got, want)
		}
	}
}

func TestParseTarget(t *testing.T) {
	t.Parallel()
	good := target{Instance: "H8Q7P8AH6P", Step: "manager", Round: 2}
	if got, err := parseTarget(good.String()); err != nil || got != good {
		t.Errorf("round trip of %v: %v, %v", good, got, err)
	}
	for _, bad := range []string{"", "a:b", "a:b:c", "a:b:-1", ":b:1", "a::1", "a:b:1:x", strings.Repeat("a", 400) + ":b:1"} {
		if _, err := parseTarget(bad); !errors.Is(err, errBadTarget) {
			t.Errorf("parseTarget(%q) = %v; want errBadTarget", bad, err)
		}
	}
}

func TestHealthzReportsTheDatabase(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		health func(context.Context) error
		want   int
	}{
		{func(context.Context) error { return nil }, http.StatusOK},
		{func(context.Context) error { return errors.New("server selection timeout") }, http.StatusServiceUnavailable},
	} {
		s := NewServer(Config{Health: tt.health})
		rec := httptest.NewRecorder()
		s.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/healthz", nil))
		if rec.Code != tt.want {
			t.Errorf("/healthz = %d; want %d", rec.Code, tt.want)
		}
		s.Close()
	}
}

func TestCode(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"office_moves", "`office_moves`"},
		{"a`b <!here>", "`a\u02cbb &lt;!here&gt;`"},
	}
	for _, tt := range tests {
		if got := code(tt.in); got != tt.want {
			t.Errorf("code(%q) = %q; want %q", tt.in, got, tt.want)
		}
	}
}

// TestLinkify: a web address a person typed is a link, whole, however
// many underscores it has; the text around it is escaped as usual.
func TestLinkify(t *testing.T) {
	for in, want := range map[string]string{
		"see https://example.com/my_page?a=1&b=2.": "see <https://example.com/my_page?a=1&amp;b=2>.",
		"(http://x.test/a_b) and *bold*":           "(<http://x.test/a_b>) and \u2217bold\u2217",
		"no address, just_text":                    "no address, just\u02cdtext",
		"https://a.test/<script>":                  "<https://a.test/>&lt;script&gt;",
	} {
		if got := linkify(in); got != want {
			t.Errorf("linkify(%q) = %q, want %q", in, got, want)
		}
	}
}
