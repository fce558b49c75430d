// Package controller executes the deploy engine's decisions. It runs one
// loop per service: snapshot (store rows, the runtime driver's view of each
// process, the router's view of each target's health) → deploy.Reconcile →
// record every action in one store transaction → perform the effects
// (start, register, stop, forget, hook runs) in goroutines keyed by task id,
// router weights at once in the loop (a rollback is that one call) → wait
// for a change. For the deployment under analysis it samples the analysed
// router group every interval and runs the webhook checks (analysis.go);
// it runs launch, before_traffic and after_traffic hooks in a task
// (hooks.go) and keeps their results in the store's meta table; it writes
// an operator's promote, abort, pause or resume into the deployment's
// controls (controls.go), which the engine acts on. It also turns the API's requests (deploy, rollback, scale,
// restart, stop every task) into store rows, adopts the tasks of a previous
// server at Run, reports status and progress, and applies artifact
// retention. Requests fail with a typed *Error (bad input, conflict, not
// found, or internal) whose text holds no secret value.
//
// It owns the revision spec document (RevisionSpec) and the per-service
// executor state it keeps in the store's meta table (per-task decisions are
// columns of the task rows). It decides nothing
// about deployments (package deploy does), writes no SQL (package store
// does), and never logs a task's environment: secret values are masked out
// of every event it appends.
package controller
