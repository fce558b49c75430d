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
}

// StoredTask is a row of the store's tasks table.
type StoredTask struct {
	ID       string
	Revision int
	State    string
}

// Active reports whether the store says the task's process should exist.
func (t StoredTask) Active() bool { return t.State != "stopped" && t.State != "failed" }

// Snapshot is what the store says at one moment.
type Snapshot struct {
	Deployments []Deployment
	Tasks       []StoredTask
}

// ReadStore opens the SQLite file read-only (the server may be writing it:
// WAL lets a reader see the last commit) and reads deployments and tasks.
func ReadStore(path string) (Snapshot, error) {
	u := url.URL{Scheme: "file", Path: path, RawQuery: "mode=ro&_pragma=busy_timeout(5000)&_pragma=query_only(1)"}
	db, err := sql.Open("sqlite", u.String())
	if err != nil {
		return Snapshot{}, err
	}
	defer db.Close()
	var s Snapshot
	rows, err := db.Query(`SELECT id, to_revision, strategy, state, reason FROM deployments ORDER BY id`)
	if err != nil {
		return s, fmt.Errorf("reading deployments from %s: %w", path, err)
	}
	for rows.Next() {
		var d Deployment
		if err := rows.Scan(&d.ID, &d.To, &d.Strategy, &d.State, &d.Reason); err != nil {
			rows.Close()
			return s, err
		}
		s.Deployments = append(s.Deployments, d)
	}
	if err := rows.Close(); err != nil {
		return s, err
	}
	rows, err = db.Query(`SELECT id, revision, state FROM tasks ORDER BY id`)
	if err != nil {
		return s, fmt.Errorf("reading tasks from %s: %w", path, err)
	}
	defer rows.Close()
	for rows.Next() {
		var t StoredTask
		if err := rows.Scan(&t.ID, &t.Revision, &t.State); err != nil {
			return s, err
		}
		s.Tasks = append(s.Tasks, t)
	}
	return s, rows.Err()
}
