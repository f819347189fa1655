package api

import (
	"encoding/json"
	"net/http"
	"strconv"
)

// Problem is an RFC 9457 problem document.
type Problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail,omitempty"`
	// Errors names each field at fault, for a 422.
	Errors []FieldError `json:"errors,omitempty"`
}

// FieldError is what is wrong with one field of a call: the same sentence
// the Slack form shows under it.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// problemBase prefixes every problem type; the README's Integrations
// section lists them.
const problemBase = "https://github.com/handoffbot/handoff#problem-"

// The problems the API answers with, by status. Each is in openapi.json.
var problemTitles = map[int]struct{ slug, title string }{
	http.StatusBadRequest:            {"bad-request", "The call is not well formed"},
	http.StatusUnauthorized:          {"unauthorized", "A valid API token is required"},
	http.StatusForbidden:             {"forbidden", "The token may not do this"},
	http.StatusNotFound:              {"not-found", "No such request"},
	http.StatusConflict:              {"conflict", "The request is not in a state that allows this"},
	http.StatusRequestEntityTooLarge: {"too-large", "The body is too large"},
	http.StatusUnsupportedMediaType:  {"unsupported-media-type", "The body must be JSON"},
	http.StatusUnprocessableEntity:   {"validation", "The request's values are not valid"},
	http.StatusInternalServerError:   {"internal", "Handoff could not do this just now"},
}

// problem writes a problem document of status with detail.
func problem(w http.ResponseWriter, status int, detail string, errs ...FieldError) {
	t := problemTitles[status]
	p := Problem{Type: problemBase + t.slug, Title: t.title, Status: status, Detail: detail, Errors: errs}
	body, _ := json.Marshal(p)
	h := w.Header()
	h.Set("Content-Type", "application/problem+json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	if status == http.StatusUnauthorized {
		h.Set("WWW-Authenticate", `Bearer realm="handoff"`)
	}
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// reply writes v as JSON with status.
func reply(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		problem(w, http.StatusInternalServerError, "Nothing was changed; try again in a minute.")
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
