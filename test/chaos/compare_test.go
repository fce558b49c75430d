package chaos

import (
	"strings"
	"testing"

	"github.com/ferrycd/ferry/test/chaos/rig"
)

func TestCompareTasks(t *testing.T) {
	stored := []rig.StoredTask{{ID: "a", State: "healthy"}, {ID: "b", State: "running"}, {ID: "old", State: "stopped"}}
	one := map[string]int{"a": 1, "b": 1}
	tests := []struct {
		name   string
		stored []rig.StoredTask
		procs  []rig.TaskProc
		shims  map[string]int
		want   string // "" or a part of the answer
	}{
		{"agree", stored, []rig.TaskProc{{PID: 1, Task: "a"}, {PID: 2, Task: "b"}}, one, ""},
		{"orphan of a stopped task", stored, []rig.TaskProc{{PID: 1, Task: "a"}, {PID: 2, Task: "b"}, {PID: 3, Task: "old"}}, one, "orphan: task old"},
		{"orphan the store never knew", stored, []rig.TaskProc{{PID: 1, Task: "a"}, {PID: 2, Task: "b"}, {PID: 3, Task: "x"}}, one, "orphan: task x"},
		{"duplicate process", stored, []rig.TaskProc{{PID: 1, Task: "a"}, {PID: 2, Task: "b"}, {PID: 3, Task: "a"}}, one, "duplicate: 2 processes of task a"},
		{"missing process", stored, []rig.TaskProc{{PID: 1, Task: "a"}}, one, "missing: the store lists task b"},
		{"duplicate shim", stored, []rig.TaskProc{{PID: 1, Task: "a"}, {PID: 2, Task: "b"}}, map[string]int{"a": 2, "b": 1}, "duplicate: 2 shims of task a"},
		{"orphan shim", stored, []rig.TaskProc{{PID: 1, Task: "a"}, {PID: 2, Task: "b"}}, map[string]int{"a": 1, "b": 1, "old": 1}, "orphan: a shim of task old"},
		{"failed task still running", []rig.StoredTask{{ID: "a", State: "failed"}}, []rig.TaskProc{{PID: 1, Task: "a"}}, nil, "orphan: task a"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := compareTasks(tt.stored, tt.procs, tt.shims)
			if (tt.want == "") != (got == "") || !strings.Contains(got, tt.want) {
				t.Fatalf("compareTasks = %q, want %q", got, tt.want)
			}
		})
	}
}
