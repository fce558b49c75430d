// Package api holds the router's admin API vocabulary: the JSON documents the
// control plane sends to `ferry router` over its unix socket and the status
// and metrics it reads back. It is shared by the router (which serves it) and
// its client (which the server uses); it holds types only, no behaviour.
package api

import "time"

// Service is one routed service: its routes, how its targets are checked and
// balanced, and how long a removed target may drain. Its name is opaque to the
// router; the control plane uses "<app>/<environment>/<service>".
type Service struct {
	Name         string        `json:"name"`
	Routes       []Route       `json:"routes"`
	Health       HealthCheck   `json:"health"`
	Balancer     string        `json:"balancer,omitempty"` // "round_robin" (default) or "least_outstanding"
	DrainTimeout time.Duration `json:"drain_timeout,omitempty"`
	// Sticky keeps a client on the group it was first sent to (by cookie)
	// while weights move, e.g. during a canary.
	Sticky bool `json:"sticky,omitempty"`
	// Rules send matching requests to a named group whatever the weights.
	Rules []Rule `json:"rules,omitempty"`
}

// Route is a host (exact, or "*.suffix" wildcard) plus a path prefix.
type Route struct {
	Host       string `json:"host"`
	PathPrefix string `json:"path_prefix,omitempty"` // default "/"
}

// HealthCheck configures active checks of each target. Zero fields take
// DESIGN.md's defaults: every 1s, timeout 2s, 2 successes, 3 failures, 200-399.
type HealthCheck struct {
	Path               string        `json:"path,omitempty"`
	Interval           time.Duration `json:"interval,omitempty"`
	Timeout            time.Duration `json:"timeout,omitempty"`
	HealthyThreshold   int           `json:"healthy_threshold,omitempty"`
	UnhealthyThreshold int           `json:"unhealthy_threshold,omitempty"`
	Status             string        `json:"status,omitempty"` // e.g. "200-399" or "200,204"
	// StartPeriod is how long after a target's first probe a refused
	// connection is not counted as a failure, until a probe passes; at
	// least one interval (the zero value).
	StartPeriod time.Duration `json:"start_period,omitempty"`
}

// Rule routes a request to Group when it matches: a header with a value, a
// cookie with a value, or a dedicated test host. Exactly one kind is set.
type Rule struct {
	Header string `json:"header,omitempty"`
	Cookie string `json:"cookie,omitempty"`
	Value  string `json:"value,omitempty"`
	Host   string `json:"host,omitempty"`
	Group  string `json:"group"`
}

// Group is one revision's targets and its share of the service's traffic.
type Group struct {
	Name    string   `json:"name"`
	Weight  int      `json:"weight"` // 0-100; weights of a service's groups are normalised
	Targets []Target `json:"targets,omitempty"`
}

// Target is one task as the router sees it.
type Target struct {
	ID   string `json:"id"`
	Addr string `json:"addr"` // host:port
}

// TargetHealth is a target's state in the router.
type TargetHealth string

const (
	// TargetInitial: registered, not yet passed healthy_threshold checks; takes no traffic.
	TargetInitial TargetHealth = "initial"
	TargetHealthy TargetHealth = "healthy"
	// TargetUnhealthy: failed unhealthy_threshold checks or was ejected passively.
	TargetUnhealthy TargetHealth = "unhealthy"
	TargetDraining  TargetHealth = "draining"
)

// TargetStatus reports one target.
type TargetStatus struct {
	Target
	Health   TargetHealth `json:"health"`
	InFlight int64        `json:"in_flight"`
	// LastError is the latest failed check's reason, if any.
	LastError string `json:"last_error,omitempty"`
}

// GroupStatus reports one group.
type GroupStatus struct {
	Name     string         `json:"name"`
	Weight   int            `json:"weight"`
	FailOpen bool           `json:"fail_open"` // every target unhealthy: traffic goes to all of them
	Targets  []TargetStatus `json:"targets"`
}

// ServiceStatus reports a service and its groups.
type ServiceStatus struct {
	Service
	Groups []GroupStatus `json:"groups"`
}

// HealthChanges answers a long poll for targets' health transitions: the
// services with one after the version asked for, and the version to ask
// for next.
type HealthChanges struct {
	Version  uint64   `json:"version"`
	Services []string `json:"services"`
}

// DrainResult reports the end of a drain.
type DrainResult struct {
	Drained  int           `json:"drained"`  // requests that finished while draining
	Cut      int           `json:"cut"`      // requests still in flight at the drain timeout
	Duration time.Duration `json:"duration"` // how long the drain took
}

// Metrics are a service's or group's figures over a sliding window.
type Metrics struct {
	Window   time.Duration    `json:"window"`
	Requests int64            `json:"requests"`
	Status   map[string]int64 `json:"status"` // "2xx", "3xx", "4xx", "5xx"
	// ErrorRate is the share of 5xx responses (0..1); 0 when there were none.
	ErrorRate float64       `json:"error_rate"`
	P50       time.Duration `json:"p50"`
	P90       time.Duration `json:"p90"`
	P99       time.Duration `json:"p99"`
	InFlight  int64         `json:"in_flight"`
	FailOpen  bool          `json:"fail_open"`
}

// Restarted answers POST /v1/restart: the router process OldPID handed its
// sockets and table to PID, which serves from now on.
type Restarted struct {
	OldPID int `json:"old_pid"`
	PID    int `json:"pid"`
}
