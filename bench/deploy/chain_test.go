package main

import (
	"strings"
	"testing"
	"time"
)

func TestCriticalPath(t *testing.T) {
	t0 := time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	task := func(id string, dep int64, starting, launched, registered, healthy int) []event {
		return []event{
			{Type: "task.starting", Task: id, Deployment: dep, Time: at(starting)},
			{Type: "task.launched", Task: id, Time: at(launched)},
			{Type: "task.registered", Task: id, Time: at(registered)},
			{Type: "task.healthy", Task: id, Deployment: dep, Time: at(healthy)},
		}
	}
	evs := []event{{Type: "deployment.started", Deployment: 7, Time: at(0)}}
	// Batch one: b is the slower; batch two starts off a's and b's health
	// (d before b turned healthy) and c is its slower.
	evs = append(evs, task("b", 7, 1, 30, 40, 1100)...)
	evs = append(evs, task("a", 7, 1, 10, 12, 1020)...)
	evs = append(evs, task("d", 7, 1021, 1025, 1027, 2030)...)
	evs = append(evs, task("c", 7, 1101, 1111, 1121, 2150)...)
	evs = append(evs, task("other", 8, 5, 6, 7, 1010)...)                     // another deployment's task
	evs = append(evs, event{Type: "task.launched", Task: "b", Time: at(500)}) // a later launch (a restart) is not the first
	links, err := criticalPath(evs, 7, 2, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	want := []link{
		{trigger: time.Millisecond, launch: 29 * time.Millisecond, register: 10 * time.Millisecond, healthy: 60 * time.Millisecond},
		{trigger: time.Millisecond, launch: 10 * time.Millisecond, register: 10 * time.Millisecond, healthy: 29 * time.Millisecond},
	}
	if len(links) != len(want) {
		t.Fatalf("%d links, want %d: %+v", len(links), len(want), links)
	}
	for i := range want {
		if links[i] != want[i] {
			t.Errorf("batch %d: %+v, want %+v", i+1, links[i], want[i])
		}
	}
	if _, err := criticalPath(evs[:len(evs)-8], 7, 2, time.Second); err == nil || !strings.Contains(err.Error(), "task c") {
		t.Errorf("a task without its healthy event: %v, want an error naming it", err)
	}
	if _, err := criticalPath(evs, 9, 2, time.Second); err == nil {
		t.Error("a deployment not in the trace: no error")
	}
}

func TestParseEvents(t *testing.T) {
	evs, err := parseEvents([]byte(`{"id":3,"time":"2026-12-07T02:54:54.154027874Z","deployment":2,"task":"t","type":"task.starting"}
`))
	if err != nil || len(evs) != 1 || evs[0].ID != 3 || evs[0].Task != "t" || evs[0].Deployment != 2 {
		t.Fatalf("%+v, %v", evs, err)
	}
	if _, err := parseEvents([]byte("{not json\n")); err == nil {
		t.Error("a line that is not JSON: no error")
	}
}
