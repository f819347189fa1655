package flows

import (
	"fmt"
	"strings"
	"time"
	_ "time/tzdata" // working_hours time zones must load the same on every machine, with or without zoneinfo

	yaml "go.yaml.in/yaml/v3"
)

var workingHoursKeys = []string{"days", "from", "to", "timezone", "holidays"}

var weekdays = map[string]time.Weekday{
	"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday, "wed": time.Wednesday,
	"thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday,
}

func (d *decoder) workingHours(n *yaml.Node) *WorkingHours {
	o, ok := d.mapping(n, "working_hours", workingHoursKeys)
	if !ok {
		return nil
	}
	wh := &WorkingHours{Holidays: map[string]bool{}}
	good := true
	if v := o.get("days"); v != nil {
		days, ok := d.days(v)
		wh.Days, good = days, good && ok
	} else {
		for day := time.Monday; day <= time.Friday; day++ {
			wh.Days[day] = true
		}
	}
	hoursOK := true
	for _, key := range []string{"from", "to"} {
		v := o.get(key)
		if v == nil {
			d.errorf(o.node, "working_hours needs %s, like %s: \"09:00\"", key, key)
			hoursOK = false
			continue
		}
		s, ok := d.text(v, "working_hours "+key)
		if !ok {
			hoursOK = false
			continue
		}
		t, err := time.Parse("15:04", s)
		if err != nil && s != "24:00" {
			d.errorf(v, "working_hours %s: %q is not a time of day; want HH:MM, like \"09:00\"", key, s)
			hoursOK = false
			continue
		}
		minutes := t.Hour()*60 + t.Minute()
		if s == "24:00" {
			minutes = 24 * 60
		}
		if key == "from" {
			wh.From = minutes
		} else {
			wh.To = minutes
		}
	}
	good = good && hoursOK
	if hoursOK && wh.From >= wh.To {
		d.errorf(o.get("to"), "working_hours: to (%s) must be after from (%s); hours across midnight are not supported", hhmm(wh.To), hhmm(wh.From))
		good = false
	}
	if v := o.get("timezone"); v != nil {
		if s, ok := d.text(v, "timezone"); ok {
			loc, err := time.LoadLocation(s)
			if err != nil || s == "" || s == "Local" {
				d.errorf(v, "timezone %q: want an IANA time zone name, like Europe/Berlin or America/New_York", s)
				good = false
			} else {
				wh.Location = loc
			}
		} else {
			good = false
		}
	} else {
		d.errorf(o.node, "working_hours needs a timezone, like timezone: Europe/Berlin")
		good = false
	}
	if v := o.get("holidays"); v != nil {
		items, ok := d.list(v, "holidays", "[2026-12-25, 2026-12-26]")
		for _, item := range items {
			s, ok := d.text(item, "holiday")
			if !ok {
				good = false
				continue
			}
			if _, err := time.Parse(time.DateOnly, s); err != nil {
				d.errorf(item, "holiday %q: want a date as YYYY-MM-DD, like 2026-12-25", s)
				good = false
				continue
			}
			wh.Holidays[s] = true
		}
		good = good && ok
	}
	if !good {
		return nil
	}
	return wh
}

func hhmm(minutes int) string { return fmt.Sprintf("%02d:%02d", minutes/60, minutes%60) }

// days parses `mon-fri`, `mon,wed,fri`, `sat-sun`, or a list of those.
// A range may wrap the week (`fri-mon`).
func (d *decoder) days(n *yaml.Node) ([7]bool, bool) {
	var out [7]bool
	var parts []*yaml.Node
	if n.Kind == yaml.SequenceNode {
		parts, _ = d.list(n, "days", "mon-fri")
	} else {
		parts = []*yaml.Node{n}
	}
	ok := true
	for _, part := range parts {
		s, good := d.text(part, "days")
		if !good {
			ok = false
			continue
		}
		for _, item := range strings.Split(s, ",") {
			item = strings.ToLower(strings.TrimSpace(item))
			from, to, isRange := strings.Cut(item, "-")
			a, okA := weekdays[from]
			b, okB := weekdays[to]
			if !okA || (isRange && !okB) {
				d.errorf(part, "days: %q: want days like mon-fri, mon,wed,fri or sat-sun (mon tue wed thu fri sat sun)", item)
				ok = false
				continue
			}
			if !isRange {
				b = a
			}
			for day := a; ; day = (day + 1) % 7 {
				out[day] = true
				if day == b {
					break
				}
			}
		}
	}
	if ok && out == [7]bool{} {
		d.errorf(n, "days: no working days")
		ok = false
	}
	return out, ok
}
