package bot

import (
	"encoding/json"
	"strconv"

	"github.com/handoffbot/handoff/flows"
	"github.com/slack-go/slack"
)

// formMeta is what a request form's private_metadata carries back on
// submission: which workflow the values are for and, for a resubmission,
// which request they correct.
type formMeta struct {
	Process  string `json:"p"`
	Workflow string `json:"w"`
	Instance string `json:"i,omitempty"`
}

// formModal builds the modal that asks for a workflow's form, prefilled with
// values when given.
func formModal(p *flows.Process, w *flows.Workflow, values flows.Values) slack.ModalViewRequest {
	meta, _ := json.Marshal(formMeta{Process: p.Name, Workflow: w.ID})
	var blocks []slack.Block
	for _, f := range w.Form {
		blocks = append(blocks, inputBlock(f, values[f.ID]))
	}
	if len(blocks) == 0 {
		blocks = append(blocks, section("Submit to start a "+escape(w.Title)+"."))
	}
	return slack.ModalViewRequest{
		Type:            slack.VTModal,
		CallbackID:      callbackRequest,
		Title:           plain(w.Title, maxModalTitle),
		Submit:          plain("Submit", maxButtonText),
		Close:           plain("Cancel", maxButtonText),
		PrivateMetadata: string(meta),
		Blocks:          slack.Blocks{BlockSet: blocks},
	}
}

// inputBlock is one form field as a modal input of the matching type.
func inputBlock(f flows.Field, initial string) *slack.InputBlock {
	var el slack.BlockElement
	switch f.Type {
	case flows.FieldParagraph, flows.FieldText:
		e := slack.NewPlainTextInputBlockElement(nil, inputAction).WithMaxLength(min(f.Limit(), 3000))
		e.Multiline = f.Type == flows.FieldParagraph
		e.InitialValue = truncate(initial, 3000)
		el = e
	case flows.FieldNumber:
		e := slack.NewNumberInputBlockElement(nil, inputAction, true)
		e.InitialValue = initial
		if f.Min != nil {
			e.MinValue = strconv.FormatFloat(*f.Min, 'f', -1, 64)
		}
		if f.Max != nil {
			e.MaxValue = strconv.FormatFloat(*f.Max, 'f', -1, 64)
		}
		el = e
	case flows.FieldDate:
		e := slack.NewDatePickerBlockElement(inputAction)
		e.InitialDate = initial
		el = e
	case flows.FieldSelect:
		var opts []*slack.OptionBlockObject
		var selected *slack.OptionBlockObject
		for _, o := range f.Options {
			opt := slack.NewOptionBlockObject(o, plain(o, maxButtonText), nil)
			if o == initial {
				selected = opt
			}
			opts = append(opts, opt)
		}
		e := slack.NewOptionsSelectBlockElement(slack.OptTypeStatic, plain("Choose", maxButtonText), inputAction, opts...)
		e.InitialOption = selected
		el = e
	case flows.FieldUser:
		e := slack.NewOptionsSelectBlockElement(slack.OptTypeUser, plain("Choose someone", maxButtonText), inputAction)
		e.InitialUser = initial
		el = e
	}
	b := slack.NewInputBlock(f.ID, plain(f.Label, 2000), nil, el)
	b.Optional = !f.Required
	if f.Hint != "" {
		b.Hint = plain(f.Hint, 2000)
	}
	return b
}

// formValues reads a submitted form's raw values, by field id, from the
// view state. What the values mean is decided by Workflow.ParseValues.
func formValues(w *flows.Workflow, state *slack.ViewState) map[string]string {
	raw := map[string]string{}
	if state == nil {
		return raw
	}
	for _, f := range w.Form {
		a, ok := state.Values[f.ID][inputAction]
		if !ok {
			continue
		}
		switch {
		case a.SelectedDate != "":
			raw[f.ID] = a.SelectedDate
		case a.SelectedUser != "":
			raw[f.ID] = a.SelectedUser
		case a.SelectedOption.Value != "":
			raw[f.ID] = a.SelectedOption.Value
		default:
			raw[f.ID] = a.Value
		}
	}
	return raw
}

// resubmitModal is the request's form prefilled with its values, to send it
// back to the step that asked for changes.
func resubmitModal(r request) slack.ModalViewRequest {
	m := formModal(r.p, r.w, r.in.Values)
	meta, _ := json.Marshal(formMeta{Process: r.p.Name, Workflow: r.w.ID, Instance: r.in.ID})
	m.PrivateMetadata = string(meta)
	m.Submit = plain("Resubmit", maxButtonText)
	if r.in.State == flows.StateAwaitingForm {
		m.Submit = plain("Submit", maxButtonText)
	}
	if len(r.w.Form) == 0 {
		m.Blocks = slack.Blocks{BlockSet: []slack.Block{section("Resubmit " + r.subject() + " as it is?")}}
	}
	return m
}

// rejectModal asks a reviewer why they reject: the requester will read it.
func rejectModal(r request, t target) slack.ModalViewRequest {
	return reasonModal(callbackReject, "Reject request", "Reject", "Reject "+user(r.in.Requester)+"'s request "+r.subject()+"?", "Reason", t)
}

// changesModal asks a reviewer what the requester should change.
func changesModal(r request, t target) slack.ModalViewRequest {
	return reasonModal(callbackChanges, "Request changes", "Send back",
		"Send "+user(r.in.Requester)+"'s request "+r.subject()+" back for changes? They can edit and resubmit it, and it comes back to this step.",
		"What should change?", t)
}

func reasonModal(callback, title, submit, question, label string, t target) slack.ModalViewRequest {
	reason := slack.NewPlainTextInputBlockElement(plain("What should the requester know?", 150), inputAction).WithMaxLength(flows.MaxReasonLength)
	reason.Multiline = true
	return slack.ModalViewRequest{
		Type:            slack.VTModal,
		CallbackID:      callback,
		Title:           plain(title, maxModalTitle),
		Submit:          plain(submit, maxButtonText),
		Close:           plain("Back", maxButtonText),
		PrivateMetadata: t.String(),
		Blocks: slack.Blocks{BlockSet: []slack.Block{
			section(question),
			slack.NewInputBlock(reasonBlock, plain(label, 2000), nil, reason),
		}},
	}
}

// reassignModal asks a reviewer whom to hand their part of the step to.
func reassignModal(r request, t target) slack.ModalViewRequest {
	to := slack.NewOptionsSelectBlockElement(slack.OptTypeUser, plain("Choose someone", maxButtonText), inputAction)
	note := slack.NewPlainTextInputBlockElement(plain("Anything they should know?", 150), inputAction).WithMaxLength(flows.MaxNoteLength)
	note.Multiline = true
	noteInput := slack.NewInputBlock(noteBlock, plain("Note", 2000), nil, note)
	noteInput.Optional = true
	return slack.ModalViewRequest{
		Type:            slack.VTModal,
		CallbackID:      callbackReassign,
		Title:           plain("Reassign", maxModalTitle),
		Submit:          plain("Reassign", maxButtonText),
		Close:           plain("Back", maxButtonText),
		PrivateMetadata: t.String(),
		Blocks: slack.Blocks{BlockSet: []slack.Block{
			section("Hand your part of *" + escape(stepTitle(r.w, t.Step)) + "* on " + user(r.in.Requester) + "'s request " + r.subject() + " to someone else?"),
			slack.NewInputBlock(toBlock, plain("Reassign to", 2000), nil, to),
			noteInput,
		}},
	}
}
