package chaos

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ferrycd/ferry/test/chaos/rig"
)

// cause is why a request failed, as far as the suite can tell.
type cause string

const (
	causeBroken     cause = "a broken revision's own 500"
	causeCrash      cause = "a crashing revision's task died mid-request"
	causeTaskKilled cause = "a killed task's request in flight"
	causeHung       cause = "a hung (SIGSTOPped) task's request timed out"
	causeRouterKill cause = "hard router kill (kill -9 drops connections)"
	causeUnexpected cause = "UNEXPECTED"
)

// window is a span of time during which failures of a kind are expected.
type window struct {
	cause    cause
	from, to time.Time
}

func (w window) holds(at time.Time) bool { return !at.Before(w.from) && !at.After(w.to) }

// classify says why f happened: a 500 that names a broken version is that
// revision's own; anything during a hard router kill is the kill's; a
// gateway error or timeout during a task's crash, kill or hang is that
// task's. Everything else is a failure the platform owes an explanation for.
func classify(f rig.Failure, broken map[string]bool, windows []window) cause {
	if f.Status == http.StatusInternalServerError && f.Version != "" && broken[f.Version] {
		return causeBroken
	}
	gateway := f.Status == http.StatusBadGateway || f.Status == http.StatusServiceUnavailable
	timeout := f.Status == http.StatusGatewayTimeout || (f.Status == 0 && strings.Contains(f.Body, "Timeout"))
	for _, w := range windows {
		if !w.holds(f.At) {
			continue
		}
		switch w.cause {
		case causeRouterKill:
			return causeRouterKill
		case causeCrash:
			if gateway || f.Status == 0 {
				return causeCrash
			}
		case causeTaskKilled:
			if f.Status == http.StatusBadGateway {
				return causeTaskKilled
			}
		case causeHung:
			if timeout {
				return causeHung
			}
		}
	}
	return causeUnexpected
}

func TestClassify(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	windows := []window{
		{causeRouterKill, at(10), at(12)},
		{causeCrash, at(20), at(30)},
		{causeTaskKilled, at(40), at(41)},
		{causeHung, at(50), at(55)},
	}
	broken := map[string]bool{"v3": true}
	tests := []struct {
		name string
		f    rig.Failure
		want cause
	}{
		{"a broken revision's 500", rig.Failure{At: at(0), Status: 500, Version: "v3"}, causeBroken},
		{"a good revision's 500", rig.Failure{At: at(0), Status: 500, Version: "v2"}, causeUnexpected},
		{"a 500 without a version", rig.Failure{At: at(0), Status: 500}, causeUnexpected},
		{"a reset during a router kill", rig.Failure{At: at(11), Body: "connection reset by peer"}, causeRouterKill},
		{"a 503 during a router kill", rig.Failure{At: at(12), Status: 503}, causeRouterKill},
		{"a reset after the router kill", rig.Failure{At: at(13), Body: "connection reset by peer"}, causeUnexpected},
		{"a 502 while a revision crashes", rig.Failure{At: at(25), Status: 502}, causeCrash},
		{"a 503 while a revision crashes", rig.Failure{At: at(25), Status: 503}, causeCrash},
		{"a 404 while a revision crashes", rig.Failure{At: at(25), Status: 404}, causeUnexpected},
		{"a 502 as a task is killed", rig.Failure{At: at(40), Status: 502}, causeTaskKilled},
		{"a 503 as a task is killed", rig.Failure{At: at(40), Status: 503}, causeUnexpected},
		{"a timeout while a task hangs", rig.Failure{At: at(54), Body: "Client.Timeout exceeded"}, causeHung},
		{"a 504 while a task hangs", rig.Failure{At: at(54), Status: 504}, causeHung},
		{"a refused connection while a task hangs", rig.Failure{At: at(54), Body: "connection refused"}, causeUnexpected},
		{"a 502 outside every window", rig.Failure{At: at(60), Status: 502}, causeUnexpected},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := classify(tt.f, broken, windows); got != tt.want {
				t.Fatalf("classify(%v) = %q, want %q", tt.f, got, tt.want)
			}
		})
	}
}
