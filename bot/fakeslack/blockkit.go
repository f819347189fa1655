package fakeslack

import (
	"fmt"
	"slices"
	"unicode/utf8"
)

// Block Kit limits Slack enforces and slack-go does not check. Slack refuses
// the whole message or view when one is broken; the fake does the same, so
// tests find the cut that the adapter forgot.
const (
	maxMessageBlocks   = 50
	maxViewBlocks      = 100
	maxSectionText     = 3000
	maxSectionFields   = 10
	maxFieldText       = 2000
	maxHeaderText      = 150
	maxMarkdownText    = 12000
	maxButtonText      = 75
	maxButtonValue     = 2000
	maxURL             = 3000
	maxID              = 255 // action_id, block_id, callback_id, external_id
	maxActionsElements = 25
	maxContextElements = 10
	maxLabel           = 2000
	maxPlaceholder     = 150
	maxOptions         = 100
	maxOptionText      = 75
	maxOptionValue     = 150
	maxChoiceOptions   = 10 // checkboxes, radio buttons
	maxInputLength     = 3000
	maxViewTitle       = 24 // also submit and close
	maxPrivateMetadata = 3000
	maxConfirmTitle    = 100
	maxConfirmText     = 300
	maxConfirmButton   = 30
	maxAltText         = 2000
)

// validateMessageBlocks checks the blocks of a message (chat.*, response
// URLs). blocks is decoded JSON; nil means none. It returns Slack-style
// reasons, empty when Slack would accept the blocks.
func validateMessageBlocks(blocks any) []string {
	if blocks == nil {
		return nil
	}
	c := newChecker()
	c.blocks(blocks, "/blocks", maxMessageBlocks)
	return c.errs
}

// validateView checks a modal or Home tab view object (decoded JSON).
func validateView(v map[string]any) []string {
	c := newChecker()
	const p = "/view"
	if v["type"] == "modal" {
		if t, ok := v["title"]; ok {
			c.text(t, p+"/title", maxViewTitle, true)
		} else {
			c.fail(p, "missing required field: title")
		}
		for _, k := range []string{"submit", "close"} {
			if t, ok := v[k]; ok && t != nil {
				c.text(t, p+"/"+k, maxViewTitle, true)
			}
		}
	}
	c.optString(v, "private_metadata", p, maxPrivateMetadata)
	c.optString(v, "callback_id", p, maxID)
	c.optString(v, "external_id", p, maxID)
	blocks, ok := v["blocks"]
	if !ok {
		c.fail(p, "missing required field: blocks")
		return c.errs
	}
	c.blocks(blocks, p+"/blocks", maxViewBlocks)
	if list, ok := blocks.([]any); ok && v["type"] == "modal" && v["submit"] == nil {
		hasInput := slices.ContainsFunc(list, func(b any) bool {
			m, ok := b.(map[string]any)
			return ok && m["type"] == "input"
		})
		if hasInput {
			c.fail(p, "must provide a submit property when input blocks are present")
		}
	}
	return c.errs
}

type checker struct {
	errs     []string
	blockIDs map[string]bool
}

func newChecker() *checker { return &checker{blockIDs: map[string]bool{}} }

// fail records a reason in the shape of Slack's: "<what> [json-pointer:<where>]".
func (c *checker) fail(ptr, format string, args ...any) {
	c.errs = append(c.errs, fmt.Sprintf(format, args...)+" [json-pointer:"+ptr+"]")
}

// maxLen is Slack's wording: a limit of 3000 reads "less than 3001".
func (c *checker) maxLen(ptr, s string, limit int) {
	if utf8.RuneCountInString(s) > limit {
		c.fail(ptr, "must be less than %d characters", limit+1)
	}
}

// str checks that v is a non-empty string of at most limit characters.
func (c *checker) str(v any, ptr string, limit int) {
	s, ok := v.(string)
	if !ok {
		c.fail(ptr, "must be a string")
		return
	}
	if s == "" {
		c.fail(ptr, "must be more than 0 characters")
	}
	c.maxLen(ptr, s, limit)
}

// optString checks obj[key] if present: a string of at most limit characters.
func (c *checker) optString(obj map[string]any, key, ptr string, limit int) {
	v, ok := obj[key]
	if !ok || v == nil {
		return
	}
	s, ok := v.(string)
	if !ok {
		c.fail(ptr+"/"+key, "must be a string")
		return
	}
	c.maxLen(ptr+"/"+key, s, limit)
}

func (c *checker) array(v any, ptr string, lo, hi int) []any {
	list, ok := v.([]any)
	if !ok {
		c.fail(ptr, "must be an array")
		return nil
	}
	if len(list) < lo {
		c.fail(ptr, "must provide at least %d items", lo)
	}
	if len(list) > hi {
		c.fail(ptr, "no more than %d items allowed", hi)
	}
	return list
}

func (c *checker) object(v any, ptr string) map[string]any {
	m, ok := v.(map[string]any)
	if !ok {
		c.fail(ptr, "must be an object")
	}
	return m
}

