package controller

import (
	"slices"
	"testing"
	"time"

	"github.com/ferrycd/ferry/internal/store"
)

func TestTransitionEvents(t *testing.T) {
	d := func(s store.DeploymentState, step int) store.Deployment {
		return store.Deployment{State: s, Step: step}
	}
	for _, tc := range []struct {
		name          string
		before, after store.Deployment
		want          []string
	}{
		{"starts", d(store.DeployPending, 0), d(store.DeployInProgress, 0), []string{"started"}},
		{"restated", d(store.DeployInProgress, 1), d(store.DeployInProgress, 1), nil},
		{"next step", d(store.DeployInProgress, 0), d(store.DeployInProgress, 1), []string{"step"}},
		{"pauses at a step", d(store.DeployInProgress, 0), d(store.DeployPaused, 1), []string{"step", "paused"}},
		{"resumes", d(store.DeployPaused, 1), d(store.DeployInProgress, 1), nil},
		{"rolling back is no event", d(store.DeployInProgress, 1), d(store.DeployRollingBack, 2), nil},
		{"rolled back", d(store.DeployRollingBack, 1), d(store.DeployRolledBack, 1), []string{"rolled_back"}},
		{"succeeds on the last step", d(store.DeployInProgress, 1), d(store.DeploySucceeded, 2), []string{"succeeded"}},
		{"fails", d(store.DeployInProgress, 0), d(store.DeployFailed, 0), []string{"failed"}},
		{"aborted", d(store.DeployPaused, 1), d(store.DeployAborted, 1), []string{"aborted"}},
		{"ends before it starts", d(store.DeployPending, 0), d(store.DeploySucceeded, 0), []string{"succeeded"}},
		{"a terminal state restated", d(store.DeployFailed, 0), d(store.DeployFailed, 0), nil},
	} {
		if got := transitionEvents(tc.before, tc.after); !slices.Equal(got, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestMaxHookHeartbeat(t *testing.T) {
	for _, tc := range []struct{ timeout, want string }{{"30s", "5m0s"}, {"10m", "1h0m0s"}, {"2h", "1h0m0s"}} {
		to, _ := time.ParseDuration(tc.timeout)
		if got := maxHookHeartbeat(to).String(); got != tc.want {
			t.Errorf("timeout %s: max %s, want %s", tc.timeout, got, tc.want)
		}
	}
}
