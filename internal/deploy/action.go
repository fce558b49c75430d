package deploy

import "time"

// Plan is Reconcile's answer: what to record and do, and when to look again.
type Plan struct {
	// Actions, in order. The executor applies them in two phases: first it
	// records every action in one store transaction (see each type), then it
	// performs the effects of StartTask, RegisterTask and StopTask.
	Actions []Action
	// Wake is when the loop must reconcile again even if nothing happens
	// (a backoff ends, a new task matures, a deadline passes). Zero: only
	// on the next change.
	Wake time.Time
}

// Action is one decision. The set is closed: the types below.
type Action interface{ action() }

// StartTask launches a new task. Record: a pending task row with this id
// (an upsert: Reconcile restates StartTask for a task still pending, e.g.
// after a crash between record and effect). Effect: runtime Start, then,
// when Register names a group, the RegisterTask effect at once: nothing
// (no launch hook, no before_traffic hold) has to come between, so the
// task needs no second pass to reach the router.
type StartTask struct {
	ID         string
	Revision   int
	Generation int
	Register   string
}

// RegisterTask adds a started task to a router group; the router then
// health-checks it and sends it traffic only once healthy. Restated while
// the task is starting. Record: none. Effect: router add target.
type RegisterTask struct {
	ID    string
	Group string
}

// SetWeights sets the production traffic split in one router call: each
// named group gets its weight, and every other group of the service gets 0.
// Reconcile emits it only while the router's weights (ServiceState.Router)
// differ, so it is restated until applied. Record: none. Effect: router
// SetWeights.
type SetWeights struct{ Weights map[string]int }

// SetRules points the service's test-route rules (header, cookie or test
// host from deploy.test_route) at TestGroup, or removes them when it is "".
// Restated while the router differs. Record: none. Effect: router
// PutService with the rules.
type SetRules struct{ TestGroup string }

// RunHook runs a lifecycle hook: launch in Task before it is registered;
// before_traffic and after_traffic once per Deployment, executed in Task (a
// task of the new revision). Record: a HookRun in state running, keyed by
// (Deployment, Hook, Task); an existing run is kept. Effect: run the
// command once per key with the task's environment plus FERRY_HOOK,
// FERRY_DEPLOYMENT_ID and FERRY_REVISION, bounded by its timeout, then
// record passed or failed; a restatement of a run under way is ignored.
type RunHook struct {
	Hook       HookName
	Deployment string
	Task       string
	Revision   int
}

// RollingGroup is the router group of a service under rolling deployments:
// like an ECS service's target group, old and new tasks share it.
const RollingGroup = "main"

// StopTask stops a task in DESIGN.md's order: deregister → drain → pre_stop
// hook → stop signal → SIGKILL after the stop timeout. Record: the task's
// state becomes draining with Reason. Effect: that sequence, once per task
// id; Reconcile restates StopTask for draining and stopping tasks so a
// restarted server resumes them, and the executor ignores a restatement of a
// stop already under way.
type StopTask struct {
	ID     string
	Reason string
}

// ForgetTask deletes the record of a task that has exited, once Reconcile
// has accounted for its exit (in SetService or SetDeployment of the same
// plan). Record: the row is deleted. Effect: runtime Remove.
type ForgetTask struct{ ID string }

// SetService records the service's decision state.
type SetService struct{ Status ServiceStatus }

// SetDeployment records a deployment's new status.
type SetDeployment struct {
	ID     string
	Status Status
}

// SetLive records the service's new stable revision.
type SetLive struct{ Revision int }

// Event is one line of the trace. Record: appended to the event log.
type Event struct {
	Type       EventType
	Deployment string // "" when not about a deployment
	Task       string // "" when not about a task
	Message    string
}

// EventType classifies events for filters and notifications.
type EventType string

const (
	EventDeploymentStarted     EventType = "deployment.started"
	EventDeploymentSucceeded   EventType = "deployment.succeeded"
	EventDeploymentRollingBack EventType = "deployment.rolling_back"
	EventDeploymentRolledBack  EventType = "deployment.rolled_back"
	EventDeploymentFailed      EventType = "deployment.failed"
	EventDeploymentSuperseded  EventType = "deployment.superseded"
	EventTaskStarting          EventType = "task.starting"
	EventTaskStopping          EventType = "task.stopping"
	EventTaskFailed            EventType = "task.failed"
	EventTaskUnhealthy         EventType = "task.unhealthy"
	EventServiceCrashLoop      EventType = "service.crash_loop"
	EventServiceRecovered      EventType = "service.recovered"
	EventDeploymentStep        EventType = "deployment.step"
	EventDeploymentPaused      EventType = "deployment.paused"
	EventDeploymentResumed     EventType = "deployment.resumed"
	EventDeploymentPromoted    EventType = "deployment.promoted"
	EventDeploymentAborted     EventType = "deployment.aborted"
	EventAnalysis              EventType = "deployment.analysis"
	EventHook                  EventType = "hook"
)

func (StartTask) action()     {}
func (RegisterTask) action()  {}
func (StopTask) action()      {}
func (ForgetTask) action()    {}
func (SetService) action()    {}
func (SetDeployment) action() {}
func (SetLive) action()       {}
func (Event) action()         {}
func (SetWeights) action()    {}
func (SetRules) action()      {}
func (RunHook) action()       {}