// text checks a text object; plainOnly refuses mrkdwn where Slack wants
// plain_text (headers, buttons, labels, titles, placeholders).
func (c *checker) text(v any, ptr string, limit int, plainOnly bool) {
	o := c.object(v, ptr)
	if o == nil {
		return
	}
	switch o["type"] {
	case "plain_text":
		if _, ok := o["verbatim"]; ok {
			c.fail(ptr+"/verbatim", "verbatim is only allowed on mrkdwn text")
		}
	case "mrkdwn":
		if plainOnly {
			c.fail(ptr+"/type", "must be plain_text")
		}
		if _, ok := o["emoji"]; ok {
			c.fail(ptr+"/emoji", "emoji is only allowed on plain_text")
		}
	default:
		if plainOnly {
			c.fail(ptr+"/type", "must be plain_text")
		} else {
			c.fail(ptr+"/type", "must be plain_text or mrkdwn")
		}
	}
	c.str(o["text"], ptr+"/text", limit)
}

// required checks that obj has key and runs check on it.
func (c *checker) required(obj map[string]any, key, ptr string, check func(v any, ptr string)) {
	v, ok := obj[key]
	if !ok || v == nil {
		c.fail(ptr, "missing required field: %s", key)
		return
	}
	check(v, ptr+"/"+key)
}

// optional runs check on obj[key] when present.
func (c *checker) optional(obj map[string]any, key, ptr string, check func(v any, ptr string)) {
	if v, ok := obj[key]; ok && v != nil {
		check(v, ptr+"/"+key)
	}
}

func (c *checker) plain(limit int) func(any, string) {
	return func(v any, ptr string) { c.text(v, ptr, limit, true) }
}

func (c *checker) anyText(limit int) func(any, string) {
	return func(v any, ptr string) { c.text(v, ptr, limit, false) }
}

func (c *checker) blocks(v any, ptr string, limit int) {
	for i, b := range c.array(v, ptr, 0, limit) {
		c.block(b, fmt.Sprintf("%s/%d", ptr, i))
	}
}

func (c *checker) block(v any, ptr string) {
	b := c.object(v, ptr)
	if b == nil {
		return
	}
	if id, ok := b["block_id"]; ok {
		c.str(id, ptr+"/block_id", maxID)
		if s, _ := id.(string); s != "" {
			if c.blockIDs[s] {
				c.fail(ptr+"/block_id", "duplicate block_id %q", s)
			}
			c.blockIDs[s] = true
		}
	}
	switch t, _ := b["type"].(string); t {
	case "section":
		_, hasText := b["text"]
		_, hasFields := b["fields"]
		if !hasText && !hasFields {
			c.fail(ptr, "must provide text or fields")
		}
		c.optional(b, "text", ptr, c.anyText(maxSectionText))
		c.optional(b, "fields", ptr, func(v any, p string) {
			for i, f := range c.array(v, p, 1, maxSectionFields) {
				c.text(f, fmt.Sprintf("%s/%d", p, i), maxFieldText, false)
			}
		})
		c.optional(b, "accessory", ptr, c.element)
	case "header":
		c.required(b, "text", ptr, c.plain(maxHeaderText))
	case "actions":
		c.required(b, "elements", ptr, func(v any, p string) {
			// Slack refuses two elements of one block with the same
			// action_id (invalid_blocks), whatever their values.
			seen := map[string]bool{}
			for i, e := range c.array(v, p, 1, maxActionsElements) {
				ep := fmt.Sprintf("%s/%d", p, i)
				c.element(e, ep)
				if m, ok := e.(map[string]any); ok {
					if id, _ := m["action_id"].(string); id != "" {
						if seen[id] {
							c.fail(ep+"/action_id", "duplicate action_id %q in one block", id)
						}
						seen[id] = true
					}
				}
			}
		})
	case "context":
		c.required(b, "elements", ptr, func(v any, p string) {
			for i, e := range c.array(v, p, 1, maxContextElements) {
				ep := fmt.Sprintf("%s/%d", p, i)
				if m, ok := e.(map[string]any); ok && m["type"] == "image" {
					c.element(m, ep)
				} else {
					c.text(e, ep, maxSectionText, false)
				}
			}
		})
	case "input":
		c.required(b, "label", ptr, c.plain(maxLabel))
		c.required(b, "element", ptr, c.element)
		c.optional(b, "hint", ptr, c.plain(maxLabel))
	case "image":
		c.image(b, ptr)
		c.optional(b, "title", ptr, c.plain(maxLabel))
	case "markdown":
		c.required(b, "text", ptr, func(v any, p string) { c.str(v, p, maxMarkdownText) })
	case "divider", "rich_text", "file", "video", "table", "call", "context_actions",
		"data_table", "data_visualization", "task_card", "plan", "alert", "card", "carousel":
		// Accepted as is: Handoff does not build these, and their rules are
		// long; checking only what the bot uses keeps false alarms away.
	case "":
		c.fail(ptr, "missing required field: type")
	default:
		c.fail(ptr+"/type", "unsupported block type %q", t)
	}
}

