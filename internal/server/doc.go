// Package server owns the control plane's HTTP plumbing: listening on the
// unix socket under $FERRY_HOME (and optionally on TCP), refusing to start
// twice on one home, the API token, authentication, request ids, access
// logging, panic recovery, body limits, JSON helpers, newline-delimited JSON
// streaming and the exec upgrade. Endpoints are registered by the packages
// that own the work through Handle; this package holds no deploy logic and
// never touches the store, the runtime or the router itself.
package server
