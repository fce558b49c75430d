package e2e

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// secretsYAML is the example with two secrets in its env: one whole, one
// inside a longer value. extra adds env lines.
func secretsYAML(extra string) string {
	return helloYAML(`      API_KEY: '{{ secret "API_KEY" }}'
      DATABASE_URL: 'postgres://app:{{ secret "DB_PASSWORD" }}@db:5432/hello?sslmode=require'
` + extra)
}

// TestSecretsNeverLeak plants two secrets, drives a full cycle through the
// real binary — up, deploy, a broken deploy rolled back, rollback, status,
// revisions, events, logs, render, diff, a router restart, down — and fails
// if either value appears in any output or in any file under
// $FERRY_HOME/logs. It first proves the values did reach the tasks (by
// hash, through exec), so that a leak-free run is not a vacuous one.
func TestSecretsNeverLeak(t *testing.T) {
	home := shortFerryHome(t)
	addr := freeAddr(t)
	t.Cleanup(func() { ferry(t, home, home, nil, "down", "--all") })
	password, apiKey := plantSecret(t, home, "DB_PASSWORD"), plantSecret(t, home, "API_KEY")
	secrets := []string{password, apiKey}

	var outputs []string
	run := func(dir string, wantCode int, args ...string) result {
		t.Helper()
		r := ferry(t, dir, home, nil, args...)
		outputs = append(outputs, fmt.Sprintf("ferry %s (exit %d):\n%s\n%s", strings.Join(args, " "), r.Code, r.Stdout, r.Stderr))
		if wantCode >= 0 && r.Code != wantCode {
			t.Fatalf("ferry %s: exit %d, want %d\n%s%s", strings.Join(args, " "), r.Code, wantCode, r.Stdout, r.Stderr)
		}
		return r
	}

	run(home, 0, "up", "--example", "hello", "--listen", addr)
	app := filepath.Join(home, "examples", "hello")
	yaml := filepath.Join(app, "ferry.yaml")
	writeFile(t, yaml, secretsYAML("      HELLO_VERSION: v2\n"), 0o644)
	run(app, 0, "deploy")
	answersVersion(t, addr, "v2")

	// The tasks have the values: compare hashes, never the values.
	want := sha256.Sum256([]byte("postgres://app:" + password + "@db:5432/hello?sslmode=require\n"))
	r := run(app, 0, "exec", "web", "--", "sh", "-c", "printenv DATABASE_URL | sha256sum")
	if !strings.HasPrefix(strings.TrimSpace(r.Stdout), hex.EncodeToString(want[:])) {
		t.Fatalf("the task's DATABASE_URL is not the rendered secret (sha256 %q)", r.Stdout)
	}

	writeFile(t, yaml, secretsYAML("      HELLO_VERSION: v3\n      HELLO_UNHEALTHY: \"1\"\n"), 0o644)
	if r := run(app, -1, "deploy"); r.Code == 0 {
		t.Fatalf("a broken deploy succeeded:\n%s", r.Stdout)
	}
	answersVersion(t, addr, "v2")
	writeFile(t, yaml, secretsYAML("      HELLO_VERSION: v2\n"), 0o644)
	run(app, 0, "rollback", "web") // r2 → r1
	answersVersion(t, addr, "1")
	run(app, 0, "status")
	run(app, 0, "status", "-o", "json")
	run(app, 0, "revisions", "web")
	run(app, 0, "revisions", "-o", "json")
	run(app, 0, "events")
	run(app, 0, "events", "-o", "json")
	run(app, 0, "logs", "web")
	run(app, 0, "render")
	run(app, 0, "render", "-o", "json")
	run(app, 0, "verify")
	// diff against the live revision: once with only the secret changed (it
	// must not print old or new value), once with a visible change.
	newPassword := plantSecret(t, home, "DB_PASSWORD")
	secrets = append(secrets, newPassword)
	run(app, -1, "diff")
	writeFile(t, yaml, secretsYAML("      HELLO_VERSION: v9\n"), 0o644)
	run(app, -1, "diff")
	// A definition that does not render: the error names the problem, not
	// the value of a secret beside it.
	writeFile(t, yaml, secretsYAML("      BROKEN: '{{ secret \"NO_SUCH_SECRET\" }}'\n"), 0o644)
	if r := run(app, -1, "deploy"); r.Code == 0 {
		t.Fatalf("a deploy with a missing secret succeeded:\n%s", r.Stdout)
	}
	// The router daemon restarted in place: `down` must stop its successor.
	var rs struct{ PID int }
	if err := json.Unmarshal([]byte(run(home, 0, "router", "restart", "-o", "json").Stdout), &rs); err != nil || rs.PID <= 0 {
		t.Fatalf("router restart -o json: %v", err)
	}
	answersVersion(t, addr, "1")
	run(home, 0, "down", "--all")
	eventually(t, 20*time.Second, "the restarted router to be stopped by down", func() (bool, string) {
		return processGone(rs.PID), ""
	})

	for _, out := range outputs {
		for _, s := range secrets {
			if strings.Contains(out, s) {
				t.Errorf("a secret value appears in the output of %s", strings.SplitN(out, "\n", 2)[0])
			}
		}
	}
	scanned := 0
	err := filepath.WalkDir(filepath.Join(home, "logs"), func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		scanned++
		for _, s := range secrets {
			if i := strings.Index(string(b), s); i >= 0 {
				line := strings.Count(string(b[:i]), "\n") + 1
				t.Errorf("a secret value appears in %s line %d", path, line)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"server.log", "router.log"} {
		if _, err := os.Stat(filepath.Join(home, "logs", name)); err != nil {
			t.Errorf("the scan missed the %s daemon's log: %v", name, err)
		}
	}
	t.Logf("%d commands' output and %d log files scanned for %d secret values", len(outputs), scanned, len(secrets))
}

// plantSecret writes a fresh random value as secret name (0600) and returns it.
func plantSecret(t *testing.T, home, name string) string {
	t.Helper()
	var b [12]byte
	rand.Read(b[:])
	v := "plant-" + hex.EncodeToString(b[:]) + "-" + fmt.Sprint(time.Now().UnixNano()%1000)
	writeFile(t, filepath.Join(home, "secrets", name), v+"\n", 0o600)
	return v
}