func (c *checker) image(e map[string]any, ptr string) {
	c.required(e, "alt_text", ptr, func(v any, p string) { c.str(v, p, maxAltText) })
	_, hasURL := e["image_url"]
	_, hasFile := e["slack_file"]
	if !hasURL && !hasFile {
		c.fail(ptr, "must provide image_url or slack_file")
	}
	c.optional(e, "image_url", ptr, func(v any, p string) { c.str(v, p, maxURL) })
}

func (c *checker) element(v any, ptr string) {
	e := c.object(v, ptr)
	if e == nil {
		return
	}
	c.optional(e, "action_id", ptr, func(v any, p string) { c.str(v, p, maxID) })
	c.optional(e, "confirm", ptr, c.confirm)
	placeholder := func() { c.optional(e, "placeholder", ptr, c.plain(maxPlaceholder)) }
	switch t, _ := e["type"].(string); t {
	case "button", "workflow_button":
		c.required(e, "text", ptr, c.plain(maxButtonText))
		c.optString(e, "value", ptr, maxButtonValue)
		c.optString(e, "url", ptr, maxURL)
		if s, ok := e["style"]; ok && s != "primary" && s != "danger" {
			c.fail(ptr+"/style", "must be one of primary, danger")
		}
	case "static_select", "multi_static_select":
		placeholder()
		_, hasOptions := e["options"]
		_, hasGroups := e["option_groups"]
		if hasOptions == hasGroups {
			c.fail(ptr, "must provide exactly one of options or option_groups")
		}
		c.optional(e, "options", ptr, c.options(1, maxOptions, true))
		c.optional(e, "option_groups", ptr, func(v any, p string) {
			for i, g := range c.array(v, p, 1, maxOptions) {
				gp := fmt.Sprintf("%s/%d", p, i)
				if gm := c.object(g, gp); gm != nil {
					c.required(gm, "label", gp, c.plain(maxOptionText))
					c.required(gm, "options", gp, c.options(1, maxOptions, true))
				}
			}
		})
		c.optional(e, "initial_option", ptr, c.option(true))
		c.optional(e, "initial_options", ptr, c.options(0, maxOptions, true))
	case "overflow":
		c.required(e, "options", ptr, c.options(1, 5, true))
	case "checkboxes", "radio_buttons":
		c.required(e, "options", ptr, c.options(1, maxChoiceOptions, false))
		c.optional(e, "initial_option", ptr, c.option(false))
		c.optional(e, "initial_options", ptr, c.options(0, maxChoiceOptions, false))
	case "plain_text_input":
		placeholder()
		for _, k := range []string{"min_length", "max_length"} {
			if n, ok := e[k].(float64); ok && (n < 0 || n > maxInputLength) {
				c.fail(ptr+"/"+k, "must be between 0 and %d", maxInputLength)
			}
		}
		c.optString(e, "initial_value", ptr, maxInputLength)
	case "number_input":
		placeholder()
		if _, ok := e["is_decimal_allowed"].(bool); !ok {
			c.fail(ptr, "missing required field: is_decimal_allowed")
		}
	case "external_select", "multi_external_select", "users_select", "multi_users_select",
		"conversations_select", "multi_conversations_select", "channels_select", "multi_channels_select",
		"datepicker", "timepicker", "datetimepicker", "email_text_input", "url_text_input",
		"rich_text_input", "file_input":
		placeholder()
	case "image":
		c.image(e, ptr)
	case "":
		c.fail(ptr, "missing required field: type")
	default:
		c.fail(ptr+"/type", "unsupported element type %q", t)
	}
}

func (c *checker) options(lo, hi int, plainOnly bool) func(any, string) {
	return func(v any, p string) {
		for i, o := range c.array(v, p, lo, hi) {
			c.option(plainOnly)(o, fmt.Sprintf("%s/%d", p, i))
		}
	}
}

func (c *checker) option(plainOnly bool) func(any, string) {
	return func(v any, p string) {
		o := c.object(v, p)
		if o == nil {
			return
		}
		c.required(o, "text", p, func(v any, tp string) { c.text(v, tp, maxOptionText, plainOnly) })
		c.required(o, "value", p, func(v any, vp string) { c.str(v, vp, maxOptionValue) })
		c.optional(o, "description", p, c.plain(maxOptionText))
	}
}

func (c *checker) confirm(v any, p string) {
	o := c.object(v, p)
	if o == nil {
		return
	}
	c.required(o, "title", p, c.plain(maxConfirmTitle))
	c.required(o, "text", p, c.anyText(maxConfirmText))
	c.required(o, "confirm", p, c.plain(maxConfirmButton))
	c.required(o, "deny", p, c.plain(maxConfirmButton))
}
