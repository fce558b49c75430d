package store

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
)

// TestFailedMigrationLeavesTheFileAtItsVersion adds a migration that fails
// halfway: its first statement must be rolled back with it and the version
// must stay where it was, so the next ferry retries it whole.
func TestFailedMigrationLeavesTheFileAtItsVersion(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "ferry.db")
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()

	known := migrations
	t.Cleanup(func() { migrations = known })
	migrations = append(append([]string{}, known...), `CREATE TABLE half (x INTEGER); INSERT INTO no_such_table VALUES (1);`)

	_, err = Open(ctx, path)
	half := fmt.Sprintf("migration %d", len(known)+1)
	if err == nil || !strings.Contains(err.Error(), half) || !strings.Contains(err.Error(), path) {
		t.Fatalf("Open = %v, want an error naming %s and the file", err, half)
	}
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var v, n int
	if err := db.QueryRow("PRAGMA user_version").Scan(&v); err != nil || v != len(known) {
		t.Fatalf("user_version = %d (%v), want %d", v, err, len(known))
	}
	if err := db.QueryRow(`SELECT count(*) FROM sqlite_schema WHERE name = 'half'`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("half-applied migration left table behind (%d, %v)", n, err)
	}
}

// TestMigration3MarksPreviewsEnvironments opens a store written before
// environments had kinds that mattered: the environment a preview owns
// becomes a preview one, the others stay standard.
func TestMigration3MarksPreviewsEnvironments(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "ferry.db")
	known := migrations
	t.Cleanup(func() { migrations = known })
	migrations = known[:2]
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.PutApp(ctx, App{Name: "shop"}); err != nil {
		t.Fatal(err)
	}
	for _, env := range []string{"pr-3", "staging"} {
		if _, err := s.EnsureEnvironment(ctx, "shop", env, EnvStandard); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.CreatePreview(ctx, Preview{App: "shop", Repo: "acme/shop", PR: 3, Branch: "topic", Slug: "topic",
		Env: "pr-3", Host: "topic.localhost"}); err != nil {
		t.Fatal(err)
	}
	s.Close()

	migrations = known
	s, err = Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	envs, err := s.ListEnvironments(ctx, "shop")
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]EnvKind{}
	for _, e := range envs {
		kinds[e.Name] = e.Kind
	}
	if kinds["pr-3"] != EnvPreview || kinds["staging"] != EnvStandard {
		t.Fatalf("kinds after migration 3: %v, want pr-3 preview and staging standard", kinds)
	}
}
