package api

import (
	"encoding/json"
	"time"

	"github.com/ferrycd/ferry/internal/config"
)

// DeployRequest is the body of POST /v1/apps/{app}/envs/{env}/deploy: what
// the CLI rendered and built in the deployer's environment.
type DeployRequest struct {
	// Runtime is the definition's default runtime ("" = process).
	Runtime string `json:"runtime,omitempty"`
	// Services are the rendered services by name, with real secret values:
	// the task needs them. They travel only over the authenticated API.
	Services map[string]config.Service `json:"services"`
	// Secrets are the secret values found in Services, masked out of every
	// event and display.
	Secrets []string `json:"secrets,omitempty"`
	// Notifications are the app's webhook targets, secrets included.
	Notifications []config.Notification `json:"notifications,omitempty"`
	Artifact      string                `json:"artifact"`
	GitSHA        string                `json:"git_sha,omitempty"`
	Message       string                `json:"message,omitempty"`
	// Preview deploys to a preview's environment. Only the server's own
	// preview manager sets it: it is not part of the wire document.
	Preview bool `json:"-"`
}

// DeploymentRef names a deployment a request created.
type DeploymentRef struct {
	ID      int64  `json:"id"`
	Service string `json:"service"`
	From    int    `json:"from_revision"`
	To      int    `json:"to_revision"`
}

// DeployResponse answers a deploy: one deployment per service whose spec or
// artifact changed (none when nothing did).
type DeployResponse struct {
	Deployments []DeploymentRef `json:"deployments"`
	Unchanged   []string        `json:"unchanged,omitempty"`
}

// Progress is one line of a deployment's progress (GET
// /v1/deployments/{id}/watch streams them; the last one is terminal).
type Progress struct {
	Deployment int64  `json:"deployment"`
	Service    string `json:"service"`
	Kind       string `json:"kind,omitempty"`
	Strategy   string `json:"strategy,omitempty"`
	State      string `json:"state"`
	Reason     string `json:"reason,omitempty"`
	From       int    `json:"from_revision"`
	To         int    `json:"to_revision"`
	Target     int    `json:"target_revision"`
	Count      int    `json:"count"`
	Batch      int    `json:"batch"`
	Batches    int    `json:"batches"`
	NewHealthy int    `json:"new_healthy"`
	NewTotal   int    `json:"new_total"`
	Old        int    `json:"old"`
	Failures   int    `json:"failures"`
	Threshold  int    `json:"threshold,omitempty"`
	// Blue/green, canary and immutable: Step of Steps (the final 100%
	// included) and the production weights by router group.
	Step    int            `json:"step,omitempty"`
	Steps   int            `json:"steps,omitempty"`
	Weights map[string]int `json:"weights,omitempty"`
	// Hold is why the deployment paused for a human.
	Hold     string    `json:"hold,omitempty"`
	Analysis *Analysis `json:"analysis,omitempty"`
	// Done is set on the last line: State is then terminal.
	Done bool `json:"done,omitempty"`
}

// Analysis is a deployment's latest analysis figures.
type Analysis struct {
	Group     string  `json:"group,omitempty"`
	Checks    int     `json:"checks"`
	Failures  int     `json:"failures"`
	Verdict   string  `json:"verdict,omitempty"`
	Reason    string  `json:"reason,omitempty"`
	Requests  int64   `json:"requests"`
	ErrorRate float64 `json:"error_rate"` // percent of 5xx
	P99Ms     float64 `json:"p99_ms"`
}

// Deployment states the CLI tells apart (the store's vocabulary).
const (
	StateSucceeded  = "succeeded"
	StateRolledBack = "rolled_back"
	StateFailed     = "failed"
	StateSuperseded = "superseded"
	StateAborted    = "aborted"
)

