// Package notify owns ferry's outbound webhooks: deployment events posted as
// signed JSON to the endpoints a ferry.yaml names (GitHub's HMAC-SHA256
// signature scheme, a Slack-compatible text line), retried with backoff on a
// bounded per-endpoint queue so that the caller never waits, and the webhook
// analysis check (POST, 2xx passes).
//
// It must not touch the store, the router or the runtime: callers hand it
// events and targets; it only speaks HTTP. Secrets and endpoint paths (which
// often carry tokens, as Slack's do) never reach its logs or errors.
package notify
