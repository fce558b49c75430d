package controller

import (
	"context"
	"testing"
	"time"
)

func TestInflightWaitsForEffectsOfTheService(t *testing.T) {
	var l inflight
	ctx := context.Background()

	// Nothing under way: no wait.
	done := make(chan struct{})
	go func() { l.wait(ctx, 1, time.Hour); close(done) }()
	<-done

	l.begin(1)
	l.begin(1)
	waited := make(chan struct{})
	go func() { l.wait(ctx, 1, time.Hour); close(waited) }()
	// Another service's starts do not hold service 1's stops, nor the
	// reverse.
	other := make(chan struct{})
	go func() { l.wait(ctx, 2, time.Hour); close(other) }()
	<-other
	if l.end(1) {
		t.Fatal("end reported the last of two effects after the first")
	}
	select {
	case <-waited:
		t.Fatal("a stop went ahead with a start of its service still under way")
	default:
	}
	if !l.end(1) {
		t.Fatal("end did not report the last effect")
	}
	<-waited // a hang here fails the test by its timeout

	// Bounded: a start that never ends holds a stop for max only.
	l.begin(3)
	t0 := time.Now()
	l.wait(ctx, 3, 20*time.Millisecond)
	if d := time.Since(t0); d < 20*time.Millisecond {
		t.Errorf("wait returned after %s with a start under way, want the bound 20ms", d)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	l.wait(cctx, 3, time.Hour) // returns: its context ended
	l.end(3)
	if len(l.n) != 0 || len(l.idle) != 0 {
		t.Errorf("state left after every start ended: %v %v", l.n, l.idle)
	}
}
