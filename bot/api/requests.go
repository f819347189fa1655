package api

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/handoffbot/handoff/flows"
)

// slackUser is what a Slack user id looks like.
var slackUser = regexp.MustCompile(`^[UW][A-Z0-9]{2,30}$`)

// maxIdempotencyKey bounds the Idempotency-Key header.
const maxIdempotencyKey = 255

// start is POST /requests: it starts a workflow on behalf of a Slack user,
// checked exactly as the Slack form is.
func (a *API) start(w http.ResponseWriter, r *http.Request) {
	tok := a.authenticate(w, r)
	if tok == nil || !require(w, tok, ScopeStart) {
		return
	}
	key := r.Header.Get("Idempotency-Key")
	if len(key) > maxIdempotencyKey || !utf8.ValidString(key) {
		problem(w, http.StatusBadRequest, fmt.Sprintf("The Idempotency-Key header takes at most %d characters of text.", maxIdempotencyKey))
		return
	}
	var body StartBody
	raw, ok := decode(w, r, &body, true)
	if !ok {
		return
	}
	p, wf, errs := a.startable(tok, body)
	if errs != nil {
		problem(w, http.StatusUnprocessableEntity, "Nothing was started.", errs...)
		return
	}
	values, errs := formValues(wf, body.Values)
	if errs != nil {
		problem(w, http.StatusUnprocessableEntity, "Nothing was started: correct the fields named.", errs...)
		return
	}
	if !slackUser.MatchString(body.Requester) {
		errs = append(errs, FieldError{"requester", "Give the Slack user id of the person the request is for, such as U0123ABCD."})
	}
	parsed, problems := wf.ParseValues(values)
	for _, f := range wf.Form {
		if msg, bad := problems[f.ID]; bad {
			errs = append(errs, FieldError{"values." + f.ID, msg})
		}
	}
	if errs != nil {
		problem(w, http.StatusUnprocessableEntity, "Nothing was started: correct the fields named.", errs...)
		return
	}

	now := a.now()
	id := flows.NewID()
	status := http.StatusCreated
	if key != "" {
		sum := sha256.Sum256(raw)
		k := IdempotencyKey{Token: tok.Name, Key: key, Fingerprint: hex.EncodeToString(sum[:]), RequestID: id, At: now}
		held, created, err := a.cfg.Store.Reserve(r.Context(), k, now.Add(-IdempotencyWindow))
		if err != nil {
			a.fail(w, "reserving an idempotency key", tok, err)
			return
		}
		a.prune(r, now)
		if !created {
			if held.Fingerprint != k.Fingerprint {
				problem(w, http.StatusConflict, "This Idempotency-Key was used in the last 24 hours with another body; use a new key for another request.")
				return
			}
			in, err := a.cfg.Store.Instance(r.Context(), held.RequestID)
			if err == nil {
				reply(w, http.StatusOK, show(in, wf))
				return
			}
			if !errors.Is(err, flows.ErrNotFound) {
				a.fail(w, "reading an idempotent request", tok, err)
				return
			}
			// The first call reserved the key and has not started the
			// request: it is under way or it died. Start it under the
			// reserved id; the store takes one instance of an id.
			id, status = held.RequestID, http.StatusOK
		}
		defer func() {
			if status >= 400 && created {
				if err := a.cfg.Store.Release(r.Context(), tok.Name, key, id); err != nil {
					a.log.Warn("releasing an idempotency key", "token", tok.Name, "err", err)
				}
			}
		}()
	}
	in, err := a.cfg.Service.SubmitID(r.Context(), id, p.Name, wf.ID, body.Requester, parsed)
	if errors.Is(err, flows.ErrExists) && key != "" {
		in, err = a.cfg.Store.Instance(r.Context(), id)
	}
	if err != nil {
		status = a.refuse(w, wf, tok, err)
		return
	}
	a.log.Info("request started through the API", "instance_id", in.ID, "workflow", wf.ID, "user_id", body.Requester, "token", tok.Name)
	if a.cfg.Started != nil {
		a.cfg.Started(in.ID)
	}
	w.Header().Set("Location", Prefix+"/requests/"+in.ID)
	reply(w, status, show(in, wf))
}

