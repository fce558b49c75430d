package store

import (
	"context"
	"database/sql"
	"fmt"
)

// migrations are applied in order; migrations[i] takes the schema from
// version i to i+1. Append only: a released migration is never edited.
var migrations = []string{
	// 1: the initial schema.
	`
CREATE TABLE meta (
	key   TEXT PRIMARY KEY,
	value TEXT NOT NULL
) STRICT;

CREATE TABLE apps (
	id         INTEGER PRIMARY KEY,
	name       TEXT NOT NULL UNIQUE CHECK (name <> ''),
	repo       TEXT NOT NULL DEFAULT '',
	created_at TEXT NOT NULL
) STRICT;

CREATE TABLE environments (
	id         INTEGER PRIMARY KEY,
	app_id     INTEGER NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
	name       TEXT NOT NULL CHECK (name <> ''),
	kind       TEXT NOT NULL CHECK (kind IN ('standard', 'preview')),
	created_at TEXT NOT NULL,
	UNIQUE (app_id, name)
) STRICT;

CREATE TABLE services (
	id             INTEGER PRIMARY KEY,
	environment_id INTEGER NOT NULL REFERENCES environments(id) ON DELETE CASCADE,
	name           TEXT NOT NULL CHECK (name <> ''),
	desired_count  INTEGER NOT NULL DEFAULT 0 CHECK (desired_count >= 0),
	scaled_count   INTEGER CHECK (scaled_count >= 0),
	live_revision  INTEGER,
	state          TEXT NOT NULL DEFAULT '',
	message        TEXT NOT NULL DEFAULT '',
	created_at     TEXT NOT NULL,
	updated_at     TEXT NOT NULL,
	UNIQUE (environment_id, name)
) STRICT;

CREATE TABLE revisions (
	service_id      INTEGER NOT NULL REFERENCES services(id) ON DELETE CASCADE,
	number          INTEGER NOT NULL CHECK (number > 0),
	spec            BLOB NOT NULL,
	masked_spec     BLOB NOT NULL,
	artifact_digest TEXT NOT NULL DEFAULT '',
	git_sha         TEXT,
	message         TEXT NOT NULL DEFAULT '',
	created_at      TEXT NOT NULL,
	PRIMARY KEY (service_id, number)
) STRICT;

CREATE INDEX revisions_by_artifact ON revisions(artifact_digest);

CREATE TRIGGER revisions_immutable BEFORE UPDATE ON revisions
BEGIN
	SELECT RAISE(ABORT, 'revisions are immutable');
END;

CREATE TABLE tasks (
	id            TEXT PRIMARY KEY CHECK (id <> ''),
	service_id    INTEGER NOT NULL REFERENCES services(id) ON DELETE CASCADE,
	revision      INTEGER NOT NULL,
	state         TEXT NOT NULL CHECK (state IN ('pending', 'starting', 'running', 'healthy', 'unhealthy',
	                                             'draining', 'stopping', 'stopped', 'failed')),
	driver        TEXT NOT NULL,
	handle        TEXT NOT NULL DEFAULT '',
	pid           INTEGER,
	process_start INTEGER,
	port          INTEGER,
	addr          TEXT NOT NULL DEFAULT '',
	started_at    TEXT,
	stopped_at    TEXT,
	exit_code     INTEGER,
	restarts      INTEGER NOT NULL DEFAULT 0,
	last_error    TEXT NOT NULL DEFAULT '',
	healthy_since TEXT,
	created_at    TEXT NOT NULL,
	updated_at    TEXT NOT NULL,
	FOREIGN KEY (service_id, revision) REFERENCES revisions(service_id, number) ON DELETE CASCADE
) STRICT;
CREATE INDEX tasks_by_service ON tasks(service_id, revision);
CREATE INDEX tasks_live ON tasks(state) WHERE state <> 'stopped';

CREATE TABLE deployments (
	id                   INTEGER PRIMARY KEY AUTOINCREMENT,
	service_id           INTEGER NOT NULL REFERENCES services(id) ON DELETE CASCADE,
	from_revision        INTEGER,
	to_revision          INTEGER NOT NULL,
	strategy             TEXT NOT NULL,
	state                TEXT NOT NULL CHECK (state IN ('pending', 'in_progress', 'paused', 'succeeded', 'failed',
	                                                    'rolling_back', 'rolled_back', 'aborted', 'superseded')),
	reason               TEXT NOT NULL DEFAULT '',
	step                 INTEGER NOT NULL DEFAULT 0,
	failed_tasks         INTEGER NOT NULL DEFAULT 0,
	progress_deadline_at TEXT,
	status               BLOB,
	created_at           TEXT NOT NULL,
	updated_at           TEXT NOT NULL,
	finished_at          TEXT,
	FOREIGN KEY (service_id, to_revision) REFERENCES revisions(service_id, number) ON DELETE CASCADE,
	FOREIGN KEY (service_id, from_revision) REFERENCES revisions(service_id, number) ON DELETE CASCADE
) STRICT;
CREATE INDEX deployments_by_service ON deployments(service_id, id);
-- A service moves under one deployment at a time: a new one supersedes the
-- active one in the same transaction.
CREATE UNIQUE INDEX deployments_one_active ON deployments(service_id)
	WHERE state IN ('pending', 'in_progress', 'paused', 'rolling_back');

-- Events carry names, not foreign keys: the trace outlives what it describes.
CREATE TABLE events (
	id            INTEGER PRIMARY KEY AUTOINCREMENT,
	time          TEXT NOT NULL,
	app           TEXT,
	env           TEXT,
	service       TEXT,
	deployment_id INTEGER,
	task_id       TEXT,
	preview_id    INTEGER,
	type          TEXT NOT NULL CHECK (type <> ''),
	message       TEXT NOT NULL DEFAULT '',
	fields        BLOB
) STRICT;
CREATE INDEX events_by_service ON events(app, env, service, id);
CREATE INDEX events_by_deployment ON events(deployment_id, id) WHERE deployment_id IS NOT NULL;
CREATE INDEX events_by_task ON events(task_id, id) WHERE task_id IS NOT NULL;
CREATE INDEX events_by_preview ON events(preview_id, id) WHERE preview_id IS NOT NULL;

CREATE TABLE previews (
	id           INTEGER PRIMARY KEY AUTOINCREMENT,
	app          TEXT NOT NULL,
	repo         TEXT NOT NULL CHECK (repo <> ''),
	pr           INTEGER CHECK (pr > 0),
	branch       TEXT NOT NULL,
	slug         TEXT NOT NULL CHECK (slug <> ''),
	env          TEXT NOT NULL CHECK (env <> ''),
	host         TEXT NOT NULL CHECK (host <> ''),
	state        TEXT NOT NULL CHECK (state IN ('creating', 'ready', 'failed', 'destroying')),
	head_sha     TEXT NOT NULL DEFAULT '',
	url          TEXT NOT NULL DEFAULT '',
	last_push_at TEXT,
	expires_at   TEXT,
	created_at   TEXT NOT NULL,
	updated_at   TEXT NOT NULL
) STRICT;
-- A preview is identified by its pull request, or by its branch when it has none.
CREATE UNIQUE INDEX previews_by_pr ON previews(repo, pr) WHERE pr IS NOT NULL;
CREATE UNIQUE INDEX previews_by_branch ON previews(repo, branch) WHERE pr IS NULL;
CREATE UNIQUE INDEX previews_by_host ON previews(host);
CREATE UNIQUE INDEX previews_by_env ON previews(app, env);

CREATE TABLE artifacts (
	digest       TEXT PRIMARY KEY,
	size         INTEGER NOT NULL CHECK (size >= 0),
	path         TEXT NOT NULL,
	app          TEXT NOT NULL DEFAULT '',
	created_at   TEXT NOT NULL,
	last_used_at TEXT NOT NULL
) STRICT;

CREATE TABLE build_cache (
	key          TEXT PRIMARY KEY CHECK (key <> ''),
	app          TEXT NOT NULL DEFAULT '',
	step         TEXT NOT NULL,
	path         TEXT NOT NULL,
	created_at   TEXT NOT NULL,
	last_used_at TEXT NOT NULL
) STRICT;

CREATE TABLE deliveries (
	id              INTEGER PRIMARY KEY AUTOINCREMENT,
	delivery_id     TEXT NOT NULL UNIQUE CHECK (delivery_id <> ''),
	event           TEXT NOT NULL,
	payload         BLOB NOT NULL,
	state           TEXT NOT NULL CHECK (state IN ('queued', 'done', 'failed')),
	attempts        INTEGER NOT NULL DEFAULT 0,
	next_attempt_at TEXT NOT NULL,
	error           TEXT NOT NULL DEFAULT '',
	created_at      TEXT NOT NULL,
	updated_at      TEXT NOT NULL
) STRICT;
CREATE INDEX deliveries_due ON deliveries(next_attempt_at) WHERE state = 'queued';
`,
	// 2: what the controller decided about each task: its generation (which
	// restart of the service started it) and why it is being stopped. The
	// controller kept both in its per-service meta value until then; they
	// are moved here so tasks in flight keep them across the upgrade.
	`
ALTER TABLE tasks ADD COLUMN generation INTEGER NOT NULL DEFAULT 0 CHECK (generation >= 0);
ALTER TABLE tasks ADD COLUMN stop_reason TEXT NOT NULL DEFAULT '';
UPDATE tasks SET
	generation = coalesce((SELECT json_extract(m.value, '$.generations."' || tasks.id || '"') FROM meta m
		WHERE m.key = 'controller/service/' || tasks.service_id AND json_valid(m.value)), 0),
	stop_reason = coalesce((SELECT json_extract(m.value, '$.stop_reasons."' || tasks.id || '"') FROM meta m
		WHERE m.key = 'controller/service/' || tasks.service_id AND json_valid(m.value)), '');
UPDATE meta SET value = json_remove(value, '$.generations', '$.stop_reasons')
	WHERE key LIKE 'controller/service/%' AND json_valid(value);
`,
	// 3: previews' environments are of kind preview. They were created as
	// standard until then; those a preview owns are marked, so that the
	// kind check (a hand deploy must not take over a preview's
	// environment, nor a preview a long-lived one) holds for them too.
	`
UPDATE environments SET kind = 'preview'
	WHERE EXISTS (SELECT 1 FROM previews p JOIN apps a ON a.name = p.app
		WHERE a.id = environments.app_id AND p.env = environments.name);
`,
}

// SchemaVersion is the schema this build of ferry writes.
func SchemaVersion() int { return len(migrations) }

// schemaVersion reads PRAGMA user_version.
func schemaVersion(ctx context.Context, q querier) (int, error) {
	var v int
	if err := q.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
		return 0, err
	}
	return v, nil
}

// checkVersion refuses a file written by a newer ferry. It is pure so that
// the message is tested without a file.
func checkVersion(file string, have, known int) error {
	if have > known {
		return fmt.Errorf("%s was written by a newer ferry (schema %d, this ferry knows %d): upgrade ferry", file, have, known)
	}
	return nil
}

// migrate applies every migration past the file's version, each in its own
// transaction together with the version bump, so a crash leaves the file at
// a version it really has.
func migrate(ctx context.Context, db *sql.DB, from int) error {
	for v := from; v < len(migrations); v++ {
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, migrations[v]); err != nil {
			_ = tx.Rollback()
			return fmt.Errorf("migration %d: %w", v+1, err)
		}
		if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", v+1)); err != nil {
			_ = tx.Rollback()
			return fmt.Errorf("migration %d: %w", v+1, err)
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("migration %d: %w", v+1, err)
		}
	}
	return nil
}
