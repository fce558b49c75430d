package store

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
)

func count(s *statements) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.m)
}

// settled reports that no query waits to be prepared.
func settled(s *statements) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.later) == 0
}

func unready(s *statements) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.unready
}

// A query first run in a transaction is prepared once the transaction
// ends; the next transaction runs it prepared, and sees its own writes.
func TestStatementsPreparedAfterTheirFirstTransaction(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t)
	setAndRead := func(v string) string {
		t.Helper()
		var got string
		err := s.Tx(ctx, func(tx *Tx) error {
			if err := tx.SetMeta(ctx, "k", v); err != nil {
				return err
			}
			var err error
			got, err = tx.GetMeta(ctx, "k")
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	if got := setAndRead("one"); got != "one" {
		t.Fatalf("read %q in the transaction that wrote one", got)
	}
	// The writer prepares them once it has committed, with whatever
	// queries Open ran in transactions.
	deadline := time.Now().Add(5 * time.Second)
	for count(s.ws) < 2 || !settled(s.ws) {
		if time.Now().After(deadline) {
			t.Fatalf("%d writer statements prepared 5s after a transaction ran 2 queries, want at least 2 and none pending", count(s.ws))
		}
		time.Sleep(time.Millisecond)
	}
	before := unready(s.ws)
	if got := setAndRead("two"); got != "two" {
		t.Fatalf("read %q through prepared statements in the transaction that wrote two", got)
	}
	if n := unready(s.ws) - before; n != 0 {
		t.Errorf("the same queries ran unprepared again: %d of them", n)
	}
	if got, err := s.GetMeta(ctx, "k"); err != nil || got != "two" {
		t.Fatalf("read %q, %v outside the transaction, want two", got, err)
	}
	if count(s.rs) == 0 {
		t.Error("a read through the pool prepared no statement")
	}
}

// Past maxStatements, queries still run, unprepared; a query that does not
// prepare reports its error and is not kept.
func TestStatementsBounded(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t)
	q := pooled{s.rs}
	for i := range maxStatements + 20 {
		var n int
		if err := q.QueryRowContext(ctx, fmt.Sprintf("SELECT %d", i)).Scan(&n); err != nil || n != i {
			t.Fatalf("query %d: %d, %v", i, n, err)
		}
	}
	if n := count(s.rs); n != maxStatements {
		t.Errorf("%d statements kept, want the bound %d", n, maxStatements)
	}
	s2 := openTemp(t)
	_, err := pooled{s2.rs}.QueryContext(ctx, "SELECT nope FROM nowhere")
	if err == nil || !strings.Contains(err.Error(), "nowhere") {
		t.Errorf("bad query: %v, want an error naming the table", err)
	}
	if count(s2.rs) != 0 {
		t.Errorf("a query that failed to prepare was kept")
	}
}
