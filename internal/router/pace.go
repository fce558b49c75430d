package router

import "time"

// A target registered a moment before its process listens fails its first
// probe; waiting a whole interval for the next one would cost every rolling
// batch an interval for nothing. So a target that has never been healthy and
// failed a probe is probed again at a short, doubling backoff until a probe
// passes or the next regular probe is due. The thresholds keep their
// meaning: a retry's failure is not counted (the regular probe's was), so a
// target that never comes up still turns unhealthy after `unhealthy`
// regular probes; a retry's pass is counted and starts a new interval, so
// healthy still takes `healthy` consecutive passes an interval apart.
const (
	firstRetry = 2 * time.Millisecond
	maxRetry   = 20 * time.Millisecond
)

// pace is one target's probe schedule. The zero value probes at once.
type pace struct {
	due   time.Time     // when the next regular probe is due
	retry time.Duration // the last retry's delay; 0 when not retrying
}

// counts reports whether a probe that ended at now goes into the streak:
// a regular probe does, a retry only when it passed.
func (p pace) counts(now time.Time, passed bool) bool {
	return passed || !now.Before(p.due)
}

// after is the schedule following a probe that ended at now, and the delay
// until the next probe. initial reports that the target has still never
// been healthy after this probe.
func (p pace) after(now time.Time, passed, initial bool, interval time.Duration) (pace, time.Duration) {
	if p.counts(now, passed) {
		p.due = now.Add(interval)
	}
	if passed || !initial {
		p.retry = 0
		return p, p.due.Sub(now)
	}
	p.retry = min(max(2*p.retry, firstRetry), maxRetry)
	return p, min(p.retry, p.due.Sub(now))
}
