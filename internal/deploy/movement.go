package deploy

import (
	"fmt"
	"time"
)

// activeDeployment ends every unfinished deployment but the newest as
// superseded, begins the newest if it is pending, and returns a copy of it
// for this plan to advance (nil when none is in flight).
func (p *planner) activeDeployment() *Deployment {
	var open []Deployment
	for _, d := range p.s.Deployments {
		if !d.Status.State.Done() {
			open = append(open, d)
		}
	}
	if len(open) == 0 {
		return nil
	}
	d := open[len(open)-1]
	for _, old := range open[:len(open)-1] {
		old.Status.State = DeploySuperseded
		old.Status.Reason = "superseded by " + d.ID
		old.Status.EndedAt = p.s.Now
		p.emit(SetDeployment{ID: old.ID, Status: old.Status})
		p.event(EventDeploymentSuperseded, old.ID, "", "superseded by %s (r%d)", d.ID, d.To)
	}
	p.dep = &d
	if d.Status.State == DeployPending {
		p.begin(&d)
	}
	return &d
}

// begin starts a pending deployment from whatever is running.
func (p *planner) begin(d *Deployment) {
	gen := 0
	if d.Kind == KindRestart {
		for _, t := range p.tasks {
			if t.Revision == d.To {
				gen = max(gen, t.Generation+1)
			}
		}
		gen = max(gen, 1)
	}
	d.Status = Status{State: DeployInProgress, From: p.s.Live, Target: d.To, Generation: gen, StartedAt: p.s.Now,
		Stable: p.svc.stableGroup()}
	if p.s.Params.strategy() != StrategyRolling && d.Kind != KindRestart {
		d.Status.Group = groupFor(d, d.Status.Stable)
	} else {
		// Rolling shares the stable group: analysis judges all of it.
		p.startAnalysis(d, d.Status.Stable)
	}
	p.restartProgress(d)
	if d.Kind == KindRestart {
		p.event(EventDeploymentStarted, d.ID, "", "restarting r%d: replacing every task (%d)", d.To, p.s.Count)
	} else {
		p.event(EventDeploymentStarted, d.ID, "", "%s r%d → r%d (%d tasks)", p.s.Params.strategy(), p.s.Live, d.To, p.s.Count)
	}
}

// restartProgress begins a movement's progress tracking.
func (p *planner) restartProgress(d *Deployment) {
	d.Status.ProgressAt = p.s.Now
	d.Status.MostHealthy = 0
	d.Status.FewestOld = p.classify(d).old
	d.Status.Failures = 0
	p.depDirty = true
}

func (d *Deployment) isNew(t Task) bool {
	return d.Status.Target != 0 && t.Revision == d.Status.Target && t.Generation >= d.Status.Generation
}

// advance takes the deployment's next step: check the circuit breaker and
// the progress deadline, then move capacity within the budget, and end the
// deployment once the target is fully live.
func (p *planner) advance(d *Deployment) {
	switch st := p.s.Params.strategy(); st {
	case StrategyRolling, StrategyBlueGreen, StrategyCanary, StrategyImmutable:
	default:
		p.end(d, DeployFailed, fmt.Sprintf("deploy.strategy: %q is not supported", st))
		return
	}
	promote, full := p.controls(d)
	if d.Status.State.Done() {
		return
	}
	if d.Status.Group != "" {
		p.shift(d, promote, full)
		return
	}
	p.roll(d)
}