// prune drops expired idempotency keys, at most once an hour.
func (a *API) prune(r *http.Request, now time.Time) {
	last := a.lastPrune.Load()
	if now.UnixNano()-last < int64(time.Hour) || !a.lastPrune.CompareAndSwap(last, now.UnixNano()) {
		return
	}
	if _, err := a.cfg.Store.Prune(r.Context(), now.Add(-IdempotencyWindow)); err != nil {
		a.log.Warn("pruning idempotency keys", "err", err)
	}
}

// startable finds the workflow body names among the token's processes.
func (a *API) startable(tok *Token, body StartBody) (*flows.Process, *flows.Workflow, []FieldError) {
	lib := a.cfg.Service.Library()
	var (
		found []*flows.Process
		wf    *flows.Workflow
	)
	for _, name := range tok.Processes {
		if body.Process != "" && name != body.Process {
			continue
		}
		if p := lib.Process(name); p != nil {
			if w := p.Workflow(body.Workflow); w != nil {
				found, wf = append(found, p), w
			}
		}
	}
	switch {
	case body.Workflow == "":
		return nil, nil, []FieldError{{"workflow", "Name the workflow to start, such as purchase."}}
	case len(found) == 0:
		return nil, nil, []FieldError{{"workflow", fmt.Sprintf("No workflow %q in the processes this token may start (%s).", body.Workflow, strings.Join(tok.Processes, ", "))}}
	case len(found) > 1:
		return nil, nil, []FieldError{{"process", fmt.Sprintf("Several processes have a workflow %q: say which one.", body.Workflow)}}
	case wf.Command == "" && !wf.API:
		return nil, nil, []FieldError{{"workflow", fmt.Sprintf("%s can't be started from outside: it starts on its own when an earlier request calls for it (give it a command, or api: true, to start it here).", wf.Title)}}
	}
	return found[0], wf, nil
}

// formValues turns the body's values into the text the form would have
// sent: strings as they are, JSON numbers as written.
func formValues(wf *flows.Workflow, in map[string]any) (map[string]string, []FieldError) {
	out := make(map[string]string, len(in))
	var errs []FieldError
	ids := make([]string, 0, len(in))
	for id := range in {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		if wf.Field(id) == nil {
			errs = append(errs, FieldError{"values." + id, fmt.Sprintf("The form of %s has no field %q.", wf.Title, id)})
			continue
		}
		switch v := in[id].(type) {
		case nil:
		case string:
			out[id] = v
		case json.Number:
			out[id] = v.String()
		default:
			errs = append(errs, FieldError{"values." + id, "Give this as text or a number."})
		}
	}
	return out, errs
}

// refuse answers a start or a cancel the service refused, and returns the
// status it answered.
func (a *API) refuse(w http.ResponseWriter, wf *flows.Workflow, tok *Token, err error) int {
	var nre *flows.NoReviewersError
	switch {
	case errors.As(err, &nre):
		msg := "Nobody else can review this step."
		if nre.SelfOnly {
			msg = "You can't approve your own request: pick someone else."
		}
		var errs []FieldError
		if f := reviewerField(wf, nre.Step); f != "" {
			errs = append(errs, FieldError{"values." + f, msg})
		}
		problem(w, http.StatusUnprocessableEntity, "Nothing was started: "+msg, errs...)
		return http.StatusUnprocessableEntity
	case errors.Is(err, flows.ErrClosed):
		problem(w, http.StatusConflict, "The request has ended already.")
		return http.StatusConflict
	case errors.Is(err, flows.ErrNotRequester), errors.Is(err, flows.ErrWrongAction):
		problem(w, http.StatusConflict, "The request can't be cancelled now.")
		return http.StatusConflict
	case errors.Is(err, flows.ErrNotFound):
		problem(w, http.StatusNotFound, "")
		return http.StatusNotFound
	}
	a.fail(w, "running an API call", tok, err)
	return http.StatusInternalServerError
}

func reviewerField(w *flows.Workflow, step string) string {
	if w == nil {
		return ""
	}
	if st := w.Step(step); st != nil {
		for _, r := range st.Reviewers {
			if r.Kind == flows.ReviewerField {
				return r.Name
			}
		}
	}
	return ""
}

