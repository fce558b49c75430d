// Package api owns the control plane's domain API: the HTTP handlers the
// server registers (deploy, status, revisions, rollback, scale, restart,
// logs, exec, events, stopping every task) and the JSON documents the server
// and the CLI exchange. Handlers translate HTTP into calls on the store (for
// what is read), the controller (for what changes desired state) and the
// runtime driver (logs, exec); they decide nothing about deployments and
// never touch the router. Secret values never reach a response: revisions
// are served by their masked spec only.
package api
