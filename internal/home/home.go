// Package home owns the layout of $FERRY_HOME: where the store, secrets,
// sockets, artifacts, release directories and task logs live. Every other
// package asks it for a path instead of joining strings of its own, so the
// layout is defined in exactly one place. It creates directories; it never
// reads or writes the files inside them.
package home

import (
	"fmt"
	"os"
	"path/filepath"
)

// Dir is a ferry home directory. The zero value is unusable; use New.
type Dir struct{ root string }

// New returns the home at root (made absolute). It does not touch the disk.
func New(root string) (Dir, error) {
	if root == "" {
		return Dir{}, fmt.Errorf("ferry home: empty path (set --home or $FERRY_HOME)")
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		return Dir{}, fmt.Errorf("ferry home %q: %w", root, err)
	}
	return Dir{root: abs}, nil
}

// Root is the home directory itself.
func (d Dir) Root() string { return d.root }

// StorePath is the SQLite database file.
func (d Dir) StorePath() string { return filepath.Join(d.root, "ferry.db") }

// SecretsDir holds one file per secret (mode 0600), named for the secret.
func (d Dir) SecretsDir() string { return filepath.Join(d.root, "secrets") }

// ServerSocket is the control plane's API socket.
func (d Dir) ServerSocket() string { return filepath.Join(d.root, "server.sock") }

// RouterSocket is the router's admin API socket.
func (d Dir) RouterSocket() string { return filepath.Join(d.root, "router.sock") }

// RouterState is the router's persisted routing table.
func (d Dir) RouterState() string { return filepath.Join(d.root, "router.state.json") }

// ArtifactsDir is the content-addressed artifact store.
func (d Dir) ArtifactsDir() string { return filepath.Join(d.root, "artifacts") }

// BuildCacheDir holds cached build step outputs.
func (d Dir) BuildCacheDir() string { return filepath.Join(d.root, "cache") }

// ReleasesDir holds unpacked artifacts, one read-only directory per digest.
func (d Dir) ReleasesDir() string { return filepath.Join(d.root, "releases") }

// LogsDir holds per-task stdout/stderr logs and the daemons' own logs.
func (d Dir) LogsDir() string { return filepath.Join(d.root, "logs") }

// RunDir holds pid files of the daemons ferry starts (server, router).
func (d Dir) RunDir() string { return filepath.Join(d.root, "run") }

// TokenFile holds the control plane's API token (mode 0600) for the local CLI.
func (d Dir) TokenFile() string { return filepath.Join(d.root, "token") }

// TokenHashFile holds the sha256 of the API token: all the server keeps.
func (d Dir) TokenHashFile() string { return filepath.Join(d.root, "token.hash") }

// ServerLock is locked by the running server so that a second one refuses to start.
func (d Dir) ServerLock() string { return filepath.Join(d.RunDir(), "server.lock") }

// DaemonPidFile records the daemon called name (server, router) that ferry started.
func (d Dir) DaemonPidFile(name string) string { return filepath.Join(d.RunDir(), name+".pid") }

// DaemonLog is the stdout/stderr of the daemon called name.
func (d Dir) DaemonLog(name string) string { return filepath.Join(d.LogsDir(), name+".log") }

// SourcesDir holds the clones previews fetch commits into, one per source
// repository.
func (d Dir) SourcesDir() string { return filepath.Join(d.root, "sources") }

// WebhookSecretFile holds the secret GitHub signs webhook deliveries with
// (mode 0600).
func (d Dir) WebhookSecretFile() string { return filepath.Join(d.root, "webhook-secret") }

// GitHubTokenFile holds the token previews report to GitHub with (mode 0600).
func (d Dir) GitHubTokenFile() string { return filepath.Join(d.root, "github-token") }

// Ensure creates the home and its private subdirectories (mode 0700).
func (d Dir) Ensure() error {
	for _, p := range []string{d.root, d.SecretsDir(), d.ArtifactsDir(), d.BuildCacheDir(), d.ReleasesDir(), d.LogsDir(), d.RunDir()} {
		if err := os.MkdirAll(p, 0o700); err != nil {
			return fmt.Errorf("ferry home: %w", err)
		}
	}
	return nil
}
