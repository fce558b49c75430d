package store

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// openTemp opens a fresh store in a temporary directory.
func openTemp(t testing.TB) *Store {
	t.Helper()
	s, err := Open(context.Background(), filepath.Join(t.TempDir(), "ferry.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// fixture is an app "shop" with environment "staging" and service "web".
func fixture(t testing.TB, s *Store) Service {
	t.Helper()
	ctx := context.Background()
	if _, err := s.PutApp(ctx, App{Name: "shop", Repo: "/src/shop"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.EnsureEnvironment(ctx, "shop", "staging", EnvStandard); err != nil {
		t.Fatal(err)
	}
	svc, err := s.EnsureService(ctx, "shop", "staging", "web")
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

func newRevision(t testing.TB, s interface {
	CreateRevision(context.Context, Revision) (Revision, error)
}, svc int64) Revision {
	t.Helper()
	r, err := s.CreateRevision(context.Background(), Revision{
		ServiceID:  svc,
		Spec:       []byte(`{"env":{"DB":"hunter2"}}`),
		MaskedSpec: []byte(`{"env":{"DB":"***"}}`),
	})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func pragma(t *testing.T, db *sql.DB, name string) string {
	t.Helper()
	var v string
	if err := db.QueryRow("PRAGMA " + name).Scan(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

func TestOpenMigratesEmptyFileToCurrentSchema(t *testing.T) {
	s := openTemp(t)
	if got, want := pragma(t, s.r, "user_version"), fmt.Sprint(SchemaVersion()); got != want {
		t.Fatalf("user_version = %s, want %s", got, want)
	}
	for _, table := range []string{"meta", "apps", "environments", "services", "revisions", "tasks", "deployments",
		"events", "previews", "artifacts", "build_cache", "deliveries"} {
		var n int
		if err := s.r.QueryRow(`SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = ?`, table).Scan(&n); err != nil || n != 1 {
			t.Errorf("table %s: count %d, err %v", table, n, err)
		}
	}
	if got := pragma(t, s.w, "foreign_keys"); got != "1" {
		t.Errorf("writer foreign_keys = %s, want 1", got)
	}
	if got := pragma(t, s.r, "foreign_keys"); got != "1" {
		t.Errorf("reader foreign_keys = %s, want 1", got)
	}
}

func TestWALModeIsOn(t *testing.T) {
	s := openTemp(t)
	if got := pragma(t, s.r, "journal_mode"); got != "wal" {
		t.Fatalf("journal_mode = %q, want wal", got)
	}
	if err := s.SetMeta(context.Background(), "k", "v"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(s.Path() + "-wal"); err != nil {
		t.Fatalf("no write-ahead log beside the store: %v", err)
	}
	// NORMAL (1): durable across a killed process without an fsync per
	// commit; FULL would put the disk on every step's path.
	if got := pragma(t, s.w, "synchronous"); got != "1" {
		t.Fatalf("writer synchronous = %s, want 1 (NORMAL)", got)
	}
}

func TestReopenIsIdempotent(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "ferry.db")
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	svc := fixture(t, s)
	newRevision(t, s, svc.ID)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		s, err = Open(ctx, path)
		if err != nil {
			t.Fatalf("reopen: %v", err)
		}
		if got := pragma(t, s.r, "user_version"); got != fmt.Sprint(SchemaVersion()) {
			t.Fatalf("user_version after reopen = %s", got)
		}
		revs, err := s.ListRevisions(ctx, svc.ID, 0)
		if err != nil || len(revs) != 1 || revs[0].Number != 1 {
			t.Fatalf("revisions after reopen: %v, %v", revs, err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

func TestNewerSchemaIsRefusedAndFileUntouched(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "ferry.db")
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	fixture(t, s)
	newer := SchemaVersion() + 2
	if _, err := s.w.Exec(fmt.Sprintf("PRAGMA user_version = %d", newer)); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	before, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}

	_, err = Open(ctx, path)
	want := fmt.Sprintf("ferry.db was written by a newer ferry (schema %d, this ferry knows %d): upgrade ferry", newer, SchemaVersion())
	if err == nil || err.Error() != want {
		t.Fatalf("Open = %v, want %q", err, want)
	}
	after, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(before, after) {
		t.Fatal("refusing a newer store modified the file")
	}
}

func TestCheckVersion(t *testing.T) {
	for _, tc := range []struct {
		have, known int
		ok          bool
	}{{0, 5, true}, {3, 5, true}, {5, 5, true}, {6, 5, false}, {7, 5, false}} {
		err := checkVersion("ferry.db", tc.have, tc.known)
		if (err == nil) != tc.ok {
			t.Errorf("checkVersion(%d, %d) = %v, want ok=%v", tc.have, tc.known, err, tc.ok)
		}
	}
}

func TestNotADatabaseIsRefusedAndFileUntouched(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ferry.db")
	junk := bytes.Repeat([]byte("not sqlite at all\n"), 300)
	if err := os.WriteFile(path, junk, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Open(context.Background(), path)
	if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "is it a ferry store?") {
		t.Fatalf("Open = %v, want an error naming the file", err)
	}
	got, _ := os.ReadFile(path)
	if !bytes.Equal(got, junk) {
		t.Fatal("refusing a foreign file modified it")
	}
}

func TestFailedTxLeavesNothingBehind(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t)
	wake, cancel := s.Subscribe()
	defer cancel()
	boom := errors.New("boom")
	err := s.Tx(ctx, func(tx *Tx) error {
		if _, err := tx.PutApp(ctx, App{Name: "shop"}); err != nil {
			return err
		}
		if _, err := tx.EnsureEnvironment(ctx, "shop", "prod", EnvStandard); err != nil {
			return err
		}
		if _, err := tx.AppendEvent(ctx, Event{App: "shop", Type: "app.created"}); err != nil {
			return err
		}
		// The transaction sees its own writes.
		if _, err := tx.GetApp(ctx, "shop"); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Tx = %v, want boom", err)
	}
	if _, err := s.GetApp(ctx, "shop"); !errors.Is(err, ErrNotFound) {
		t.Errorf("app after rollback: %v, want ErrNotFound", err)
	}
	if evs, err := s.ListEvents(ctx, EventFilter{}); err != nil || len(evs) != 0 {
		t.Errorf("events after rollback: %v, %v", evs, err)
	}
	select {
	case <-wake:
		t.Error("subscribers woken by a rolled-back transaction")
	default:
	}
}

func TestPanickingTxRollsBackAndRepanics(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t)
	func() {
		defer func() {
			if recover() == nil {
				t.Error("panic was swallowed")
			}
		}()
		_ = s.Tx(ctx, func(tx *Tx) error {
			if err := tx.SetMeta(ctx, "k", "v"); err != nil {
				return err
			}
			panic("bug")
		})
	}()
	if _, err := s.GetMeta(ctx, "k"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("meta after panic: %v", err)
	}
	// The single writer connection was released.
	if err := s.SetMeta(ctx, "k", "v"); err != nil {
		t.Fatal(err)
	}
}

func TestConcurrentRevisionsAreNumberedWithoutGapsOrDuplicates(t *testing.T) {
	s := openTemp(t)
	svc := fixture(t, s)
	const workers, each = 8, 10
	var wg sync.WaitGroup
	nums := make(chan int, workers*each)
	errs := make(chan error, workers*each)
	for range workers {
		wg.Go(func() {
			for range each {
				r, err := s.CreateRevision(context.Background(), Revision{ServiceID: svc.ID, Spec: []byte(`{}`), MaskedSpec: []byte(`{}`)})
				if err != nil {
					errs <- err
					return
				}
				nums <- r.Number
			}
		})
	}
	wg.Wait()
	close(nums)
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	seen := map[int]bool{}
	for n := range nums {
		if seen[n] {
			t.Fatalf("revision %d allocated twice", n)
		}
		seen[n] = true
	}
	for n := 1; n <= workers*each; n++ {
		if !seen[n] {
			t.Fatalf("revision %d missing (gap)", n)
		}
	}
	revs, err := s.ListRevisions(context.Background(), svc.ID, 0)
	if err != nil || len(revs) != workers*each || revs[0].Number != workers*each {
		t.Fatalf("ListRevisions: %d revisions, err %v", len(revs), err)
	}
}

// TestConcurrentWritersNeverSeeBusy drives writes and reads from many
// goroutines at once: every call must succeed.
func TestConcurrentWritersNeverSeeBusy(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t)
	svc := fixture(t, s)
	rev := newRevision(t, s, svc.ID)

	const workers, each = 12, 15
	var wg sync.WaitGroup
	errs := make(chan error, 5*workers*each)
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				id := fmt.Sprintf("t-%d-%d", w, i)
				if _, err := s.CreateTask(ctx, Task{ID: id, ServiceID: svc.ID, Revision: rev.Number, Driver: "process"}); err != nil {
					errs <- err
				}
				if _, err := s.SetTaskState(ctx, id, TaskHealthy, ""); err != nil {
					errs <- err
				}
				if _, err := s.AppendEvent(ctx, Event{Task: id, Type: "task.healthy"}); err != nil {
					errs <- err
				}
				if err := s.Tx(ctx, func(tx *Tx) error {
					if err := tx.SetMeta(ctx, fmt.Sprint("w", w), id); err != nil {
						return err
					}
					_, err := tx.SetServiceState(ctx, svc.ID, "running", id)
					return err
				}); err != nil {
					errs <- err
				}
				if _, err := s.ListTasks(ctx, TaskFilter{ServiceID: svc.ID, Live: true}); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	tasks, err := s.ListTasks(ctx, TaskFilter{ServiceID: svc.ID, States: []TaskState{TaskHealthy}})
	if err != nil || len(tasks) != workers*each {
		t.Fatalf("healthy tasks: %d, err %v; want %d", len(tasks), err, workers*each)
	}
	evs, err := s.ListEvents(ctx, EventFilter{Type: "task.healthy"})
	if err != nil || len(evs) != workers*each {
		t.Fatalf("events: %d, err %v; want %d", len(evs), err, workers*each)
	}
}

// TestSecondProcessWaitsForTheWriteLock opens the file twice, as the server
// and a CLI command would: a write from the second waits for the first's
// transaction instead of failing with SQLITE_BUSY.
func TestSecondProcessWaitsForTheWriteLock(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t)
	other, err := Open(ctx, s.Path())
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()

	done := make(chan error, 1)
	err = s.Tx(ctx, func(tx *Tx) error {
		if err := tx.SetMeta(ctx, "holder", "server"); err != nil {
			return err
		}
		go func() { done <- other.SetMeta(ctx, "waiter", "cli") }()
		select {
		case err := <-done:
			return fmt.Errorf("second writer finished while the lock was held: %v", err)
		case <-time.After(200 * time.Millisecond):
			return nil
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("second writer: %v", err)
		}
	case <-time.After(busyTimeout):
		t.Fatal("second writer still blocked after the lock was released")
	}
	if v, err := s.GetMeta(ctx, "waiter"); err != nil || v != "cli" {
		t.Fatalf("second writer's value: %q %v", v, err)
	}
}

func TestReadPoolCannotWrite(t *testing.T) {
	s := openTemp(t)
	if _, err := s.r.Exec(`INSERT INTO meta (key, value) VALUES ('a', 'b')`); err == nil {
		t.Fatal("the read pool accepted a write")
	}
}

func TestOpenCreatesParentDirectory(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a dir?#", "ferry.db")
	s, err := Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("store not at %s: %v", path, err)
	}
}