// fail logs err once and answers 500 without it.
func (a *API) fail(w http.ResponseWriter, doing string, tok *Token, err error) {
	a.log.Error(doing, "token", tok.Name, "err", err)
	problem(w, http.StatusInternalServerError, "Nothing was changed; try again in a minute.")
}

// get is GET /requests/{id}.
func (a *API) get(w http.ResponseWriter, r *http.Request) {
	tok := a.authenticate(w, r)
	if tok == nil || !require(w, tok, ScopeRead) {
		return
	}
	in, ok := a.load(w, r, tok)
	if !ok {
		return
	}
	reply(w, http.StatusOK, show(in, a.workflow(r, in)))
}

// load reads request {id}, answering 404 for one the token may not see.
func (a *API) load(w http.ResponseWriter, r *http.Request, tok *Token) (*flows.Instance, bool) {
	in, err := a.cfg.Store.Instance(r.Context(), r.PathValue("id"))
	switch {
	case errors.Is(err, flows.ErrNotFound) || err == nil && !tok.sees(in.Process):
		problem(w, http.StatusNotFound, "No request with this id in the processes this token may see.")
		return nil, false
	case err != nil:
		a.fail(w, "reading a request", tok, err)
		return nil, false
	}
	return in, true
}

// workflow returns in's workflow as it ran, for step titles; nil if the
// definition can't be read.
func (a *API) workflow(r *http.Request, in *flows.Instance) *flows.Workflow {
	_, wf, err := a.cfg.Service.Definition(r.Context(), in)
	if err != nil {
		return nil
	}
	return wf
}

// cancel is POST /requests/{id}/cancel: Handoff cancels the request on
// behalf of its requester, naming the token in the history.
func (a *API) cancel(w http.ResponseWriter, r *http.Request) {
	tok := a.authenticate(w, r)
	if tok == nil || !require(w, tok, ScopeCancel) {
		return
	}
	var body CancelBody
	if _, ok := decode(w, r, &body, false); !ok {
		return
	}
	note, msg := flows.ParseNote(body.Reason, flows.MaxReasonLength)
	if msg != "" {
		problem(w, http.StatusBadRequest, msg, FieldError{"reason", msg})
		return
	}
	in, ok := a.load(w, r, tok)
	if !ok {
		return
	}
	reason := "Cancelled through the API (token " + tok.Name + ")"
	if note != "" {
		reason += ": " + note
	}
	out, err := a.cfg.Service.Act(r.Context(), in.ID, flows.Command{Action: flows.ActionCancel, Actor: in.Requester, Reason: reason})
	if err != nil {
		a.refuse(w, nil, tok, err)
		return
	}
	a.log.Info("request cancelled through the API", "instance_id", out.ID, "token", tok.Name)
	if a.cfg.Started != nil {
		a.cfg.Started(out.ID)
	}
	reply(w, http.StatusOK, show(out, a.workflow(r, out)))
}

// decode reads a JSON body into v: at most MaxBody bytes, no unknown
// field, one value. An empty body is allowed unless required.
func decode(w http.ResponseWriter, r *http.Request, v any, required bool) ([]byte, bool) {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/json" {
			problem(w, http.StatusUnsupportedMediaType, "Send the body as application/json.")
			return nil, false
		}
	}
	raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBody))
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		problem(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("The body may be at most %d KB.", MaxBody>>10))
		return nil, false
	case err != nil:
		problem(w, http.StatusBadRequest, "The body could not be read.")
		return nil, false
	case len(bytes.TrimSpace(raw)) == 0 && !required:
		return raw, true
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
			name, _ = strconv.Unquote(name)
			problem(w, http.StatusBadRequest, fmt.Sprintf("Unknown field %q.", name), FieldError{name, "Handoff does not know this field."})
			return nil, false
		}
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			problem(w, http.StatusBadRequest, fmt.Sprintf("Field %q has the wrong type: want %s.", te.Field, te.Type), FieldError{te.Field, "Wrong type: want " + te.Type.String() + "."})
			return nil, false
		}
		problem(w, http.StatusBadRequest, "The body is not valid JSON: "+err.Error())
		return nil, false
	}
	if dec.More() {
		problem(w, http.StatusBadRequest, "The body holds more than one JSON value.")
		return nil, false
	}
	return raw, true
}

