package main

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
)

// event is a line of `ferry events -o json`.
type event struct {
	ID         int64     `json:"id"`
	Time       time.Time `json:"time"`
	Type       string    `json:"type"`
	Task       string    `json:"task"`
	Deployment int64     `json:"deployment"`
}

func parseEvents(out []byte) ([]event, error) {
	var evs []event
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if line == "" {
			continue
		}
		var e event
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			return nil, fmt.Errorf("events line %q: %v", line, err)
		}
		evs = append(evs, e)
	}
	return evs, nil
}

// link is where the slowest task of one batch spent its time: the batch's
// critical path, one batch after another.
type link struct {
	// trigger is from the previous batch's last task turning healthy (the
	// deployment's start, for the first batch) to this task's start.
	trigger time.Duration
	// launch is start → launched (the process runs, recorded), register
	// launched → registered, and healthy registered → healthy beyond what
	// the checks take ((healthy_threshold−1) × interval): the app coming
	// up, the first passing probe, the push to the server and its record.
	// A task the driver can place before it runs is in the router while it
	// starts; its registered line follows its launched line at once.
	launch, register, healthy time.Duration
}

// criticalPath splits deployment dep's new tasks (those its trace starts)
// into batches of size, in the order they started, and returns each batch's
// link: its slowest task to turn healthy. checks is what the health checks
// take after the first passing probe.
func criticalPath(evs []event, dep int64, size int, checks time.Duration) ([]link, error) {
	type times struct{ starting, launched, registered, healthy time.Time }
	var started time.Time
	var order []string
	tasks := map[string]*times{}
	for _, e := range evs {
		switch {
		case e.Deployment == dep && e.Type == "deployment.started":
			started = e.Time
		case e.Deployment == dep && e.Type == "task.starting":
			order = append(order, e.Task)
			tasks[e.Task] = &times{starting: e.Time}
		}
	}
	if started.IsZero() || len(order) == 0 || size < 1 {
		return nil, fmt.Errorf("deployment %d: no start or no task started in its trace", dep)
	}
	for _, e := range evs {
		t := tasks[e.Task]
		if t == nil {
			continue
		}
		at := map[string]*time.Time{"task.launched": &t.launched, "task.registered": &t.registered, "task.healthy": &t.healthy}[e.Type]
		if at != nil && at.IsZero() {
			*at = e.Time
		}
	}
	slices.SortStableFunc(order, func(a, b string) int { return tasks[a].starting.Compare(tasks[b].starting) })
	var links []link
	prev := started
	for i := 0; i < len(order); i += size {
		var last *times
		for _, id := range order[i:min(i+size, len(order))] {
			t := tasks[id]
			if t.launched.IsZero() || t.registered.IsZero() || t.healthy.IsZero() {
				return nil, fmt.Errorf("deployment %d: task %s has no launched, registered or healthy event", dep, id)
			}
			if last == nil || t.healthy.After(last.healthy) {
				last = t
			}
		}
		links = append(links, link{
			trigger:  last.starting.Sub(prev),
			launch:   last.launched.Sub(last.starting),
			register: last.registered.Sub(last.launched),
			healthy:  last.healthy.Sub(last.registered) - checks,
		})
		prev = last.healthy
	}
	return links, nil
}
