package controller

import (
	"context"
	"testing"
)

// An effect's end wakes its service's loop unless the effect settled, and
// even then when a pass was refused another effect for the same id while
// it ran: that pass's decision still has to be carried out.
func TestSpawnWakesTheLoopUnlessSettled(t *testing.T) {
	c := New(Deps{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	wake := make(chan struct{}, 1)
	c.mu.Lock()
	c.ctx, c.cancel = ctx, cancel
	c.loops[7] = wake
	c.mu.Unlock()
	woken := func() bool {
		c.wg.Wait()
		select {
		case <-wake:
			return true
		default:
			return false
		}
	}

	c.spawn(ctx, 7, "a", func(context.Context) {})
	if !woken() {
		t.Error("an effect that does not report settling did not wake the loop")
	}
	c.spawnSettling(ctx, 7, "b", func(context.Context) bool { return false })
	if !woken() {
		t.Error("an effect that did not settle did not wake the loop")
	}
	c.spawnSettling(ctx, 7, "c", func(context.Context) bool { return true })
	if woken() {
		t.Error("a settled effect woke the loop")
	}

	release := make(chan struct{})
	if !c.spawnSettling(ctx, 7, "d", func(context.Context) bool { <-release; return true }) {
		t.Fatal("an effect for an idle id was refused")
	}
	if c.spawn(ctx, 7, "d", func(context.Context) { t.Error("a second effect ran for an id already busy") }) {
		t.Fatal("a second effect for a busy id was started")
	}
	close(release)
	if !woken() {
		t.Error("a settled effect during which a pass was refused did not wake the loop")
	}
	// The refusal is forgotten with the effect: the next one starts afresh.
	c.spawnSettling(ctx, 7, "d", func(context.Context) bool { return true })
	if woken() {
		t.Error("a refusal outlived the effect it was refused for")
	}
}
