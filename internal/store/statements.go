package store

import (
	"context"
	"database/sql"
	"maps"
	"slices"
	"sync"
)

// maxStatements bounds how many distinct query texts a pool keeps prepared.
// Queries are written in the code, but a few are assembled from filters (an
// IN list per length); past the bound a query runs unprepared.
const maxStatements = 256

// statements keeps one prepared statement per query text for a pool.
// modernc's driver caches none, so without it SQLite parses and plans the
// same SQL on every call: a fifth of a 50-task list, and most of a one-row
// read. database/sql prepares a Stmt again on each connection that runs it.
//
// The writer pool has one connection, which a transaction holds, so a
// statement cannot be prepared on it from inside one; a query first seen in
// a transaction runs unprepared and is prepared after the transaction ends.
type statements struct {
	db *sql.DB

	mu sync.Mutex
	m  map[string]*sql.Stmt
	// later holds the queries seen in a transaction and not prepared yet;
	// one leaves it once its prepare was tried.
	later   map[string]bool
	unready int // queries a transaction ran unprepared, ever
}

func newStatements(db *sql.DB) *statements {
	return &statements{db: db, m: map[string]*sql.Stmt{}, later: map[string]bool{}}
}

// lookup returns the prepared statement for query, or nil.
func (s *statements) lookup(query string) *sql.Stmt {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.m[query]
}

// prepare returns the statement for query, preparing it if needed; nil when
// the cache is full or the prepare failed (the query then runs unprepared and
// reports its own error).
func (s *statements) prepare(ctx context.Context, query string) *sql.Stmt {
	if st := s.lookup(query); st != nil {
		return st
	}
	s.mu.Lock()
	full := len(s.m) >= maxStatements
	s.mu.Unlock()
	if full {
		return nil
	}
	st, err := s.db.PrepareContext(ctx, query)
	if err != nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if prev, ok := s.m[query]; ok {
		st.Close()
		return prev
	}
	s.m[query] = st
	return st
}

// noteForLater notes a query seen inside a transaction, for prepareLater.
func (s *statements) noteForLater(query string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.unready++
	if len(s.m)+len(s.later) < maxStatements {
		s.later[query] = true
	}
}

// prepareLater prepares the queries transactions ran unprepared; the caller
// must hold no connection of the pool, so no transaction notes another
// query meanwhile.
func (s *statements) prepareLater(ctx context.Context) {
	s.mu.Lock()
	qs := slices.Collect(maps.Keys(s.later))
	s.mu.Unlock()
	for _, q := range qs {
		s.prepare(ctx, q)
		s.mu.Lock()
		delete(s.later, q)
		s.mu.Unlock()
	}
}

// close closes every statement.
func (s *statements) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for q, st := range s.m {
		st.Close()
		delete(s.m, q)
	}
}

// pooled runs queries on a pool through its prepared statements.
type pooled struct{ st *statements }

func (p pooled) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if s := p.st.prepare(ctx, query); s != nil {
		return s.ExecContext(ctx, args...)
	}
	return p.st.db.ExecContext(ctx, query, args...)
}

func (p pooled) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if s := p.st.prepare(ctx, query); s != nil {
		return s.QueryContext(ctx, args...)
	}
	return p.st.db.QueryContext(ctx, query, args...)
}

func (p pooled) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if s := p.st.prepare(ctx, query); s != nil {
		return s.QueryRowContext(ctx, args...)
	}
	return p.st.db.QueryRowContext(ctx, query, args...)
}

// inTx runs queries in a transaction, through the writer's prepared
// statements when they exist. A caller's context does not reach SQLite: a
// statement interrupted by it would roll back the whole transaction, which
// other callers' writes share (commit.go).
type inTx struct {
	tx *sql.Tx
	st *statements
}

func (t inTx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	ctx = context.WithoutCancel(ctx)
	if s := t.st.lookup(query); s != nil {
		return t.tx.StmtContext(ctx, s).ExecContext(ctx, args...)
	}
	t.st.noteForLater(query)
	return t.tx.ExecContext(ctx, query, args...)
}

func (t inTx) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	ctx = context.WithoutCancel(ctx)
	if s := t.st.lookup(query); s != nil {
		return t.tx.StmtContext(ctx, s).QueryContext(ctx, args...)
	}
	t.st.noteForLater(query)
	return t.tx.QueryContext(ctx, query, args...)
}

func (t inTx) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	ctx = context.WithoutCancel(ctx)
	if s := t.st.lookup(query); s != nil {
		return t.tx.StmtContext(ctx, s).QueryRowContext(ctx, args...)
	}
	t.st.noteForLater(query)
	return t.tx.QueryRowContext(ctx, query, args...)
}
