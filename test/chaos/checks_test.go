package chaos

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/ferrycd/ferry/test/chaos/rig"
)

// settled polls until every deployment the store records is terminal and
// returns them; an error names the ones that are not after within.
func settled(c *rig.Cluster, within time.Duration) ([]rig.Deployment, error) {
	s, err := storeSettles(c, within, "deployments not terminal in the store", func(s rig.Snapshot) (open []string) {
		for _, d := range s.Deployments {
			if !d.State.Terminal() {
				open = append(open, fmt.Sprintf("%d (r%d, %s)", d.ID, d.To, d.State))
			}
		}
		return open
	})
	return s.Deployments, err
}

// storeSettles polls the store until open finds nothing in it and returns
// that snapshot; after within, the error says what (and which) is open.
func storeSettles(c *rig.Cluster, within time.Duration, what string, open func(rig.Snapshot) []string) (rig.Snapshot, error) {
	deadline := time.Now().Add(within)
	for {
		s, err := rig.ReadStore(c.StorePath())
		if err == nil {
			left := open(s)
			if len(left) == 0 {
				return s, nil
			}
			err = fmt.Errorf("%s: %s", what, strings.Join(left, ", "))
		}
		if time.Now().After(deadline) {
			return rig.Snapshot{}, fmt.Errorf("after %s: %w", within, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// processesMatch polls until the running task processes are exactly the
// tasks the store lists as active: each under one shim, none twice, none
// the store does not know (an orphan), none missing.
func processesMatch(c *rig.Cluster, within time.Duration) error {
	deadline := time.Now().Add(within)
	for {
		why, err := mismatch(c)
		if err == nil && why == "" {
			return nil
		}
		if err != nil {
			why = err.Error()
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("after %s the processes do not match the store: %s", within, why)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// mismatch is one comparison of /proc with the store: "" when they agree.
func mismatch(c *rig.Cluster) (string, error) {
	s, err := rig.ReadStore(c.StorePath())
	if err != nil {
		return "", err
	}
	procs := rig.TaskProcs(c.Home)
	shims := rig.ShimTasks(c.Home)
	return compareTasks(s.Tasks, procs, shims), nil
}

// compareTasks is the pure comparison: "" when every active stored task has
// exactly one process and one shim and nothing else runs.
func compareTasks(stored []rig.StoredTask, procs []rig.TaskProc, shims map[string]int) string {
	want := map[string]bool{}
	for _, t := range stored {
		if t.Active() {
			want[t.ID] = true
		}
	}
	got := map[string]int{}
	for _, p := range procs {
		got[p.Task]++
	}
	var problems []string
	for id, n := range got {
		switch {
		case !want[id]:
			problems = append(problems, fmt.Sprintf("orphan: task %s runs (%d process(es)) but the store has it stopped or not at all", id, n))
		case n > 1:
			problems = append(problems, fmt.Sprintf("duplicate: %d processes of task %s", n, id))
		}
	}
	for id := range want {
		if got[id] == 0 {
			problems = append(problems, fmt.Sprintf("missing: the store lists task %s active but no process runs it", id))
		}
	}
	for id, n := range shims {
		if n > 1 {
			problems = append(problems, fmt.Sprintf("duplicate: %d shims of task %s", n, id))
		}
		if !want[id] {
			problems = append(problems, fmt.Sprintf("orphan: a shim of task %s the store has stopped or not at all", id))
		}
	}
	sort.Strings(problems)
	return strings.Join(slices.Compact(problems), "; ")
}
