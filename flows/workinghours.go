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
