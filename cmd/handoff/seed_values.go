package main

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/handoffbot/handoff/flows"
)

// seedPeople is everyone the processes and the directory name: role
// members, owners, user: reviewers, people with a manager and managers,
// sorted.
func seedPeople(processes []*flows.Process, dir *flows.DirectoryFile) []string {
	people := dir.People()
	for _, p := range processes {
		for _, role := range slices.Sorted(maps.Keys(p.Roles)) {
			people = append(people, p.Roles[role]...)
		}
		people = append(people, p.Owners...)
		for _, w := range p.Workflows {
			for _, st := range w.Steps {
				for _, rv := range append(slices.Clone(st.Reviewers), st.EscalateTo...) {
					if rv.Kind == flows.ReviewerUser {
						people = append(people, rv.Name)
					}
				}
			}
		}
	}
	slices.Sort(people)
	return slices.Compact(people)
}

// formValues fills in w's form as requester would at at: every required
// field and most optional ones, checked by the form's own rules.
func (r *seedRun) formValues(w *flows.Workflow, requester string, at time.Time) (flows.Values, error) {
	raw := map[string]string{}
	var lastDate time.Time
	for i := range w.Form {
		f := &w.Form[i]
		if !f.Required && r.rng.Float64() < 0.3 {
			continue
		}
		raw[f.ID] = r.fieldValue(f, requester, at, &lastDate)
	}
	v, errs := w.ParseValues(raw)
	if errs != nil {
		return nil, fmt.Errorf("made-up values do not fit the form of %s: %s", w.ID, describeFieldErrors(errs))
	}
	return v, nil
}

// corrected is what a requester sends back after changes were asked for:
// in's values with one field filled in anew, or nil (unchanged) when the
// form has nothing to change.
func (r *seedRun) corrected(w *flows.Workflow, in *flows.Instance) flows.Values {
	var fields []*flows.Field
	for i := range w.Form {
		if f := &w.Form[i]; f.Type != flows.FieldUser {
			fields = append(fields, f)
		}
	}
	if len(fields) == 0 {
		return nil
	}
	f := fields[r.rng.IntN(len(fields))]
	raw := maps.Clone(map[string]string(in.Values))
	var lastDate time.Time
	raw[f.ID] = r.fieldValue(f, in.Requester, r.clock.t, &lastDate)
	v, errs := w.ParseValues(raw)
	if errs != nil {
		return nil
	}
	return v
}

// fieldValue makes up a raw value of field f. lastDate is the date the
// form's previous date field got: a later date field comes after it (a last
// day after the first).
func (r *seedRun) fieldValue(f *flows.Field, requester string, at time.Time, lastDate *time.Time) string {
	switch f.Type {
	case flows.FieldNumber:
		return r.number(f)
	case flows.FieldDate:
		d := at.AddDate(0, 0, 3+r.rng.IntN(40))
		if !lastDate.IsZero() {
			d = lastDate.AddDate(0, 0, r.rng.IntN(15))
		}
		*lastDate = d
		return d.Format(time.DateOnly)
	case flows.FieldSelect:
		return r.pick(f.Options)
	case flows.FieldUser:
		for {
			if u := r.pick(r.people); u != requester || len(r.people) == 1 {
				return u
			}
		}
	case flows.FieldParagraph:
		list := seedNotes
		if about := strings.ToLower(f.ID + " " + f.Label); strings.Contains(about, "why") || strings.Contains(about, "justif") || strings.Contains(about, "reason") {
			list = seedJustifications
		}
		return seedTruncate(r.pick(list), f.Limit())
	}
	list := seedItems
	if strings.Contains(strings.ToLower(f.ID+" "+f.Label), "name") {
		list = seedNames
	}
	return seedTruncate(r.pick(list), f.Limit())
}

// number makes up a value within f's min and max, spread over orders of
// magnitude with small values likelier, so that a condition on it (amount
// >= 1000, days > 5) goes both ways: whole numbers from 10 up, halves
// below.
func (r *seedRun) number(f *flows.Field) string {
	lo, hi := 0.0, 25000.0
	if f.Min != nil {
		lo = *f.Min
	}
	if f.Max != nil {
		hi = *f.Max
	} else if lo >= hi {
		hi = lo * 10
	}
	a := lo
	if a <= 0 {
		a = math.Min(10, hi)
	}
	var x float64
	if a <= 0 || a >= hi {
		x = lo + (hi-lo)*r.rng.Float64()
	} else {
		x = a * math.Pow(hi/a, math.Pow(r.rng.Float64(), 1.5))
	}
	if x >= 10 {
		x = math.Round(x)
	} else {
		x = math.Round(x*2) / 2
	}
	x = math.Max(lo, math.Min(hi, x))
	return strconv.FormatFloat(x, 'f', -1, 64)
}

