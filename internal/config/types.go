package config

import (
	"slices"
	"sort"
	"time"
)

// Runtimes, strategies and other enumerations of the schema.
const (
	RuntimeProcess    = "process"
	RuntimeDocker     = "docker"
	RuntimeKubernetes = "kubernetes"

	StrategyRolling   = "rolling"
	StrategyBlueGreen = "blue_green"
	StrategyCanary    = "canary"
	StrategyImmutable = "immutable"

	OnFailureRollback = "rollback"
	OnFailureContinue = "continue"

	PortHTTP = "http"
)

var (
	runtimes       = []string{RuntimeProcess, RuntimeDocker, RuntimeKubernetes}
	strategies     = []string{StrategyRolling, StrategyBlueGreen, StrategyCanary, StrategyImmutable}
	onFailures     = []string{OnFailureRollback, OnFailureContinue}
	presets        = []string{"all_at_once", "canary10_5m", "canary10_15m", "linear10_1m", "linear10_3m"}
	capacities     = []string{"scaled", "fixed"}
	onReadyTimeout = []string{"continue", "stop"}
	// NotificationEvents are the deployment events a notification can ask
	// for; "canceled" is CodePipeline's word for "aborted".
	NotificationEvents = []string{"started", "step", "paused", "succeeded", "failed", "canceled", "aborted", "superseded", "rolled_back"}
)

// Definition is a loaded ferry.yaml: templates expanded, validated, the
// requested overlay applied and defaults filled in. It holds real secret
// values (the deploy needs them); print it only through Mask or RenderYAML.
type Definition struct {
	File          string // path the definition was read from (as given)
	Environment   string // the overlay applied: "" (base), "staging", "pr-42"...
	App           string
	Runtime       string
	Build         Build
	Services      map[string]*Service
	Environments  []string // names of the environment overlays, in file order
	Notifications []Notification
	Preview       *Preview // never nil: previews have defaults

	base    *node // the template-expanded tree, for ForPreview
	secrets *masker
	at      map[string]*node // canonical field path → node, for positions
}

// Build is how the app's artifact is made.
type Build struct {
	Steps  []Step
	Output string // directory packed into the artifact
}

// Step is one cached build step.
type Step struct {
	Name   string
	Run    string // run with sh -c
	Env    map[string]string
	Inputs []string // files and globs ("**" allowed) hashed for the cache key
}

// Service is one long-running process type of the app.
type Service struct {
	Name         string
	Command      []string // argv, run in the release directory
	Env          map[string]string
	Port         string // PortHTTP: ferry allocates a port and passes $PORT; "" for workers
	Count        int
	Runtime      string
	Health       Health
	Routes       []Route
	DrainTimeout time.Duration
	StopTimeout  time.Duration
	StopSignal   string
	Limits       Limits
	Image        *Image // docker and kubernetes runtimes only
	Deploy       Deploy
	Hooks        Hooks
}

// Health is the service's health check.
type Health struct {
	Path               string // "" = no HTTP check (workers)
	Interval           time.Duration
	Timeout            time.Duration
	HealthyThreshold   int
	UnhealthyThreshold int
	Status             StatusRange
	// StartPeriod is how long a task may refuse connections before its
	// first passing check without that counting as a failure (Docker's and
	// ECS's start period); 0 means one interval.
	StartPeriod time.Duration
}

// Route sends requests for Host (exact or "*.suffix") under Path (a prefix)
// to the service.
type Route struct {
	Host string
	Path string
}

// Limits are resource limits of one task; zero means unlimited.
type Limits struct {
	Memory int64 // bytes
	NoFile int
	Procs  int
	CPU    float64 // cores
}

// Image is the container image of a docker or kubernetes service: built
// from Dockerfile in Context, or Ref when set.
type Image struct {
	Dockerfile string
	Context    string
	Ref        string
}

// Deploy is how a new revision of the service is rolled out.
type Deploy struct {
	Strategy         string
	MaxSurge         CountOrPercent
	MaxUnavailable   CountOrPercent
	MinHealthyTime   time.Duration
	ProgressDeadline time.Duration
	CircuitBreaker   bool

	// canary: traffic moves through Steps, then to 100%.
	Steps          []CanaryStep
	Preset         string // the preset Steps were expanded from, if any
	CanaryCapacity string // scaled | fixed
	Sticky         bool

	// blue_green
	AutoPromote       bool
	ReadyTimeout      time.Duration
	OnReadyTimeout    string // continue | stop
	TerminateOldAfter time.Duration

	TestRoute *TestRoute // blue_green and canary: how testers reach the new group
	Analysis  *Analysis  // nil = health checks only
}

// CanaryStep sends Weight percent of traffic to the new revision, then
// waits Pause, or for a promote when WaitForPromote.
type CanaryStep struct {
	Weight         int
	Pause          time.Duration
	WaitForPromote bool
}

// TestRoute sends requests carrying Header or Cookie, or for Host, to the
// new group before it takes traffic.
type TestRoute struct {
	Header string
	Cookie string
	Host   string
}

// Analysis gates a rollout on the router's metrics of the new group.
type Analysis struct {
	MaxErrorRate      float64 // percentage points of 5xx; 0 = not checked
	MaxP99            time.Duration
	MinRequests       int
	Interval          time.Duration
	FailureLimit      int
	InconclusiveLimit int
	Webhooks          []Webhook
}

// Webhook is an external check: ferry POSTs the analysis context and a 2xx
// answer within Timeout passes.
type Webhook struct {
	URL     string
	Timeout time.Duration
}

// Hooks are the service's lifecycle hooks; nil when not declared.
type Hooks struct {
	Launch        *Hook // each new task, before its health check counts
	BeforeTraffic *Hook // once per deployment, before the new revision takes traffic
	AfterTraffic  *Hook // once per deployment, after it took all traffic
	PreStop       *Hook // each task, after draining and before the stop signal
}

// Hook is a command run at a lifecycle point.
type Hook struct {
	Command   []string
	Timeout   time.Duration
	OnFailure string // rollback | continue
}

// Notification posts deployment events to URL, signed with Secret.
type Notification struct {
	URL    string
	Secret string
	Events []string
}

// Preview configures pull-request environments.
type Preview struct {
	Domain   string
	TTL      time.Duration // since the last push
	Max      int
	Label    string   // when set, only PRs with this label get a preview
	Services []string // services deployed in a preview, sorted; empty = all
	Hooks    PreviewHooks
}

// PreviewHooks run when a preview is created and destroyed.
type PreviewHooks struct {
	OnCreate  *Hook
	OnDestroy *Hook
}

// ServiceNames returns the service names, sorted.
func (d *Definition) ServiceNames() []string {
	names := make([]string, 0, len(d.Services))
	for n := range d.Services {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Mask replaces every secret value of the definition in s with ***.
func (d *Definition) Mask(s string) string { return d.secrets.Mask(s) }

// SecretValues are the values the `secret` template function returned while
// the definition was rendered, sorted: what a server must mask out of
// everything it shows, wherever they occur.
func (d *Definition) SecretValues() []string {
	if d.secrets == nil {
		return nil
	}
	out := slices.Clone(d.secrets.raw)
	slices.Sort(out)
	return out
}
