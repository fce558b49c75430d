package runtime

import (
	"fmt"
	"net"
	"strconv"
	"sync"
)

// PortAllocator hands out TCP ports on 127.0.0.1 for tasks. A port it returns
// was free when probed (the kernel chose it for a listener that was then
// closed) and is held until Release, so concurrent calls never collide. The
// control plane Reserves the ports its store already records, so a restart
// does not hand out a port a surviving task still listens on. The zero value
// is ready to use.
type PortAllocator struct {
	mu   sync.Mutex
	held map[int]bool
	// probe finds a candidate port; nil means probeKernel. Tests replace it
	// to drive the kernel's choices.
	probe func() (port int, free bool, err error)
}

// maxProbes bounds how often Allocate asks the kernel before giving up; the
// kernel only repeats a port we hold when the ephemeral range is nearly full.
const maxProbes = 64

// Allocate returns a free port and holds it until Release.
func (a *PortAllocator) Allocate() (int, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	probe := a.probe
	if probe == nil {
		probe = probeKernel
	}
	for range maxProbes {
		port, free, err := probe()
		if err != nil {
			return 0, fmt.Errorf("allocating a port: %w", err)
		}
		if free && !a.held[port] {
			a.holdLocked(port)
			return port, nil
		}
	}
	return 0, fmt.Errorf("allocating a port: no free port after %d probes (%d held)", maxProbes, len(a.held))
}

// Reserve holds port (one the store says a task uses) so Allocate never
// returns it. It does not check that the port is free.
func (a *PortAllocator) Reserve(port int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.holdLocked(port)
}

// Release makes port available again.
func (a *PortAllocator) Release(port int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.held, port)
}

// Held reports whether port is held.
func (a *PortAllocator) Held(port int) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.held[port]
}

func (a *PortAllocator) holdLocked(port int) {
	if a.held == nil {
		a.held = make(map[int]bool)
	}
	a.held[port] = true
}

// probeKernel lets the kernel pick a free port on 127.0.0.1, then checks that the
// port is also free on the wildcard address, since tasks may listen on
// ":"+PORT; free is false when something holds it there.
func probeKernel() (port int, free bool, err error) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		return 0, false, err
	}
	port = ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	wild, err := net.Listen("tcp", ":"+strconv.Itoa(port))
	if err != nil {
		return port, false, nil
	}
	wild.Close()
	return port, true, nil
}
