// Package router is ferry's data plane: the HTTP reverse proxy users' traffic
// passes through. It owns the routing table (host + path prefix → service),
// target groups and their weights and rules, load balancing, active and
// passive health checks, draining, per-service and per-group metrics, the
// admin API served on a unix socket and the state file that lets it restart
// with its last configuration. It must not touch the control plane's store or
// the runtime drivers: everything it knows arrives through the admin API.
//
// A change through the admin API is written to the state file before it
// is published (commit.go; changes made at once share one write): if the
// file cannot be written (a full disk) the call fails naming the file and
// the cause, and nothing changes,
// so a router restarted later never loads a table older than the one it
// served. Targets' health is saved too, on each change (healthsave.go), so
// that a router restarted after a crash re-admits a target that was
// healthy by its first check, run at once, and holds requests for that
// check for a bounded grace instead of answering 503 (restore.go).
//
// Requests take one of two paths. Plain requests (GET, HEAD, OPTIONS without
// a body) take a hand-written HTTP/1.1 fast path (fastpath.go) with pooled
// upstream connections and no allocation per request; anything else moves
// its connection to net/http and httputil.ReverseProxy (proxy.go), which
// handle bodies, upgrades and the rest. Both share the same routing
// decision, balancing, health, draining and metrics.
//
// A running router restarts without refusing or failing a request
// (successor.go, handover.go): on SIGUSR2 or POST /v1/restart it starts its
// binary again with its listening sockets inherited and its table and
// targets' health handed over through a pipe, so the successor serves from
// its first accept with no target back in "initial"; the old process then
// stops accepting, drains and exits. Changes sent during the hand-over are
// refused with 503 (applied nowhere) and retried by the client.
package router