// seedTruncate cuts s to at most n characters.
func seedTruncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return strings.TrimSpace(string([]rune(s)[:n]))
}

// describeFieldErrors lists errs by field, sorted.
func describeFieldErrors(errs flows.FieldErrors) string {
	var out []string
	for _, id := range slices.Sorted(maps.Keys(errs)) {
		out = append(out, id+": "+errs[id])
	}
	return strings.Join(out, "; ")
}

// seedID is the id of the n'th request of a run keyed by key: ten
// characters of the alphabet flows.NewID uses, from a permutation of the
// 50-bit numbers, so that ids look random, repeat with the key, and never
// collide within a run.
func seedID(key, n uint64) string {
	const alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
	const mask = 1<<50 - 1
	// Each step is a bijection on 50 bits: xor, an odd multiplier modulo
	// 2^50, a right xorshift.
	x := (n ^ key) & mask
	x = (x * 0x5851F42D4C957F2D) & mask
	x ^= x >> 23
	x = (x * 0x2545F4914F6CDD1D) & mask
	x ^= x >> 27
	x ^= (key >> 14) & mask
	var b [10]byte
	for i := range b {
		b[i] = alphabet[(x>>(5*(9-i)))&31]
	}
	return string(b[:])
}

// What requesters write and reviewers answer.
var (
	seedItems = []string{
		"Laptop", "27-inch monitor", "Standing desk", "Ergonomic chair", "USB-C dock",
		"Noise-cancelling headset", "Design software licence", "IDE licences for the team",
		"Conference ticket", "Training course", "Load testing service", "Cloud credits",
		"Security audit", "Translation services", "Team offsite venue", "Whiteboard",
		"Test devices (2 phones)", "Label printer", "Office plants", "Coffee machine repair",
	}
	seedNames = []string{
		"Maria Jensen", "Tom Okafor", "Lena Fischer", "Ravi Patel", "Sofia Rossi",
		"Jonas Berg", "Aisha Khan", "Mateo García", "Chloé Martin", "Yuki Tanaka",
		"Noah Schmidt", "Emma Novak", "Liam O'Brien", "Zara Ahmed", "Felix Wagner",
	}
	seedJustifications = []string{
		"The current one is five years old and no longer gets updates.",
		"Needed for the Q3 launch; the team is blocked without it.",
		"Replaces two subscriptions we pay for today, so it saves money within a year.",
		"Agreed in my last 1:1; see the notes from that meeting.",
		"The client asked for it in the contract review.",
		"Cheaper than the alternative we looked at, and support is included.",
		"Budgeted in this quarter's plan.",
	}
	seedNotes = []string{
		"Reachable by phone for anything urgent.",
		"Agreed with the team in Monday's planning.",
		"See the thread in the team channel for context.",
		"Happy to talk it through.",
		"Needs to be sorted before the end of the month.",
		"Nothing special.",
	}
	seedRejectReasons = []string{
		"Not in this quarter's budget.",
		"This overlaps with another request already approved.",
		"Not now: let's revisit after the release.",
		"This needs to go through the team lead first.",
		"Doesn't fit the policy; see the handbook.",
	}
	seedChangeReasons = []string{
		"Please add more detail on why this is needed.",
		"One of the values looks wrong; please check it.",
		"Can you confirm the dates?",
		"Please attach the supporting document.",
		"Let's talk first, then send it again.",
	}
	seedCancelReasons = []string{
		"No longer needed.",
		"Plans changed.",
		"Submitted twice by mistake.",
		"",
	}
	seedStalledReasons = []string{
		"Nobody got to it; withdrawn.",
		"Sorted out another way in the meantime.",
		"No longer needed.",
	}
	seedReassignNotes = []string{
		"I'm out this week.",
		"Better placed to judge this one.",
		"Handing over while I'm on the release.",
		"",
	}
)
