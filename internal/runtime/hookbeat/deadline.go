package hookbeat

import "time"

// deadline is the pure state of one hook's timeout.
type deadline struct {
	start time.Time
	base  time.Duration // the hook's timeout, counted from its last beat
	max   time.Duration // no beat extends past start+max
	mtime time.Time     // the heartbeat file's mtime when last looked at
	beat  time.Time     // when the hook last beat (start until it does)
}

func newDeadline(start time.Time, base, limit time.Duration, mtime time.Time) deadline {
	return deadline{start: start, base: base, max: max(limit, base), mtime: mtime, beat: start}
}

// observe takes the heartbeat file's mtime seen at now. A changed mtime is a
// beat, dated by the mtime but never later than now (a touch into the future
// earns nothing extra) nor earlier than the previous beat (a backdated touch
// earns nothing).
func (d deadline) observe(mtime, now time.Time) deadline {
	if mtime.IsZero() || mtime.Equal(d.mtime) {
		return d
	}
	d.mtime = mtime
	beat := mtime
	if beat.After(now) {
		beat = now
	}
	if beat.After(d.beat) {
		d.beat = beat
	}
	return d
}

// at is when the hook times out.
func (d deadline) at() time.Time {
	if d.capped() {
		return d.start.Add(d.max)
	}
	return d.beat.Add(d.base)
}

// capped reports whether the maximum, not the last beat, sets the deadline.
func (d deadline) capped() bool {
	return d.beat.Add(d.base).After(d.start.Add(d.max))
}
