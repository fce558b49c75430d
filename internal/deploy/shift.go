package deploy

import (
	"fmt"
	"time"
)

// Traffic strategies (blue_green, canary, immutable) share one movement:
// the new revision starts in a router group of its own beside the stable
// set, which keeps its capacity and its tasks until the new group has taken
// all traffic. Traffic moves through steps, each a weight of the new group
// applied in one SetWeights once the step's capacity is healthy, held for
// the step's pause or until a promote, and gated by analysis. After the
// final 100% the after_traffic hook runs, blue/green keeps the old set for
// terminate_old_after, then the old set is drained and stopped. Until then
// a rollback or an abort is a weight swap back (see swapBack).

// groupFor names the new revision's group: "r<N>", unless that is the
// stable group's name (a redeploy of a revision that runs in it).
func groupFor(d *Deployment, stable string) string {
	g := fmt.Sprintf("r%d", d.To)
	if g == stable {
		g += "-" + d.ID
	}
	return g
}

// steps are the traffic steps before the final 100%. A first deployment
// has no stable set to share traffic with, so it has none.
func (p *planner) steps(d *Deployment) []Step {
	if d.Status.From == 0 {
		return nil
	}
	switch p.s.Params.strategy() {
	case StrategyCanary:
		return p.s.Params.Steps
	case StrategyBlueGreen:
		return []Step{{Weight: 0, WaitForPromote: !p.s.Params.AutoPromote}}
	}
	return nil
}

// capacity is how many new tasks the new group needs at weight w.
func (p *planner) capacity(w int) int {
	n := p.s.Count
	if p.s.Params.strategy() != StrategyCanary || p.s.Params.FixedCapacity || w >= 100 {
		return n
	}
	return min(max((n*w+99)/100, 1), n)
}

// shift takes a traffic strategy's next step.
func (p *planner) shift(d *Deployment, promote, full bool) {
	if d.Status.State == DeployRollingBack {
		p.swapBack(d, d.Status.Reason)
		return
	}
	if !p.checks(d) {
		return
	}
	steps := p.steps(d)
	if promote && d.Status.Step < len(steps) {
		next := d.Status.Step + 1
		if full {
			next = len(steps)
		}
		p.event(EventDeploymentPromoted, d.ID, "", "promoted by an operator to step %d/%d", next+1, len(steps)+1)
		p.nextStep(d, next)
	}
	for range len(steps) + 1 {
		if !p.shiftStep(d, steps) {
			return
		}
	}
}

// checks runs the breaker, the progress deadline (while capacity is
// launching: a wait for a promote is not a lack of progress) and analysis;
// it reports whether the deployment still moves forward.
func (p *planner) checks(d *Deployment) bool {
	if d.Status.Committed {
		return true
	}
	p.observe(d)
	if th := BreakerThreshold(p.s.Count); !p.s.Params.DisableCircuitBreaker && d.Status.Failures >= th {
		p.rollBack(d, fmt.Sprintf("circuit breaker: %d tasks of r%d failed (threshold %d)", d.Status.Failures, d.Status.Target, th))
		return false
	}
	if !d.Status.Applied && d.Status.State == DeployInProgress {
		dl := p.s.Params.progressDeadline()
		if !p.s.Now.Before(d.Status.ProgressAt.Add(dl)) {
			p.rollBack(d, fmt.Sprintf("no progress for %s (progress deadline)", dl))
			return false
		}
		p.wakeAt(d.Status.ProgressAt.Add(dl))
	}
	return p.analyze(d)
}

func (p *planner) nextStep(d *Deployment, step int) {
	d.Status.Step = step
	d.Status.Applied = false
	d.Status.ProgressAt = p.s.Now
	p.depDirty = true
}

// shiftStep works on the current step; it reports whether the step was
// completed so the next one may start in the same plan.
func (p *planner) shiftStep(d *Deployment, steps []Step) bool {
	final := d.Status.Step >= len(steps)
	w := 100
	if !final {
		w = steps[d.Status.Step].Weight
	}
	c := p.classify(d)
	want := p.capacity(max(w, d.Status.Weight))
	missing := want - len(c.newActive)
	for range missing {
		p.start(d.Status.Target, d.Status.Generation, fmt.Sprintf("%s: r%d at %d%%", p.s.Params.strategy(), d.Status.Target, w))
	}
	p.wantShift(d, c.newHealthy > 0)
	if d.Status.State != DeployInProgress || missing > 0 {
		return false
	}
	if !d.Status.Applied {
		return p.apply(d, w, want, c)
	}
	if !final {
		return p.stepDone(d, steps[d.Status.Step])
	}
	return p.complete(d, c)
}

// apply sets step's weight once its capacity is healthy; the first weight
// above 0 waits for the before_traffic hook.
func (p *planner) apply(d *Deployment, w, want int, c census) bool {
	if c.newHealthy < want {
		return false
	}
	if w > 0 && d.Status.Weight == 0 {
		switch st, why := p.hook(HookBeforeTraffic, d.ID, firstHealthy(c.newActive)); st {
		case HookRunning:
			return false
		case HookFailed:
			p.rollBack(d, why)
			return false
		}
	}
	d.Status.Weight, d.Status.Applied, d.Status.StepAt = w, true, p.s.Now
	d.Status.ProgressAt = p.s.Now
	p.depDirty = true
	if w >= 100 {
		d.Status.SwitchedAt = p.s.Now
	}
	p.startAnalysis(d, d.Status.Group)
	p.wantShift(d, true)
	if w == 0 {
		p.event(EventDeploymentStep, d.ID, "", "r%d ready in %s: test traffic only", d.Status.Target, d.Status.Group)
	} else {
		p.event(EventDeploymentStep, d.ID, "", "r%d takes %d%% of traffic", d.Status.Target, w)
	}
	return true
}

