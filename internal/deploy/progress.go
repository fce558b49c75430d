package deploy

import (
	"fmt"
	"strings"
	"time"
)

// Progress summarises a deployment for `ferry deploy`'s live output and
// `ferry status`.
type Progress struct {
	Deployment string
	Kind       Kind
	Strategy   Strategy
	State      DeployState
	Reason     string
	From, To   int
	// Target is the revision being moved to now (From while rolling back).
	Target int
	Count  int
	// Batch of Batches: a batch is as many tasks as the budget replaces at
	// once (surge + unavailable).
	Batch, Batches int
	// NewHealthy of NewTotal tasks of the target serve or are starting.
	NewHealthy, NewTotal int
	// Old tasks still present, draining ones included.
	Old int
	// Failures of the target's tasks versus the circuit breaker's threshold
	// (0 when the breaker is off).
	Failures, Threshold int

	// Traffic strategies: Step of Steps (the final 100% included), the
	// production weights by group, the new group's, when the step's pause
	// ends (zero: it waits for a promote or its capacity).
	Step, Steps int
	Weights     map[string]int
	Group       string
	StepEnds    time.Time
	// Hold is why the engine paused for a human.
	Hold     string
	Analysis AnalysisStatus
}

// Summarize reports d (in flight or ended) against the tasks in s.
func Summarize(s ServiceState, d Deployment) Progress {
	p := newPlanner(s)
	if d.Status.State == DeployPending {
		d.Status.Target, d.Status.From = d.To, s.Live
	}
	c := p.classify(&d)
	pr := Progress{
		Deployment: d.ID, Kind: d.Kind, Strategy: s.Params.strategy(), State: d.Status.State,
		Reason: d.Status.Reason, From: d.Status.From, To: d.To, Target: d.Status.Target, Count: s.Count,
		NewHealthy: c.newHealthy, NewTotal: len(c.newActive), Old: c.old, Failures: d.Status.Failures,
	}
	if pr.Kind == "" {
		pr.Kind = KindDeploy
	}
	if !s.Params.DisableCircuitBreaker {
		pr.Threshold = BreakerThreshold(s.Count)
	}
	size := 1
	if b, err := p.budget(&d); err == nil {
		size = max(b.Surge+b.Unavailable, 1)
	}
	pr.Batches = max((s.Count+size-1)/size, 1)
	pr.Batch = min(c.newHealthy/size+1, pr.Batches)
	pr.Hold, pr.Analysis = d.Status.Hold, d.Status.Analysis
	if g := d.Status.Group; g != "" {
		steps := p.steps(&d)
		pr.Group, pr.Steps, pr.Step = g, len(steps)+1, min(d.Status.Step, len(steps))+1
		pr.Weights = map[string]int{d.Status.Stable: 100 - d.Status.Weight, g: d.Status.Weight}
		pr.StepEnds = stepEnd(d, steps)
	}
	return pr
}

// String is the one-line form, e.g.
// "d-7 in_progress: rolling r1 → r2, batch 2/4, new 3/4 healthy of 10, old 7, failures 0/5".
func (pr Progress) String() string {
	var b strings.Builder
	state := string(pr.State)
	if state == "" {
		state = "pending"
	}
	fmt.Fprintf(&b, "%s %s: %s r%d → r%d", pr.Deployment, state, pr.Strategy, pr.From, pr.To)
	if pr.Target != pr.To {
		fmt.Fprintf(&b, " (back to r%d)", pr.Target)
	}
	if pr.Group != "" {
		fmt.Fprintf(&b, ", step %d/%d, %d%% to %s", pr.Step, pr.Steps, pr.Weights[pr.Group], pr.Group)
	} else {
		fmt.Fprintf(&b, ", batch %d/%d", pr.Batch, pr.Batches)
	}
	fmt.Fprintf(&b, ", new %d/%d healthy of %d, old %d", pr.NewHealthy, pr.NewTotal, pr.Count, pr.Old)
	if pr.Threshold > 0 {
		fmt.Fprintf(&b, ", failures %d/%d", pr.Failures, pr.Threshold)
	}
	if a := pr.Analysis; a.Checks > 0 {
		fmt.Fprintf(&b, ", analysis %s (%d checks, %d failed", a.Verdict, a.Checks, a.Failures)
		if l := a.Last; l.Requests > 0 {
			fmt.Fprintf(&b, "; last %d requests, %.2f%% 5xx, p99 %s", l.Requests, float64(l.Errors)*100/float64(l.Requests), l.P99)
		}
		b.WriteString(")")
	}
	if pr.Hold != "" {
		fmt.Fprintf(&b, ", held: %s", pr.Hold)
	}
	if pr.Reason != "" {
		fmt.Fprintf(&b, " — %s", pr.Reason)
	}
	return b.String()
}
