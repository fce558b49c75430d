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
//
// A task that is slow to start (a JVM, a framework's boot) refuses
// connections until it listens; counted as failures, those refusals made a
// task that takes longer than unhealthy_threshold−1 intervals to listen
// unhealthy before it ever came up, replaced, and the same again, until the
// circuit breaker rolled the deploy back. So until a probe has passed, and
// for the service's start period (health.start_period, at least one
// interval) after the first probe, a probe that found nothing listening
// (connection refused) is not a failure, as Docker's and ECS's start period
// say. Such probes are not counted at all, not even as the regular probe.
// They are repeated after a tenth of the time waited so far (at least
// firstRetry, at most an interval): a task that listens within milliseconds
// is found within milliseconds, and one that boots for a minute is not
// probed hundreds of times a second meanwhile. Any other failure (an error status, a timeout,
// a reset) counts as always, and once the start period is over so does a
// refusal: a task that never listens (say, on the wrong port) is still
// found unhealthy, one start period later.
const (
	firstRetry = 2 * time.Millisecond
	maxRetry   = 20 * time.Millisecond
	// startBackoff: a starting target that refuses is probed again after
	// 1/startBackoff of the time since its first probe.
	startBackoff = 10
)

// pace is one target's probe schedule. The zero value probes at once.
type pace struct {
	due    time.Time     // when the next regular probe is due
	retry  time.Duration // the last retry's delay; 0 when not retrying
	began  time.Time     // when the first probe ended; zero before it
	passed bool          // a probe has passed
}

// starting reports whether a probe that ended at now and found nothing
// listening is forgiven: no probe has passed yet and the start period since
// the first probe is not over.
func (p pace) starting(now time.Time, startPeriod time.Duration) bool {
	return !p.passed && (p.began.IsZero() || now.Sub(p.began) < startPeriod)
}

// counts reports whether a probe that ended at now goes into the streak:
// a regular probe does, a retry only when it passed.
func (p pace) counts(now time.Time, passed bool) bool {
	return passed || !now.Before(p.due)
}

// after is the schedule following a probe that was sent at sent and ended
// at now, and the delay until the next probe. forgiven reports a refusal
// during the start period (not counted); initial reports that the target
// has still never been healthy after this probe. A regular probe is due an
// interval after the previous counted one was sent, not after it ended: a
// probe's own time (a loaded task answers in milliseconds) must not delay
// every later one, nor a new target's turn to healthy.
func (p pace) after(sent, now time.Time, passed, forgiven, initial bool, interval time.Duration) (pace, time.Duration) {
	if p.began.IsZero() {
		p.began = now
	}
	p.passed = p.passed || passed
	if forgiven {
		p.retry = min(max(now.Sub(p.began)/startBackoff, firstRetry), interval)
		return p, p.retry
	}
	if p.counts(now, passed) {
		p.due = sent.Add(interval)
	}
	next := max(p.due.Sub(now), 0)
	if passed || !initial {
		p.retry = 0
		return p, next
	}
	p.retry = min(max(2*p.retry, firstRetry), maxRetry)
	return p, min(p.retry, next)
}