// stepDone reports whether the applied step may end: its pause is over
// (or a promote came: see shift) and analysis, when declared, passed a check
// of the step's traffic. Blue/green's ready_timeout bounds the wait.
func (p *planner) stepDone(d *Deployment, st Step) bool {
	if p.s.Params.strategy() == StrategyBlueGreen && p.s.Params.ReadyTimeout > 0 {
		at := d.Status.StepAt.Add(p.s.Params.ReadyTimeout)
		if !p.s.Now.Before(at) {
			if !p.s.Params.ContinueOnTimeout {
				p.rollBack(d, fmt.Sprintf("not promoted within ready_timeout %s", p.s.Params.ReadyTimeout))
				return false
			}
			p.event(EventDeploymentPromoted, d.ID, "", "ready_timeout %s passed: promoting", p.s.Params.ReadyTimeout)
			p.nextStep(d, d.Status.Step+1)
			return true
		}
		p.wakeAt(at)
	}
	if st.WaitForPromote {
		return false
	}
	if end := d.Status.StepAt.Add(st.Pause); p.s.Now.Before(end) {
		p.wakeAt(end)
		return false
	}
	if !p.passedSince(d, d.Status.StepAt) {
		return false
	}
	p.nextStep(d, d.Status.Step+1)
	return true
}

// complete finishes a deployment whose new group takes all traffic: the
// after_traffic hook, blue/green's wait, then the old set goes.
func (p *planner) complete(d *Deployment, c census) bool {
	switch st, why := p.hook(HookAfterTraffic, d.ID, firstHealthy(c.newActive)); st {
	case HookRunning:
		return false
	case HookFailed:
		p.rollBack(d, why)
		return false
	}
	if p.s.Params.strategy() == StrategyBlueGreen {
		if end := d.Status.SwitchedAt.Add(p.s.Params.TerminateOldAfter); p.s.Now.Before(end) {
			p.wakeAt(end)
			return false
		}
	}
	if !d.Status.Committed {
		// From here the old set goes: no more swapping back.
		d.Status.Committed = true
		d.Status.Analysis.Group = ""
		p.depDirty = true
	}
	for _, t := range p.tasks {
		if p.present(t) && !d.isNew(t) && t.State.active() {
			p.stop(t, fmt.Sprintf("replaced by r%d", d.Status.Target))
		}
	}
	if c.old == 0 {
		p.finish(d)
	}
	return false
}

// wantShift asks the router for the deployment's split: the applied weight,
// and test traffic to the new group (blue/green and canary with a test
// route) once it has a healthy task.
func (p *planner) wantShift(d *Deployment, newReady bool) {
	w := map[string]int{d.Status.Stable: 100 - d.Status.Weight}
	if d.Status.Weight > 0 {
		w[d.Status.Group] = d.Status.Weight
	}
	test := ""
	if st := p.s.Params.strategy(); newReady && p.s.Params.TestRoute && (st == StrategyBlueGreen || st == StrategyCanary) && d.Status.Weight < 100 {
		test = d.Status.Group
	}
	p.wantRouter(w, test)
}

// swapBack turns a traffic deployment back before its old set went: all
// traffic to the stable group in one SetWeights (emitted first), test
// rules removed, the new tasks drained and stopped. The deployment ends
// (rolled_back, or aborted) only once the router shows the stable split,
// so whoever sees it ended can rely on the traffic being back.
func (p *planner) swapBack(d *Deployment, reason string) {
	p.wantRouter(map[string]int{d.Status.Stable: 100}, "")
	p.syncRouter()
	for _, t := range p.tasks {
		if p.present(t) && d.isNew(t) && t.State.active() {
			p.stop(t, "rolled back: "+reason)
		}
	}
	if d.Status.State != DeployRollingBack {
		d.Status.State, d.Status.Reason = DeployRollingBack, reason
		d.Status.Analysis.Group, d.Status.Weight = "", 0
		p.depDirty = true
		p.event(EventDeploymentRollingBack, d.ID, "", "rolling back to r%d: %s", d.Status.From, reason)
	}
	if !p.routerApplied() {
		return
	}
	if d.Status.Aborted {
		p.end(d, DeployAborted, d.Status.Reason)
		return
	}
	p.end(d, DeployRolledBack, d.Status.Reason)
}

func firstHealthy(ts []Task) Task {
	for _, t := range ts {
		if t.State == TaskHealthy {
			return t
		}
	}
	return Task{}
}

// stepEnd is when the applied step's pause ends (zero when it waits for
// a promote or is not applied).
func stepEnd(d Deployment, steps []Step) time.Time {
	if d.Status.Step >= len(steps) || !d.Status.Applied || steps[d.Status.Step].WaitForPromote {
		return time.Time{}
	}
	return d.Status.StepAt.Add(steps[d.Status.Step].Pause)
}
