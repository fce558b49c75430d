package runtime

import (
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
)

func TestPortAllocatorConcurrentDistinctFree(t *testing.T) {
	var a PortAllocator
	const n = 64
	ports := make(chan int, n)
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			p, err := a.Allocate()
			if err != nil {
				t.Error(err)
				return
			}
			ports <- p
		})
	}
	wg.Wait()
	close(ports)
	seen := map[int]bool{}
	var listeners []net.Listener
	defer func() {
		for _, l := range listeners {
			l.Close()
		}
	}()
	for p := range ports {
		if seen[p] {
			t.Fatalf("port %d handed out twice", p)
		}
		seen[p] = true
		// Free: every port can be bound, all at once.
		l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p))
		if err != nil {
			t.Fatalf("allocated port %d is not free: %v", p, err)
		}
		listeners = append(listeners, l)
		if !a.Held(p) {
			t.Fatalf("port %d not held after Allocate", p)
		}
	}
	if len(seen) != n {
		t.Fatalf("%d ports, want %d", len(seen), n)
	}
}

func TestPortAllocatorSkipsBoundPorts(t *testing.T) {
	// Ports bound by something else while the allocator runs are never
	// returned: the allocator probes by binding.
	var bound []net.Listener
	taken := map[int]bool{}
	for range 32 {
		l, err := net.Listen("tcp", ":0")
		if err != nil {
			t.Fatal(err)
		}
		bound = append(bound, l)
		taken[l.Addr().(*net.TCPAddr).Port] = true
	}
	defer func() {
		for _, l := range bound {
			l.Close()
		}
	}()
	var a PortAllocator
	for range 32 {
		p, err := a.Allocate()
		if err != nil {
			t.Fatal(err)
		}
		if taken[p] {
			t.Fatalf("allocated port %d that is bound", p)
		}
	}
}

func TestPortAllocatorReserveRelease(t *testing.T) {
	var a PortAllocator
	p, err := a.Allocate()
	if err != nil {
		t.Fatal(err)
	}
	a.Release(p)
	if a.Held(p) {
		t.Fatalf("port %d still held after Release", p)
	}
	a.Reserve(p)
	if !a.Held(p) {
		t.Fatalf("port %d not held after Reserve", p)
	}
	// While reserved, Allocate never returns it, even though it is free.
	for range 200 {
		q, err := a.Allocate()
		if err != nil {
			t.Fatal(err)
		}
		if q == p {
			t.Fatalf("Allocate returned reserved port %d", p)
		}
		a.Release(q)
	}
}

func TestPortAllocatorSkipsHeldAndBusyCandidates(t *testing.T) {
	// The kernel's candidates, in order: a reserved port, a port busy on the
	// wildcard address, then a good one.
	candidates := []struct {
		port int
		free bool
	}{{4001, true}, {4002, false}, {4003, true}}
	i := 0
	a := PortAllocator{probe: func() (int, bool, error) {
		c := candidates[i%len(candidates)]
		i++
		return c.port, c.free, nil
	}}
	a.Reserve(4001)
	p, err := a.Allocate()
	if err != nil || p != 4003 {
		t.Fatalf("Allocate = %d, %v; want 4003", p, err)
	}
	// Everything held or busy: a clear error, not a loop.
	if _, err := a.Allocate(); err == nil || !strings.Contains(err.Error(), "no free port after 64 probes") {
		t.Fatalf("err = %v", err)
	}
}
