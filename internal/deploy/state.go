package deploy

import "time"

// ServiceState is one service's snapshot: what is wanted, what was decided
// before (persisted) and what runs. The server builds it from the store, the
// runtime and the router; Reconcile reads nothing else.
type ServiceState struct {
	// Service names the service; task ids are derived from it.
	Service string
	// Now is the snapshot's time; Reconcile never reads the clock.
	Now time.Time
	// Count is the desired number of healthy tasks.
	Count int
	// Live is the stable revision: the last one a deployment made fully
	// live, and the target of any rollback. 0 means none yet.
	Live int
	// Params are the deploy parameters of the service's current definition.
	Params Params
	// Status is the service's persisted decision state.
	Status ServiceStatus
	// Deployments are the unfinished deployments, oldest first. The newest
	// one wins; older ones end superseded.
	Deployments []Deployment
	// Tasks are every task the store records for the service, in any order.
	Tasks []Task
	// Router is what the router applies now; nil when it could not be read,
	// and then Reconcile emits no SetWeights or SetRules.
	Router *RouterView
	// Samples are the latest metric samples of the groups under analysis,
	// by group name.
	Samples map[string]Sample
	// Hooks are the recorded hook runs of the service's tasks and of its
	// unfinished deployments, in any order.
	Hooks []HookRun
}

// RouterView is the router's current traffic split for the service.
type RouterView struct {
	// Weights of every group the router has (a group exists once a target
	// was added to it).
	Weights map[string]int
	// TestGroup is the group the test-route rules send to; "" when none.
	TestGroup string
}

// ServiceStatus is the decision state Reconcile keeps per service across
// snapshots. The executor persists it when a plan carries SetService.
type ServiceStatus struct {
	// Seq is the last task sequence number handed out; ids never repeat.
	Seq int `json:"seq"`
	// Crashes counts task failures of the live revision since a task last
	// stayed healthy for Backoff.ResetAfter. It drives the restart backoff.
	Crashes     int       `json:"crashes,omitempty"`
	LastCrashAt time.Time `json:"last_crash_at,omitzero"`
	// CrashLoop is set once Crashes reaches Backoff.CrashLoopAfter.
	CrashLoop bool `json:"crash_loop,omitempty"`
	// Group is the router group that takes production traffic: "" means
	// RollingGroup. A traffic strategy's success moves it to the new
	// revision's group; rolling deployments register into it.
	Group string `json:"group,omitempty"`
}

// stableGroup is the group taking production traffic.
func (s ServiceStatus) stableGroup() string {
	if s.Group == "" {
		return RollingGroup
	}
	return s.Group
}

// TaskState is a task's place in its life, merged by the server from the
// store (intents), the runtime (process up or exited) and the router
// (health).
type TaskState string

// A task moves pending → starting → running → healthy, may turn unhealthy,
// and ends draining → stopping → stopped when ferry stops it, or failed when
// it exits on its own.
const (
	TaskPending   TaskState = "pending"   // recorded by a StartTask, not launched yet
	TaskStarting  TaskState = "starting"  // process up, not registered with the router
	TaskRunning   TaskState = "running"   // registered, not yet passed its health check
	TaskHealthy   TaskState = "healthy"   // passed its health check, takes traffic
	TaskUnhealthy TaskState = "unhealthy" // failed its health check (or was ejected)
	TaskDraining  TaskState = "draining"  // stop recorded: deregistered, finishing requests
	TaskStopping  TaskState = "stopping"  // pre_stop hook ran, signalled
	TaskStopped   TaskState = "stopped"   // exited after ferry stopped it
	TaskFailed    TaskState = "failed"    // exited without being asked
)

// active tasks are meant to serve; they count toward the surge budget.
func (s TaskState) active() bool {
	switch s {
	case TaskPending, TaskStarting, TaskRunning, TaskHealthy, TaskUnhealthy:
		return true
	}
	return false
}

// leaving tasks are being stopped by the executor.
func (s TaskState) leaving() bool { return s == TaskDraining || s == TaskStopping }

// Task is one task as the snapshot sees it.
type Task struct {
	ID       string
	Revision int
	// Generation tells a restart's replacements from the tasks they replace
	// when both run the same revision.
	Generation int
	State      TaskState
	StartedAt  time.Time
	// HealthySince is when the router last saw it turn healthy; zero unless
	// State is TaskHealthy.
	HealthySince time.Time
	// StopReason is the reason recorded by the StopTask that is stopping it.
	StopReason string
	// Exit is set once the task has exited.
	Exit *Exit
	// Group is the router group the task is registered in; "" when not
	// registered.
	Group string
}

// Exit describes how a task ended.
type Exit struct {
	Code   int // -1 when unknown
	Signal string
	At     time.Time
}