// roll is the rolling movement: breaker, deadline and analysis, then a
// rolling step; before_traffic gates the registration of the first new
// tasks and after_traffic the success.
func (p *planner) roll(d *Deployment) {
	b, err := p.budget(d)
	if err != nil {
		p.end(d, DeployFailed, err.Error())
		return
	}
	if d.Status.State == DeployPaused {
		return
	}
	if !p.analyze(d) {
		return
	}
	p.observe(d)
	if th := BreakerThreshold(p.s.Count); !p.s.Params.DisableCircuitBreaker && d.Status.Failures >= th {
		p.rollBack(d, fmt.Sprintf("circuit breaker: %d tasks of r%d failed (threshold %d)", d.Status.Failures, d.Status.Target, th))
	}
	if dl := p.s.Params.progressDeadline(); !d.Status.State.Done() && !p.s.Now.Before(d.Status.ProgressAt.Add(dl)) {
		p.rollBack(d, fmt.Sprintf("no progress for %s (progress deadline)", dl))
	}
	if d.Status.State.Done() {
		return
	}
	p.wakeAt(d.Status.ProgressAt.Add(p.s.Params.progressDeadline()))
	forward := d.Status.State == DeployInProgress
	if forward && !p.rollingBeforeTraffic(d) {
		return
	}
	if !p.move(d, b) {
		return
	}
	if forward {
		switch st, why := p.hook(HookAfterTraffic, d.ID, firstHealthy(p.classify(d).newActive)); st {
		case HookRunning:
			return
		case HookFailed:
			p.rollBack(d, why)
			return
		}
	}
	p.finish(d)
}

// rollingBeforeTraffic runs before_traffic in the first new task that is
// up and holds the registration of new tasks until it passed. It reports
// false when the deployment turned back.
func (p *planner) rollingBeforeTraffic(d *Deployment) bool {
	if _, ok := p.s.Params.Hooks[HookBeforeTraffic]; !ok {
		return true
	}
	var up *Task
	for _, t := range p.tasks {
		if p.present(t) && d.isNew(t) && t.State.active() && t.State != TaskPending {
			up = &t
			break
		}
	}
	if up == nil {
		p.holdNew = true
		return true
	}
	switch st, why := p.hook(HookBeforeTraffic, d.ID, *up); st {
	case HookRunning:
		p.holdNew = true
	case HookFailed:
		p.rollBack(d, why)
		return false
	}
	return true
}

// budget resolves the movement's surge and unavailability; a restart's
// min_healthy_percent replaces max_unavailable.
func (p *planner) budget(d *Deployment) (Budget, error) {
	unavailable := p.s.Params.MaxUnavailable
	if d.Kind == KindRestart && d.MinHealthyPercent > 0 {
		minHealthy := (p.s.Count*min(d.MinHealthyPercent, 100) + 99) / 100
		unavailable = Quantity(fmt.Sprint(p.s.Count - minHealthy))
	}
	return RollingBudget(p.s.Count, p.s.Params.MaxSurge, unavailable)
}

func (p *planner) minHealthyTime(d *Deployment) time.Duration {
	if d.Kind == KindRestart && d.Warmup > 0 {
		return d.Warmup
	}
	return p.s.Params.MinHealthyTime
}

// census is a movement's view of the tasks still present.
type census struct {
	newActive  []Task // of the target, meant to serve
	newHealthy int
	newMature  int    // healthy for at least min_healthy_time
	oldHealthy []Task // of any other revision or generation
	oldUnready []Task
	old        int // old tasks still present, leaving ones included
	active     int // tasks meant to serve, old and new
}

func (p *planner) classify(d *Deployment) census {
	var c census
	warm := p.minHealthyTime(d)
	for _, t := range p.tasks {
		if !p.present(t) {
			continue
		}
		isNew := d.isNew(t)
		if !isNew && (t.State.active() || t.State.leaving()) {
			c.old++
		}
		if !t.State.active() {
			continue
		}
		c.active++
		switch {
		case isNew:
			c.newActive = append(c.newActive, t)
			if t.State == TaskHealthy {
				c.newHealthy++
				if mature := t.HealthySince.Add(warm); p.s.Now.Before(mature) {
					p.wakeAt(mature)
				} else {
					c.newMature++
				}
			}
		case t.State == TaskHealthy:
			c.oldHealthy = append(c.oldHealthy, t)
		default:
			c.oldUnready = append(c.oldUnready, t)
		}
	}
	return c
}

// observe records progress: more new tasks healthy, or fewer old ones left.
func (p *planner) observe(d *Deployment) {
	c := p.classify(d)
	if c.newHealthy > d.Status.MostHealthy || c.old < d.Status.FewestOld {
		d.Status.MostHealthy = max(d.Status.MostHealthy, c.newHealthy)
		d.Status.FewestOld = min(d.Status.FewestOld, c.old)
		d.Status.ProgressAt = p.s.Now
		p.depDirty = true
	}
}