// Deployment is GET /v1/deployments/{id}.
type Deployment struct {
	ID         int64     `json:"id"`
	App        string    `json:"app"`
	Env        string    `json:"env"`
	Service    string    `json:"service"`
	From       int       `json:"from_revision"`
	To         int       `json:"to_revision"`
	Strategy   string    `json:"strategy"`
	State      string    `json:"state"`
	Reason     string    `json:"reason,omitempty"`
	CreatedAt  time.Time `json:"created_at"`
	FinishedAt time.Time `json:"finished_at,omitzero"`
}

// Status is GET /v1/apps/{app}/envs/{env}/status.
type Status struct {
	App         string          `json:"app"`
	Environment string          `json:"environment"`
	Services    []ServiceStatus `json:"services"`
	// Previews are the app's preview environments, whatever env was asked
	// for, oldest first.
	Previews []Preview `json:"previews"`
}

// ServiceStatus is one service of a Status.
type ServiceStatus struct {
	Name         string `json:"name"`
	LiveRevision int    `json:"live_revision"`
	Desired      int    `json:"desired"`
	// Scaled is set when `ferry scale` overrides the file's count.
	Scaled  bool   `json:"scaled,omitempty"`
	Healthy int    `json:"healthy"`
	State   string `json:"state,omitempty"`
	Message string `json:"message,omitempty"`
	// CrashLoop is set while the service's tasks keep crashing and their
	// replacements are backed off.
	CrashLoop  bool         `json:"crash_loop,omitempty"`
	Deployment *Progress    `json:"deployment,omitempty"`
	Tasks      []TaskStatus `json:"tasks"`
}

// TaskStatus is one task of a ServiceStatus.
type TaskStatus struct {
	ID        string    `json:"id"`
	Revision  int       `json:"revision"`
	State     string    `json:"state"`
	Addr      string    `json:"addr,omitempty"`
	StartedAt time.Time `json:"started_at,omitzero"`
	Restarts  int       `json:"restarts,omitempty"`
	LastError string    `json:"last_error,omitempty"`
}

// Revision is one entry of GET .../services/{service}/revisions. Spec is the
// masked spec, present only when one revision is asked for.
type Revision struct {
	Number    int             `json:"number"`
	Live      bool            `json:"live,omitempty"`
	Artifact  string          `json:"artifact"`
	GitSHA    string          `json:"git_sha,omitempty"`
	Message   string          `json:"message,omitempty"`
	CreatedAt time.Time       `json:"created_at"`
	Spec      json.RawMessage `json:"spec,omitempty"`
}

// RollbackRequest is the body of POST .../services/{service}/rollback; To 0
// means the revision before the live one.
type RollbackRequest struct {
	To int `json:"to,omitempty"`
}

// ScaleRequest is the body of POST .../services/{service}/scale.
type ScaleRequest struct {
	Count int `json:"count"`
}

// ScaleResponse answers a scale.
type ScaleResponse struct {
	Service string `json:"service"`
	From    int    `json:"from"`
	Count   int    `json:"count"`
}

// RestartRequest is the body of POST .../services/{service}/restart: replace
// every task with the same revision, keeping MinHealthyPercent of the count
// serving, each new task healthy for Warmup before the next old one goes.
type RestartRequest struct {
	MinHealthyPercent int           `json:"min_healthy_percent"`
	Warmup            time.Duration `json:"warmup,omitempty"`
}

// Event is one line of GET /v1/events.
type Event struct {
	ID         int64           `json:"id"`
	Time       time.Time       `json:"time"`
	App        string          `json:"app,omitempty"`
	Env        string          `json:"env,omitempty"`
	Service    string          `json:"service,omitempty"`
	Deployment int64           `json:"deployment,omitempty"`
	Task       string          `json:"task,omitempty"`
	Type       string          `json:"type"`
	Message    string          `json:"message"`
	Fields     json.RawMessage `json:"fields,omitempty"`
}

// LogLine is one line of GET .../services/{service}/logs.
type LogLine struct {
	Task string `json:"task"`
	Line string `json:"line"`
}

// StoppedTasks answers DELETE /v1/tasks.
type StoppedTasks struct {
	Stopped []string `json:"stopped"`
}
