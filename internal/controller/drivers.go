package controller

import (
	"fmt"
	"slices"
	"strings"

	"github.com/ferrycd/ferry/internal/runtime"
	"github.com/ferrycd/ferry/internal/store"
)

// driverNamed is the driver of a runtime as ferry.yaml names it: Deps.Driver
// for its own name (and for "", revisions recorded before runtimes were
// chosen per service), else Deps.Drivers.
func (c *Controller) driverNamed(name string) (runtime.Driver, error) {
	if name == "" || name == c.d.Driver.Name() {
		return c.d.Driver, nil
	}
	if d, ok := c.d.Drivers[name]; ok && d != nil {
		return d, nil
	}
	return nil, fmt.Errorf("runtime %q is not available (this server runs %s)", name, strings.Join(c.runtimeNames(), ", "))
}

// driverOf is the driver that runs a task: the one recorded on its row.
func (c *Controller) driverOf(row store.Task) runtime.Driver {
	if d, err := c.driverNamed(row.Driver); err == nil {
		return d
	}
	return c.d.Driver
}

// allDrivers is every driver, the default first, then by name.
func (c *Controller) allDrivers() []runtime.Driver {
	out := []runtime.Driver{c.d.Driver}
	for _, name := range c.runtimeNames()[1:] {
		out = append(out, c.d.Drivers[name])
	}
	return out
}

// runtimeNames are the runtimes this server runs, the default first.
func (c *Controller) runtimeNames() []string {
	var extra []string
	for name, d := range c.d.Drivers {
		if d != nil && name != c.d.Driver.Name() {
			extra = append(extra, name)
		}
	}
	slices.Sort(extra)
	return append([]string{c.d.Driver.Name()}, extra...)
}
