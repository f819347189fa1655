package flows

import (
	"net"
	"net/url"
	"regexp"
	"slices"
	"strings"

	yaml "go.yaml.in/yaml/v3"
)

var webhookKeys = []string{"url", "events", "secret_env"}

// envName is what secret_env may name: a portable environment variable.
var envName = regexp.MustCompile(`^[A-Z_][A-Z0-9_]*$`)

// maxWebhooks bounds the webhooks of one process: each event is one effect
// per webhook, kept in the request's outbox until delivered.
const maxWebhooks = 10

func (d *decoder) webhooks(n *yaml.Node) []Webhook {
	items, ok := d.list(n, "webhooks", "[{url: https://erp.example.com/hooks/handoff, events: [approved], secret_env: HANDOFF_ERP_WEBHOOK_SECRET}]")
	if !ok {
		return nil
	}
	if len(items) > maxWebhooks {
		d.errorf(n, "webhooks: %d listed, at most %d; one receiver can route events itself", len(items), maxWebhooks)
		return nil
	}
	var out []Webhook
	for _, item := range items {
		if h, ok := d.webhook(item); ok {
			out = append(out, h)
		}
	}
	return out
}

func (d *decoder) webhook(n *yaml.Node) (Webhook, bool) {
	var h Webhook
	o, ok := d.mapping(n, "a webhook", webhookKeys)
	if !ok {
		return h, false
	}
	ok = true
	if v := o.get("url"); v == nil {
		d.errorf(n, "webhook: missing key \"url\": where to POST the events, like `url: https://erp.example.com/hooks/handoff`")
		ok = false
	} else if s, good := d.text(v, "url"); good {
		if msg := checkWebhookURL(s); msg != "" {
			d.errorf(v, "webhook url %q: %s", s, msg)
			ok = false
		}
		h.URL = s
	} else {
		ok = false
	}
	if v := o.get("events"); v == nil {
		d.errorf(n, "webhook: missing key \"events\": which to send, like `events: [approved, rejected]` (known: %s)", strings.Join(webhookEventNames(), ", "))
		ok = false
	} else if items, good := d.list(v, "events", "[approved, rejected]"); good {
		if len(items) == 0 {
			d.errorf(v, "webhook events is empty; list some of: %s", strings.Join(webhookEventNames(), ", "))
			ok = false
		}
		for _, item := range items {
			s, good := d.text(item, "event")
			if !good {
				ok = false
				continue
			}
			e := WebhookEvent(s)
			switch {
			case !slices.Contains(WebhookEvents, e):
				if c := closest(s, webhookEventNames()); c != "" {
					d.errorf(item, "webhook event %q is not known; did you mean %q?", s, c)
				} else {
					d.errorf(item, "webhook event %q is not known; known events: %s", s, strings.Join(webhookEventNames(), ", "))
				}
				ok = false
			case slices.Contains(h.Events, e):
				d.errorf(item, "webhook event %q is listed twice", s)
			default:
				h.Events = append(h.Events, e)
			}
		}
	} else {
		ok = false
	}
	if v := o.get("secret_env"); v == nil {
		d.errorf(n, "webhook: missing key \"secret_env\": name the environment variable that holds the signing secret, like `secret_env: HANDOFF_ERP_WEBHOOK_SECRET` (never the secret itself)")
		ok = false
	} else if s, good := d.text(v, "secret_env"); good {
		if !envName.MatchString(s) {
			d.errorf(v, "webhook secret_env %q is not an environment variable name; want upper-case letters, digits and _, like HANDOFF_ERP_WEBHOOK_SECRET (the variable holds the secret, the file only names it)", s)
			ok = false
		}
		h.SecretEnv = s
	} else {
		ok = false
	}
	return h, ok
}

// checkWebhookURL says what is wrong with a webhook's address, or "".
// Events carry a request's values, so they travel over https; plain http
// is for a receiver on this machine only (local testing).
func checkWebhookURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return "not an absolute address; want one like https://erp.example.com/hooks/handoff"
	}
	if u.User != nil {
		return "has a user or password in it; the receiver checks the X-Handoff-Signature header instead"
	}
	switch u.Scheme {
	case "https":
		return ""
	case "http":
		if isLoopback(u.Hostname()) {
			return ""
		}
		return "http:// is allowed only to this machine (localhost, 127.0.0.1, ::1): use https://"
	}
	return "want an https:// address"
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func webhookEventNames() []string {
	out := make([]string, len(WebhookEvents))
	for i, e := range WebhookEvents {
		out[i] = string(e)
	}
	return out
}
