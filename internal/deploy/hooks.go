package deploy

import "fmt"

// HookName names a lifecycle point.
type HookName string

// The hooks Reconcile runs. pre_stop belongs to the stop effect (deregister
// → drain → pre_stop → signal) and never appears in a RunHook.
const (
	HookLaunch        HookName = "launch"         // each new task, before it is registered
	HookBeforeTraffic HookName = "before_traffic" // once per deployment, before production traffic
	HookAfterTraffic  HookName = "after_traffic"  // once per deployment, after it took all traffic
	HookPreStop       HookName = "pre_stop"
)

// OnFailure is what a failed hook does.
type OnFailure string

const (
	OnFailureRollback OnFailure = "rollback" // also the zero value
	OnFailureContinue OnFailure = "continue"
)

// HookState is a hook run's outcome so far.
type HookState string

const (
	HookRunning HookState = "running"
	HookPassed  HookState = "passed"
	HookFailed  HookState = "failed"
)

// HookRun is a recorded run of a hook. Launch runs are keyed by Task;
// deployment hooks by (Deployment, Hook), Task being where they ran.
type HookRun struct {
	Hook       HookName
	Deployment string
	Task       string
	State      HookState
	// Message is the failure's reason (exit status, timeout), secrets masked.
	Message string
}

// hookRun finds the recorded run of hook for a deployment (deployment
// hooks) or a task (launch).
func (p *planner) hookRun(hook HookName, dep, task string) (HookRun, bool) {
	for _, r := range p.s.Hooks {
		if r.Hook != hook {
			continue
		}
		if (hook == HookLaunch && r.Task == task) || (hook != HookLaunch && r.Deployment == dep) {
			return r, true
		}
	}
	return HookRun{}, false
}

// hook reports where hook stands for (dep, task), asking for its run while
// it has not ended: passed when it is not declared, passed or failed with
// on_failure continue; running while under way; failed (with the reason)
// when it failed and on_failure is rollback.
func (p *planner) hook(hook HookName, dep string, t Task) (HookState, string) {
	policy, declared := p.s.Params.Hooks[hook]
	if !declared {
		return HookPassed, ""
	}
	r, ok := p.hookRun(hook, dep, t.ID)
	switch {
	case !ok || r.State == HookRunning:
		key := string(hook) + "/" + dep + "/" + t.ID
		if !p.hooked[key] {
			p.hooked[key] = true
			p.emit(RunHook{Hook: hook, Deployment: dep, Task: t.ID, Revision: t.Revision})
		}
		return HookRunning, ""
	case r.State == HookFailed && policy != OnFailureContinue:
		return HookFailed, fmt.Sprintf("%s hook failed on %s: %s", hook, r.Task, r.Message)
	}
	return HookPassed, ""
}

// launchHooks runs the launch hook of each started task before it may be
// registered. A failure (on_failure rollback) stops the task and counts as
// the task's failure; for a deployment's new task it rolls the deployment
// back at once.
func (p *planner) launchHooks(d *Deployment) {
	if _, ok := p.s.Params.Hooks[HookLaunch]; !ok {
		return
	}
	for _, t := range p.tasks {
		if !p.present(t) || t.State != TaskStarting {
			continue
		}
		st, why := p.hook(HookLaunch, p.launchDep(d, t), t)
		if st != HookFailed {
			continue
		}
		p.stop(t, why)
		p.event(EventHook, p.depID(), t.ID, "%s", why)
		if d != nil && d.isNew(t) && d.Status.State == DeployInProgress {
			p.rollBack(d, why)
			continue
		}
		p.failure(d, t)
	}
}

// launchDep is the deployment a launch hook runs for ("" outside one).
func (p *planner) launchDep(d *Deployment, t Task) string {
	if d != nil && d.isNew(t) {
		return d.ID
	}
	return ""
}

// launched reports whether t's launch hook let it through to the router.
func (p *planner) launched(t Task) bool {
	if _, ok := p.s.Params.Hooks[HookLaunch]; !ok {
		return true
	}
	r, ok := p.hookRun(HookLaunch, "", t.ID)
	return ok && r.State != HookRunning && (r.State == HookPassed || p.s.Params.Hooks[HookLaunch] == OnFailureContinue)
}
