// Package store owns ferry's persistent state: one embedded SQLite file
// (pure Go, no cgo) holding apps, environments, services, revisions, tasks,
// deployments, events, previews, artifacts, webhook deliveries and meta
// values. It alone owns the schema and writes SQL; every other package goes
// through its typed methods.
//
// The database runs in WAL mode with foreign keys on. Migrations are applied
// on Open, each in its own transaction, and PRAGMA user_version records the
// schema version; a file written by a newer ferry is refused untouched.
// Writes go through a single connection, so concurrent goroutines queue in
// the process instead of failing with SQLITE_BUSY; reads use a separate pool
// and run in parallel. Writes that belong together go in one Store.Tx. A
// service's task list is also kept in memory, current through the writes
// this Store commits (taskcache.go): only one process, the server, may write
// the file while another has it open.
//
// The store decides nothing about deployments or tasks beyond keeping its
// own invariants (revisions are immutable, a terminal deployment never
// moves, at most one active deployment per service); it must not call the
// runtime, the router or the network.
package store
