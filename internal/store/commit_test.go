package store

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
)

// holdWriter runs a write that blocks the writer until release is called,
// so that the writes queued meanwhile commit as one group.
func holdWriter(t *testing.T, s *Store) (release func()) {
	t.Helper()
	entered, gate := make(chan struct{}), make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- s.Tx(context.Background(), func(tx *Tx) error {
			close(entered)
			<-gate
			return tx.SetMeta(context.Background(), "holder", "1")
		})
	}()
	<-entered
	return func() {
		close(gate)
		if err := <-done; err != nil {
			t.Errorf("holding write: %v", err)
		}
	}
}

// waitQueued polls until n writes wait in the queue.
func waitQueued(t *testing.T, s *Store, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		s.gc.mu.Lock()
		q := len(s.gc.queue)
		s.gc.mu.Unlock()
		if q == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d writes queued after 5s, want %d", q, n)
		}
		time.Sleep(time.Millisecond)
	}
}

// In one group, a function that fails or panics is undone alone; the
// others commit, and each caller gets its own outcome.
func TestGroupCommitIsolatesEachWrite(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t)
	release := holdWriter(t, s)

	boom := errors.New("boom")
	results := make(chan string, 3)
	var wg sync.WaitGroup
	run := func(name string, fn func(tx *Tx) error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() {
				if p := recover(); p != nil {
					results <- fmt.Sprintf("%s: panic %v", name, p)
				}
			}()
			results <- fmt.Sprintf("%s: %v", name, s.Tx(ctx, fn))
		}()
	}
	run("fails", func(tx *Tx) error {
		if err := tx.SetMeta(ctx, "fails", "written"); err != nil {
			return err
		}
		return boom
	})
	waitQueued(t, s, 1)
	run("commits", func(tx *Tx) error { return tx.SetMeta(ctx, "commits", "written") })
	waitQueued(t, s, 2)
	run("panics", func(tx *Tx) error {
		if err := tx.SetMeta(ctx, "panics", "written"); err != nil {
			return err
		}
		panic("kaboom")
	})
	waitQueued(t, s, 3)
	release()
	wg.Wait()
	close(results)
	got := map[string]bool{}
	for r := range results {
		got[r] = true
	}
	for _, want := range []string{"fails: boom", "commits: <nil>", "panics: panic kaboom"} {
		if !got[want] {
			t.Errorf("outcomes %v lack %q", got, want)
		}
	}
	for key, want := range map[string]error{"commits": nil, "fails": ErrNotFound, "panics": ErrNotFound, "holder": nil} {
		if _, err := s.GetMeta(ctx, key); !errors.Is(err, want) {
			t.Errorf("meta %s: %v, want %v", key, err, want)
		}
	}
}

// A caller that gives up while its write is queued gets its context's error
// at once, and its function never runs.
func TestGroupCommitCancelledWhileQueued(t *testing.T) {
	s := openTemp(t)
	release := holdWriter(t, s)
	ctx, cancel := context.WithCancel(context.Background())
	ran := false
	errc := make(chan error, 1)
	go func() {
		errc <- s.Tx(ctx, func(tx *Tx) error {
			ran = true
			return tx.SetMeta(ctx, "k", "v")
		})
	}()
	waitQueued(t, s, 1)
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled write: %v, want context.Canceled", err)
	}
	release()
	if ran {
		t.Error("the function of a cancelled write ran")
	}
	if _, err := s.GetMeta(context.Background(), "k"); !errors.Is(err, ErrNotFound) {
		t.Errorf("meta k: %v, want not found", err)
	}
}

func TestGroupCommitAfterClose(t *testing.T) {
	s := openTemp(t)
	if err := s.SetMeta(context.Background(), "k", "v"); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if err := s.SetMeta(context.Background(), "k", "w"); !errors.Is(err, errClosed) {
		t.Errorf("write after Close: %v, want %v", err, errClosed)
	}
}

// Many writers at once: every write lands once.
func TestGroupCommitConcurrentWriters(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t)
	var wg sync.WaitGroup
	for i := range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.SetMeta(ctx, fmt.Sprint("k", i), fmt.Sprint(i)); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	for i := range 64 {
		if v, err := s.GetMeta(ctx, fmt.Sprint("k", i)); err != nil || v != fmt.Sprint(i) {
			t.Errorf("k%d: %q, %v", i, v, err)
		}
	}
}