// move is the rolling step (ECS semantics). Old tasks that do not serve are
// stopped at once. A healthy old task is stopped only while the tasks that
// can be relied on — healthy old ones plus new ones healthy for
// min_healthy_time — stay at least count − max_unavailable after the stop.
// New tasks start while the tasks meant to serve stay within count +
// max_surge. It reports whether the target is fully live: count new tasks
// healthy and no old task left.
func (p *planner) move(d *Deployment, b Budget) bool {
	n := p.s.Count
	if d.Status.Target == 0 {
		n = 0
	}
	c := p.classify(d)
	target := d.Status.Target
	if extra := len(c.newActive) - n; extra > 0 {
		for _, t := range scaleDownOrder(c.newActive)[:extra] {
			p.stop(t, fmt.Sprintf("scaling down to %d", n))
		}
		c = p.classify(d)
	}
	for _, t := range c.oldUnready {
		p.stop(t, fmt.Sprintf("replaced by r%d", target))
		c.active--
	}
	reliable := len(c.oldHealthy) + c.newMature
	for _, t := range scaleDownOrder(c.oldHealthy) {
		if reliable-1 < n-b.Unavailable {
			break
		}
		p.stop(t, fmt.Sprintf("replaced by r%d", target))
		reliable--
		c.active--
	}
	if room := min(n-len(c.newActive), n+b.Surge-c.active); room > 0 {
		for range room {
			p.start(target, d.Status.Generation, fmt.Sprintf("rolling toward r%d", target))
		}
	}
	return c.newHealthy >= n && c.old == 0
}

// rollBack turns the deployment back toward the revision it started from. A
// rollback that itself fails ends the deployment failed and leaves what runs.
func (p *planner) rollBack(d *Deployment, reason string) {
	if d.Status.Group != "" && !d.Status.Committed {
		p.swapBack(d, reason)
		return
	}
	if d.Status.State == DeployRollingBack {
		p.end(d, DeployFailed, fmt.Sprintf("rollback to r%d failed: %s; leaving the running tasks as they are", d.Status.Target, reason))
		return
	}
	d.Status.State = DeployRollingBack
	d.Status.Reason = reason
	d.Status.Target = d.Status.From
	d.Status.Generation = 0
	d.Status.Analysis.Group = ""
	p.restartProgress(d)
	p.event(EventDeploymentRollingBack, d.ID, "", "rolling back to r%d: %s", d.Status.From, reason)
}

// finish ends a movement that reached its target.
func (p *planner) finish(d *Deployment) {
	if d.Status.State == DeployRollingBack {
		if d.Status.Aborted {
			p.end(d, DeployAborted, d.Status.Reason)
			return
		}
		p.end(d, DeployRolledBack, d.Status.Reason)
		return
	}
	if d.Status.Group != "" {
		p.svc.Group = d.Status.Group
		p.svcDirty = true
	}
	if d.Status.Target != p.s.Live {
		p.emit(SetLive{Revision: d.Status.Target})
		p.s.Live = d.Status.Target
	}
	p.end(d, DeploySucceeded, "")
}

func (p *planner) end(d *Deployment, state DeployState, reason string) {
	d.Status.State = state
	d.Status.Reason = reason
	d.Status.EndedAt = p.s.Now
	p.depDirty = true
	switch state {
	case DeploySucceeded:
		p.event(EventDeploymentSucceeded, d.ID, "", "r%d is live (%d tasks healthy)", d.Status.Target, p.s.Count)
	case DeployRolledBack:
		p.event(EventDeploymentRolledBack, d.ID, "", "rolled back to r%d: %s", d.Status.Target, reason)
	case DeployFailed:
		p.event(EventDeploymentFailed, d.ID, "", "FAILED: %s", reason)
	case DeployAborted:
		p.event(EventDeploymentAborted, d.ID, "", "aborted: r%d is live", p.s.Live)
	}
}
