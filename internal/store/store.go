package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// readers is the size of the read pool; WAL lets them run beside the writer.
const readers = 4

// busyTimeout covers another process (a CLI command) holding the write lock
// for a moment; within this process writes never contend.
const busyTimeout = 5 * time.Second

// Store is an open ferry.db, safe for concurrent use. The zero value is
// unusable; use Open.
type Store struct {
	ops
	path string
	w    *sql.DB // exactly one connection: every write is serialised here
	r    *sql.DB // read-only pool
	// ws and rs are the prepared statements of w and r.
	ws, rs *statements
	gc     *committer // write transactions (commit.go)
	// taskRows caches services' task lists (taskcache.go).
	taskRows taskCache

	mu   sync.Mutex
	subs map[chan struct{}]struct{}
}

// querier is what both a pool and a transaction can run.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// ops carries the typed operations shared by Store and Tx. On a Store, q is
// the read pool and each write opens its own transaction; in a Tx, q is the
// transaction and writes join it.
type ops struct {
	s  *Store
	tx *Tx
	q  querier
}

// write runs fn in the surrounding transaction, or in a new one.
func (o ops) write(ctx context.Context, fn func(t *Tx) error) error {
	if o.tx != nil {
		return fn(o.tx)
	}
	return o.s.Tx(ctx, fn)
}

// Tx is a write transaction. It offers the same typed methods as Store; its
// reads see its own uncommitted writes. A Tx must not be used after the
// function given to Store.Tx returns.
type Tx struct {
	ops
	sqlTx  *sql.Tx
	events bool // an event was appended: wake subscribers after commit
	// tasks are the task rows written, applied to the cache after commit;
	// tasksReset says a cascade removed rows not listed there.
	tasks      []taskWrite
	tasksReset bool
}

// Open opens (creating if needed) the store at path and migrates it. A file
// whose schema is newer than this ferry knows is refused and left untouched.
func Open(ctx context.Context, path string) (*Store, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("store %s: %w", path, err)
	}
	if err := os.MkdirAll(filepath.Dir(abs), 0o700); err != nil {
		return nil, fmt.Errorf("store %s: %w", abs, err)
	}
	name := filepath.Base(abs)
	fail := func(err error) error { return fmt.Errorf("store %s: %w", abs, err) }

	// The writer connection sets only per-connection pragmas until the
	// version check passed: journal_mode=WAL would rewrite the file header.
	w, err := sql.Open("sqlite", dsn(abs,
		fmt.Sprintf("_pragma=busy_timeout(%d)", busyTimeout.Milliseconds()),
		"_pragma=foreign_keys(1)",
		// NORMAL: in WAL mode a commit survives a killed process (the
		// invariant: kill -9 of the server loses nothing) without an fsync
		// per commit, which cost 1–30 ms each and serialised the control
		// plane behind the disk. A power loss may lose the last commits but
		// never corrupts the store, and takes every task down with it: the
		// restarted server reconciles from what was kept.
		"_pragma=synchronous(NORMAL)",
		// Each write of a group commit runs in a savepoint (commit.go),
		// whose journal of page images is a temporary file unless this says
		// memory: a write to disk per changed page, for nothing a crash
		// could use.
		"_pragma=temp_store(MEMORY)",
		"_txlock=immediate"))
	if err != nil {
		return nil, fail(err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)

	have, err := schemaVersion(ctx, w)
	if err != nil {
		w.Close()
		return nil, fail(fmt.Errorf("reading schema version (is it a ferry store?): %w", err))
	}
	if err := checkVersion(name, have, len(migrations)); err != nil {
		w.Close()
		return nil, err
	}
	var mode string
	if err := w.QueryRowContext(ctx, "PRAGMA journal_mode=WAL").Scan(&mode); err != nil {
		w.Close()
		return nil, fail(fmt.Errorf("enabling WAL: %w", err))
	}
	if mode != "wal" {
		w.Close()
		return nil, fail(fmt.Errorf("enabling WAL: journal mode is %q", mode))
	}
	if err := migrate(ctx, w, have); err != nil {
		w.Close()
		return nil, fail(err)
	}

	r, err := sql.Open("sqlite", dsn(abs,
		fmt.Sprintf("_pragma=busy_timeout(%d)", busyTimeout.Milliseconds()),
		"_pragma=foreign_keys(1)",
		"_pragma=query_only(1)"))
	if err != nil {
		w.Close()
		return nil, fail(err)
	}
	r.SetMaxOpenConns(readers)
	r.SetMaxIdleConns(readers)

	s := &Store{path: abs, w: w, r: r, ws: newStatements(w), rs: newStatements(r), gc: newCommitter(),
		subs: map[chan struct{}]struct{}{}}
	s.ops = ops{s: s, q: pooled{s.rs}}
	go s.write()
	return s, nil
}

// dsn builds a file: URI so that any character in the path is escaped.
func dsn(path string, params ...string) string {
	u := url.URL{Scheme: "file", Path: path}
	q := ""
	for i, p := range params {
		if i > 0 {
			q += "&"
		}
		q += p
	}
	return u.String() + "?" + q
}

// Path is the database file.
func (s *Store) Path() string { return s.path }

// Close closes the store: queued writes finish, later ones fail, and
// subscribers' channels are closed.
func (s *Store) Close() error {
	s.stopWriting()
	s.mu.Lock()
	for ch := range s.subs {
		close(ch)
		delete(s.subs, ch)
	}
	s.mu.Unlock()
	s.rs.close()
	s.ws.close()
	return errors.Join(s.r.Close(), s.w.Close())
}

// now is the store's clock: UTC, wall time only.
func now() time.Time { return time.Now().UTC().Round(0) }
