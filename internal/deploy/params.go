package deploy

import "time"

// Strategy names how a deployment moves traffic and capacity.
type Strategy string

// The strategies. Rolling replaces tasks inside one shared router group;
// the others start the new revision in a group of its own and move traffic
// between groups by weight (see shift.go).
const (
	StrategyRolling   Strategy = "rolling"
	StrategyBlueGreen Strategy = "blue_green"
	StrategyCanary    Strategy = "canary"
	StrategyImmutable Strategy = "immutable"
)

// Params are a service's deploy parameters. The zero value is DESIGN.md's
// defaults: rolling, max_surge 25% (at least 1), max_unavailable 0, circuit
// breaker on, progress deadline 10m, no analysis, no hooks.
type Params struct {
	Strategy       Strategy // "" means rolling
	MaxSurge       Quantity // "" means 25%
	MaxUnavailable Quantity // "" means 0
	// MinHealthyTime is how long a new task must stay healthy before an old
	// one may be stopped on its account.
	MinHealthyTime time.Duration
	// ProgressDeadline rolls back a deployment that made no progress (no new
	// task turned healthy, no old task went away) for this long. 0 means 10m.
	ProgressDeadline time.Duration
	// DisableCircuitBreaker turns off rollback on repeated task failures.
	DisableCircuitBreaker bool
	Backoff               Backoff

	// Steps are the canary's traffic steps; the final 100% is implied.
	Steps []Step
	// FixedCapacity starts the canary's full count at once instead of
	// ceil(count × weight / 100) per step.
	FixedCapacity bool

	// AutoPromote promotes blue/green once green is ready (and analysis,
	// when configured, passed a check); otherwise it waits for a promote.
	AutoPromote bool
	// ReadyTimeout bounds the wait for a promote; then ContinueOnTimeout
	// promotes, otherwise the deployment rolls back. 0: wait forever.
	ReadyTimeout      time.Duration
	ContinueOnTimeout bool
	// TerminateOldAfter keeps blue/green's old set (rollback is a weight
	// swap while it lives) for this long after promotion.
	TerminateOldAfter time.Duration

	// TestRoute: the service declares a test route, so blue/green and canary
	// send test traffic to the new group while the deployment is in flight.
	TestRoute bool
	// Analysis gates the deployment on the router's metrics; nil: none.
	Analysis *Analysis
	// Hooks maps each declared hook to what its failure does; pre_stop is
	// the stop effect's and is not listed here.
	Hooks map[HookName]OnFailure
}

// Step is one canary step: Weight percent of traffic to the new group,
// then a wait of Pause, or for a promote when WaitForPromote.
type Step struct {
	Weight         int
	Pause          time.Duration
	WaitForPromote bool
}

const defaultProgressDeadline = 10 * time.Minute

func (p Params) progressDeadline() time.Duration {
	if p.ProgressDeadline > 0 {
		return p.ProgressDeadline
	}
	return defaultProgressDeadline
}

func (p Params) strategy() Strategy {
	if p.Strategy == "" {
		return StrategyRolling
	}
	return p.Strategy
}
