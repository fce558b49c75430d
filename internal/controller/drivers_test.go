package controller

import (
	"testing"

	"github.com/ferrycd/ferry/internal/runtime"
	"github.com/ferrycd/ferry/internal/store"
)

// namedDriver is a driver of which only the name is used.
type namedDriver struct {
	runtime.Driver
	name string
}

func (n namedDriver) Name() string { return n.name }

func TestDriverChoice(t *testing.T) {
	proc, dock := namedDriver{name: "process"}, namedDriver{name: "docker"}
	c := New(Deps{Driver: proc, Drivers: map[string]runtime.Driver{"docker": dock, "process": proc, "unset": nil}})
	for name, want := range map[string]runtime.Driver{"": proc, "process": proc, "docker": dock} {
		if got, err := c.driverNamed(name); err != nil || got != want {
			t.Errorf("driverNamed(%q) = %v, %v", name, got, err)
		}
	}
	if _, err := c.driverNamed("kubernetes"); err == nil || err.Error() != `runtime "kubernetes" is not available (this server runs process, docker)` {
		t.Errorf("driverNamed(kubernetes): %v", err)
	}
	if c.driverOf(store.Task{Driver: "docker"}) != dock || c.driverOf(store.Task{}) != proc || c.driverOf(store.Task{Driver: "gone"}) != proc {
		t.Error("driverOf does not follow the task's row")
	}
	if all := c.allDrivers(); len(all) != 2 || all[0] != proc || all[1] != dock {
		t.Errorf("allDrivers = %v", all)
	}
	if solo := New(Deps{Driver: proc}); len(solo.allDrivers()) != 1 {
		t.Error("a server with one driver lists more")
	}
}
