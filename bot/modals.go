package bot

import (
	"encoding/json"
	"strconv"

	"github.com/handoffbot/handoff/flows"
	"github.com/slack-go/slack"
)

// formMeta is what a request form's private_metadata carries back on
// submission: which workflow the values are for.
type formMeta struct {
	Process  string `json:"p"`
	Workflow string `json:"w"`
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

// rejectModal asks a reviewer why they reject: the requester will read it.
func rejectModal(r request, t target) slack.ModalViewRequest {
	reason := slack.NewPlainTextInputBlockElement(plain("What should the requester know?", 150), inputAction).WithMaxLength(2000)
	reason.Multiline = true
	return slack.ModalViewRequest{
		Type:            slack.VTModal,
		CallbackID:      callbackReject,
		Title:           plain("Reject request", maxModalTitle),
		Submit:          plain("Reject", maxButtonText),
		Close:           plain("Back", maxButtonText),
		PrivateMetadata: t.String(),
		Blocks: slack.Blocks{BlockSet: []slack.Block{
			section("Reject " + user(r.in.Requester) + "'s request " + r.subject() + "?"),
			slack.NewInputBlock(reasonBlock, plain("Reason", 2000), nil, reason),
		}},
	}
}
