package flows

import "time"

// Add returns the time d of working time after t: a deadline that counts only
// working hours, skipping closed days and holidays. A nil *WorkingHours is
// wall-clock time. The result is in UTC, as everything stored is.
func (wh *WorkingHours) Add(t time.Time, d time.Duration) time.Time {
	if wh == nil {
		return t.Add(d).UTC()
	}
	cur := t.In(wh.Location)
	// A year of closed days is a broken definition, not a deadline; stop there.
	for range 366 {
		open, closing := wh.hours(cur)
		if wh.workday(cur) && cur.Before(closing) {
			if cur.Before(open) {
				cur = open
			}
			if left := closing.Sub(cur); d <= left {
				return cur.Add(d).UTC()
			} else {
				d -= left
			}
		}
		y, m, day := cur.Date()
		cur = time.Date(y, m, day+1, 0, 0, 0, 0, wh.Location)
	}
	return cur.UTC()
}

// After returns the deadline d after t, d written in unit u: with working
// hours, days and weeks count whole working days (a week is as many as the
// week has open days), so 2d from Wednesday 13:41 is Friday 13:41, while
// hours, minutes and seconds count working time, as Add does. A nil
// *WorkingHours is wall-clock time, days of 24 hours.
func (wh *WorkingHours) After(t time.Time, d Duration, u Unit) time.Time {
	switch {
	case wh == nil:
		return t.Add(time.Duration(d)).UTC()
	case u == UnitDay:
		return wh.AddDays(t, int(d.In(UnitDay)))
	case u == UnitWeek:
		return wh.AddDays(t, int(d.In(UnitWeek))*max(wh.daysPerWeek(), 1))
	}
	return wh.Add(t, time.Duration(d))
}

// AddDays returns the moment n working days after t: the same time of day
// on the nth working day on, closed days and holidays skipped. Out of hours,
// t counts from the end of the working day before: 1 working day from
// Friday evening, from Saturday or from Monday before opening runs to
// Monday at closing. The result is in UTC.
func (wh *WorkingHours) AddDays(t time.Time, n int) time.Time {
	if n <= 0 {
		return wh.Add(t, 0)
	}
	cur := t.In(wh.Location)
	y, m, d := cur.Date()
	day := time.Date(y, m, d, 0, 0, 0, 0, wh.Location)
	open, closing := wh.hours(cur)
	if !wh.workday(cur) || !cur.After(open) {
		// Before the day's first working moment: the first working day
		// from here is the first of the n, and the deadline its (n-1)th
		// successor's closing.
		if !wh.workday(cur) {
			day = wh.workdays(day, 1)
		}
		_, end := wh.hours(wh.workdays(day, n-1))
		return end.UTC()
	}
	// The time of day, kept to working hours: after closing is closing.
	minute, rest := cur.Hour()*60+cur.Minute(), time.Duration(cur.Second())*time.Second+time.Duration(cur.Nanosecond())
	if !cur.Before(closing) {
		minute, rest = wh.To, 0
	}
	y, m, d = wh.workdays(day, n).Date()
	// From the wall clock, as hours does, so that a daylight-saving change
	// between the two days does not move the time of day.
	return time.Date(y, m, d, 0, minute, 0, 0, wh.Location).Add(rest).UTC()
}

// workdays returns the midnight n working days after day's midnight (day
// itself when n is 0). A year of closed days is a broken definition, not a
// deadline; it stops there.
func (wh *WorkingHours) workdays(day time.Time, n int) time.Time {
	for closed := 0; n > 0 && closed < 366; {
		y, m, d := day.Date()
		day = time.Date(y, m, d+1, 0, 0, 0, 0, wh.Location)
		if wh.workday(day) {
			n--
			closed = 0
		} else {
			closed++
		}
	}
	return day
}

// daysPerWeek is how many days of the week are open.
func (wh *WorkingHours) daysPerWeek() int {
	n := 0
	for _, open := range wh.Days {
		if open {
			n++
		}
	}
	return n
}

// Within reports whether t falls inside working hours. A nil *WorkingHours
// is always open.
func (wh *WorkingHours) Within(t time.Time) bool {
	if wh == nil {
		return true
	}
	t = t.In(wh.Location)
	open, closing := wh.hours(t)
	return wh.workday(t) && !t.Before(open) && t.Before(closing)
}

// hours returns the opening and closing times of t's day, built from the
// wall clock so that a daylight-saving change does not move them.
func (wh *WorkingHours) hours(t time.Time) (open, closing time.Time) {
	y, m, d := t.Date()
	open = time.Date(y, m, d, wh.From/60, wh.From%60, 0, 0, wh.Location)
	closing = time.Date(y, m, d, wh.To/60, wh.To%60, 0, 0, wh.Location)
	return open, closing
}

func (wh *WorkingHours) workday(t time.Time) bool {
	return wh.Days[t.Weekday()] && !wh.Holidays[t.Format(time.DateOnly)]
}