// cursor is the page key of the last request listed.
type cursor struct {
	Created int64  `json:"c"`
	ID      string `json:"i"`
}

func (c cursor) String() string {
	b, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(b)
}

func parseCursor(s string) (cursor, bool) {
	var c cursor
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || json.Unmarshal(b, &c) != nil || c.ID == "" {
		return c, false
	}
	return c, true
}

// The list's page sizes.
const (
	defaultPage = 50
	maxPage     = 200
)

// list is GET /requests: the requests of the token's processes (or of the
// one named), oldest first, a page at a time.
func (a *API) list(w http.ResponseWriter, r *http.Request) {
	tok := a.authenticate(w, r)
	if tok == nil || !require(w, tok, ScopeRead) {
		return
	}
	q := r.URL.Query()
	var (
		f    Filter
		errs []FieldError
	)
	processes := tok.Processes
	if p := q.Get("process"); p != "" {
		if !tok.sees(p) {
			// Listing nothing, not 403: a token learns nothing of
			// processes it may not see.
			reply(w, http.StatusOK, RequestList{Requests: []Request{}})
			return
		}
		processes = []string{p}
	}
	if s := q.Get("status"); s != "" {
		f.State = flows.State(s)
		if !slices.Contains(states, f.State) {
			errs = append(errs, FieldError{"status", "One of " + strings.Join(stateNames(), ", ") + "."})
		}
	}
	if s := q.Get("since"); s != "" {
		t, err := time.Parse(time.RFC3339, s)
		if err != nil {
			errs = append(errs, FieldError{"since", "A time as RFC 3339, such as 2026-01-31T09:00:00Z."})
		}
		f.Since = t
	}
	if s := q.Get("cursor"); s != "" {
		c, ok := parseCursor(s)
		if !ok {
			errs = append(errs, FieldError{"cursor", "Pass next_cursor from the previous page as it is."})
		}
		f.AfterCreated, f.AfterID = time.Unix(0, c.Created).UTC(), c.ID
	}
	f.Limit = defaultPage
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxPage {
			errs = append(errs, FieldError{"limit", fmt.Sprintf("A number from 1 to %d.", maxPage)})
		}
		f.Limit = n
	}
	if errs != nil {
		problem(w, http.StatusBadRequest, "Correct the query parameters named.", errs...)
		return
	}
	// One keyset query per process, merged: each is served by an index.
	var all []*flows.Instance
	for _, p := range processes {
		f.Process = p
		ins, err := a.cfg.Store.List(r.Context(), f)
		if err != nil {
			a.fail(w, "listing requests", tok, err)
			return
		}
		all = append(all, ins...)
	}
	slices.SortFunc(all, func(x, y *flows.Instance) int {
		if c := x.CreatedAt.Compare(y.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(x.ID, y.ID)
	})
	out := RequestList{Requests: []Request{}}
	if len(all) > f.Limit {
		all = all[:f.Limit]
	}
	if len(all) == f.Limit {
		last := all[len(all)-1]
		out.NextCursor = cursor{Created: last.CreatedAt.UnixNano(), ID: last.ID}.String()
	}
	lib := a.cfg.Service.Library()
	for _, in := range all {
		// The step's title from the definition in force, when the request
		// runs on it (nearly always); an older version is not read for a
		// title.
		var wf *flows.Workflow
		if p := lib.Process(in.Process); p != nil && p.Version == in.DefinitionVersion {
			wf = p.Workflow(in.Workflow)
		}
		out.Requests = append(out.Requests, show(in, wf))
	}
	reply(w, http.StatusOK, out)
}

// states are the statuses a list may ask for.
var states = []flows.State{
	flows.StateOpen, flows.StateChangesRequested, flows.StateAwaitingForm, flows.StateApproved,
	flows.StateRejected, flows.StateCancelled, flows.StateDone, flows.StateSkipped, flows.StateBlocked,
}

func stateNames() []string {
	out := make([]string, len(states))
	for i, s := range states {
		out[i] = string(s)
	}
	return out
}
