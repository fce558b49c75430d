package controller

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/ferrycd/ferry/internal/config"
	"github.com/ferrycd/ferry/internal/deploy"
	"github.com/ferrycd/ferry/internal/router/api"
)

func TestParamsOfTrafficStrategies(t *testing.T) {
	r := RevisionSpec{Spec: config.Service{
		Deploy: config.Deploy{Strategy: "canary", Steps: []config.CanaryStep{{Weight: 10, Pause: time.Minute}, {Weight: 50, WaitForPromote: true}},
			CanaryCapacity: "fixed", TestRoute: &config.TestRoute{Header: "X-Canary: yes"},
			Analysis: &config.Analysis{MaxErrorRate: 1, MaxP99: time.Second, MinRequests: 50, Interval: 30 * time.Second, FailureLimit: 2, InconclusiveLimit: 5}},
		Hooks: config.Hooks{BeforeTraffic: &config.Hook{Command: []string{"./migrate"}, OnFailure: "rollback"},
			Launch:  &config.Hook{Command: []string{"./warm"}, OnFailure: "continue"},
			PreStop: &config.Hook{Command: []string{"./flush"}}},
	}}
	p := r.params()
	want := deploy.Params{Strategy: deploy.StrategyCanary, Steps: []deploy.Step{{Weight: 10, Pause: time.Minute}, {Weight: 50, WaitForPromote: true}},
		FixedCapacity: true, TestRoute: true,
		Analysis:              &deploy.Analysis{MaxErrorRate: 1, MaxP99: time.Second, MinRequests: 50, Interval: 30 * time.Second, FailureLimit: 2, InconclusiveLimit: 5},
		Hooks:                 map[deploy.HookName]deploy.OnFailure{deploy.HookBeforeTraffic: deploy.OnFailureRollback, deploy.HookLaunch: deploy.OnFailureContinue},
		DisableCircuitBreaker: true}
	if !reflect.DeepEqual(p, want) {
		t.Fatalf("params\n%+v\nwant\n%+v", p, want)
	}
}

// TestRouterHealthCheck: the service's health section reaches the router
// whole, start period included.
func TestRouterHealthCheck(t *testing.T) {
	r := RevisionSpec{Spec: config.Service{Health: config.Health{Path: "/up", Interval: 2 * time.Second, Timeout: time.Second,
		HealthyThreshold: 3, UnhealthyThreshold: 4, Status: config.StatusRange{Min: 200, Max: 204}, StartPeriod: 30 * time.Second}}}
	want := api.HealthCheck{Path: "/up", Interval: 2 * time.Second, Timeout: time.Second, HealthyThreshold: 3, UnhealthyThreshold: 4,
		Status: "200-204", StartPeriod: 30 * time.Second}
	if got := r.routerService("s", "").Health; got != want {
		t.Fatalf("health %+v, want %+v", got, want)
	}
}

func TestTestRules(t *testing.T) {
	cases := []struct {
		route config.TestRoute
		want  []api.Rule
	}{
		{config.TestRoute{Header: "X-Canary: yes"}, []api.Rule{{Header: "X-Canary", Value: "yes", Group: "r2"}}},
		{config.TestRoute{Header: "X-Canary"}, []api.Rule{{Header: "X-Canary", Value: "1", Group: "r2"}}},
		{config.TestRoute{Cookie: "canary=always"}, []api.Rule{{Cookie: "canary", Value: "always", Group: "r2"}}},
		{config.TestRoute{Host: "green.shop.test"}, []api.Rule{{Host: "green.shop.test", Group: "r2"}}},
	}
	for _, c := range cases {
		r := RevisionSpec{Spec: config.Service{Deploy: config.Deploy{TestRoute: &c.route}}}
		if got := r.testRules("r2"); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%+v: rules %+v, want %+v", c.route, got, c.want)
		}
		if got := r.routerService("s", "").Rules; got != nil {
			t.Errorf("no test group: rules %+v, want none", got)
		}
	}
}

func TestApplyControl(t *testing.T) {
	cases := []struct {
		op       ControlOp
		strategy string
		before   deploy.Controls
		want     deploy.Controls
		err      error
	}{
		{ControlPromote, "canary", deploy.Controls{Promote: 1}, deploy.Controls{Promote: 2}, nil},
		{ControlPromoteFull, "blue_green", deploy.Controls{}, deploy.Controls{Promote: 1, PromoteFull: true}, nil},
		{ControlPromote, "rolling", deploy.Controls{}, deploy.Controls{}, ErrConflict},
		{ControlAbort, "rolling", deploy.Controls{}, deploy.Controls{Abort: true}, nil},
		{ControlPause, "canary", deploy.Controls{}, deploy.Controls{Pause: true}, nil},
		{ControlResume, "canary", deploy.Controls{Pause: true, Resume: 1}, deploy.Controls{Resume: 2}, nil},
		{"rewind", "canary", deploy.Controls{}, deploy.Controls{}, ErrInvalid},
	}
	for _, c := range cases {
		got := c.before
		err := applyControl(&got, c.op, c.strategy)
		if !errors.Is(err, c.err) || (c.err == nil && got != c.want) {
			t.Errorf("%s on %s: %+v, %v; want %+v, %v", c.op, c.strategy, got, err, c.want, c.err)
		}
	}
}
