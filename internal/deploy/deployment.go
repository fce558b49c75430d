package deploy

import "time"

// Kind says why a deployment was made; only restart changes how it moves.
type Kind string

const (
	KindDeploy   Kind = "deploy"   // a new revision (also the zero value)
	KindRollback Kind = "rollback" // `ferry rollback [--to N]`: a deploy of an older revision
	KindRestart  Kind = "restart"  // replace every task, same revision
)

// Deployment is the move of a service to revision To. The server records
// one in state pending (zero Status) and Reconcile drives it from there.
type Deployment struct {
	ID   string
	Kind Kind
	To   int
	// MinHealthyPercent and Warmup override max_unavailable and
	// min_healthy_time for a restart (`ferry restart --min-healthy --warmup`).
	// Zero keeps the service's parameters.
	MinHealthyPercent int
	Warmup            time.Duration
	// Controls are the operator's requests; the API writes them, Reconcile
	// only reads them.
	Controls Controls
	Status   Status
}

// DeployState is a deployment's place in its state machine.
type DeployState string

// pending → in_progress ⇄ paused → succeeded, or → rolling_back →
// rolled_back | failed; an abort ends in aborted; any unfinished state →
// superseded when a newer deployment arrives.
const (
	DeployPending     DeployState = ""
	DeployInProgress  DeployState = "in_progress"
	DeployRollingBack DeployState = "rolling_back"
	DeploySucceeded   DeployState = "succeeded"
	DeployRolledBack  DeployState = "rolled_back"
	DeployFailed      DeployState = "failed"
	DeploySuperseded  DeployState = "superseded"
	DeployPaused      DeployState = "paused"
	DeployAborted     DeployState = "aborted"
)

// Done reports whether the deployment has ended.
func (s DeployState) Done() bool {
	switch s {
	case DeploySucceeded, DeployRolledBack, DeployFailed, DeploySuperseded, DeployAborted:
		return true
	}
	return false
}

// Status is a deployment's persisted state: everything Reconcile needs to
// take the next step after a restart of the server. The executor stores it
// (as JSON) whenever a plan carries SetDeployment.
type Status struct {
	State  DeployState `json:"state"`
	Reason string      `json:"reason,omitempty"`
	// From is the live revision when the deployment began: where a rollback
	// returns.
	From int `json:"from"`
	// Target is the revision being moved to now: To, or From while rolling
	// back.
	Target int `json:"target"`
	// Generation: tasks of Target with a lower generation are replaced (a
	// restart); 0 for every other movement.
	Generation int       `json:"generation,omitempty"`
	StartedAt  time.Time `json:"started_at,omitzero"`
	EndedAt    time.Time `json:"ended_at,omitzero"`
	// ProgressAt is the last time the movement progressed; the progress
	// deadline counts from it.
	ProgressAt time.Time `json:"progress_at,omitzero"`
	// MostHealthy and FewestOld are the best figures the movement reached;
	// beating either is progress.
	MostHealthy int `json:"most_healthy"`
	FewestOld   int `json:"fewest_old"`
	// Failures counts failed launches and health-check replacements of the
	// Target's new tasks in this movement: the circuit breaker's count.
	Failures int `json:"failures"`

	// Group is the new revision's router group under a traffic strategy;
	// "" under rolling (new tasks join the stable group).
	Group string `json:"group,omitempty"`
	// Stable is the group that took production traffic when the deployment
	// began: where a rollback or an abort sends it back.
	Stable string `json:"stable,omitempty"`
	// Step is the index of the traffic step being worked on; len(steps)
	// is the final 100%.
	Step int `json:"step,omitempty"`
	// Weight is the new group's production weight in percent, StepAt when
	// it was set and Applied whether step Step's weight is set yet.
	Weight  int       `json:"weight,omitempty"`
	Applied bool      `json:"applied,omitempty"`
	StepAt  time.Time `json:"step_at,omitzero"`
	// SwitchedAt is when the new group took all traffic; Committed once
	// the old set is being stopped (no swap back from then on).
	SwitchedAt time.Time `json:"switched_at,omitzero"`
	Committed  bool      `json:"committed,omitempty"`
	// Promoted and Resumed count the operator's promote and resume requests
	// already acted on (see Controls).
	Promoted int `json:"promoted,omitempty"`
	Resumed  int `json:"resumed,omitempty"`
	// Hold is why the engine paused the deployment for a human; a resume
	// or a promote releases it.
	Hold string `json:"hold,omitempty"`
	// Aborted: the deployment moves back because an operator aborted it,
	// and ends aborted.
	Aborted  bool           `json:"aborted,omitempty"`
	Analysis AnalysisStatus `json:"analysis,omitzero"`
}

// Controls are an operator's requests on a deployment in flight. Promote
// and Resume count requests, so each is acted on exactly once however often
// Reconcile sees it.
type Controls struct {
	// Promote: move to the next step now (skipping its pause and analysis
	// gate); PromoteFull: straight to 100%.
	Promote     int  `json:"promote,omitempty"`
	PromoteFull bool `json:"promote_full,omitempty"`
	// Pause holds the deployment at its current step until cleared.
	Pause bool `json:"pause,omitempty"`
	// Resume releases a hold the engine took (inconclusive analysis).
	Resume int `json:"resume,omitempty"`
	// Abort sends traffic back to the stable group at once and stops the
	// new tasks; the deployment ends aborted.
	Abort bool `json:"abort,omitempty"`
}
