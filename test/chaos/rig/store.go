package rig

import (
	"database/sql"
	"fmt"
	"net/url"

	_ "modernc.org/sqlite" // the driver ferry's store uses

	"github.com/ferrycd/ferry/internal/store"
)

// Deployment is a row of the store's deployments table.
type Deployment struct {
	ID       int64
	To       int
	Strategy string
	State    store.DeploymentState
	Reason   string
	Env      string // the environment's name
	// Preview says the environment is a preview's: of kind preview, or
	// named by a preview row (ferry records preview environments as
	// kind standard).
	Preview bool
}

// StoredTask is a row of the store's tasks table.
type StoredTask struct {
	ID       string
	Revision int
	State    string
	Env      string // the environment's name
}

// Active reports whether the store says the task's process should exist.
func (t StoredTask) Active() bool { return t.State != "stopped" && t.State != "failed" }

// StoredPreview is a row of the store's previews table.
type StoredPreview struct {
	ID      int64
	Branch  string
	Slug    string
	Env     string
	Host    string
	State   store.PreviewState
	HeadSHA string
}

// Settled reports whether the preview is in a state it stays in by itself:
// ready or failed, not half-way through being created or destroyed.
func (p StoredPreview) Settled() bool {
	return p.State == store.PreviewReady || p.State == store.PreviewFailed
}

// Snapshot is what the store says at one moment.
type Snapshot struct {
	Deployments []Deployment
	Tasks       []StoredTask
	Previews    []StoredPreview
}

// ReadStore opens the SQLite file read-only (the server may be writing it:
// WAL lets a reader see the last commit) and reads deployments, tasks and
// previews, all in one read transaction: one commit's view.
func ReadStore(path string) (Snapshot, error) {
	u := url.URL{Scheme: "file", Path: path, RawQuery: "mode=ro&_pragma=busy_timeout(5000)&_pragma=query_only(1)"}
	db, err := sql.Open("sqlite", u.String())
	if err != nil {
		return Snapshot{}, err
	}
	defer db.Close()
	tx, err := db.Begin()
	if err != nil {
		return Snapshot{}, err
	}
	defer tx.Rollback()
	var s Snapshot
	rows, err := tx.Query(`SELECT d.id, d.to_revision, d.strategy, d.state, d.reason, COALESCE(e.name, ''),
		COALESCE(e.kind = 'preview' OR EXISTS (SELECT 1 FROM previews p WHERE p.app = a.name AND p.env = e.name), 0)
		FROM deployments d LEFT JOIN services s ON s.id = d.service_id LEFT JOIN environments e ON e.id = s.environment_id
		LEFT JOIN apps a ON a.id = e.app_id
		ORDER BY d.id`)
	if err != nil {
		return s, fmt.Errorf("reading deployments from %s: %w", path, err)
	}
	for rows.Next() {
		var d Deployment
		if err := rows.Scan(&d.ID, &d.To, &d.Strategy, &d.State, &d.Reason, &d.Env, &d.Preview); err != nil {
			rows.Close()
			return s, err
		}
		s.Deployments = append(s.Deployments, d)
	}
	if err := rows.Close(); err != nil {
		return s, err
	}
	rows, err = tx.Query(`SELECT t.id, t.revision, t.state, COALESCE(e.name, '')
		FROM tasks t LEFT JOIN services s ON s.id = t.service_id LEFT JOIN environments e ON e.id = s.environment_id
		ORDER BY t.id`)
	if err != nil {
		return s, fmt.Errorf("reading tasks from %s: %w", path, err)
	}
	for rows.Next() {
		var t StoredTask
		if err := rows.Scan(&t.ID, &t.Revision, &t.State, &t.Env); err != nil {
			rows.Close()
			return s, err
		}
		s.Tasks = append(s.Tasks, t)
	}
	if err := rows.Close(); err != nil {
		return s, err
	}
	rows, err = tx.Query(`SELECT id, branch, slug, env, host, state, head_sha FROM previews ORDER BY id`)
	if err != nil {
		return s, fmt.Errorf("reading previews from %s: %w", path, err)
	}
	defer rows.Close()
	for rows.Next() {
		var p StoredPreview
		if err := rows.Scan(&p.ID, &p.Branch, &p.Slug, &p.Env, &p.Host, &p.State, &p.HeadSHA); err != nil {
			return s, err
		}
		s.Previews = append(s.Previews, p)
	}
	return s, rows.Err()
}

// Preview is the stored preview of branch, false when the store has none.
func (s Snapshot) Preview(branch string) (StoredPreview, bool) {
	for _, p := range s.Previews {
		if p.Branch == branch {
			return p, true
		}
	}
	return StoredPreview{}, false
}
