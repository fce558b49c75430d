// Package github speaks GitHub's protocol for previews: it verifies a
// webhook's X-Hub-Signature-256, turns pull_request and push payloads into
// the few facts ferry acts on, and reports back through the REST API
// (transient deployments and their statuses, one PR comment kept up to
// date, the open pull requests the sweeper reconciles against).
//
// It owns nothing persistent and must not touch the store or the
// controller: internal/preview decides what an event means.
package github
