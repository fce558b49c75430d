// Package preview owns preview environments: a pull request's (or a
// watched branch's) own live environment at <slug>.<preview domain>. It
// turns git events into builds and deploys of environment pr-<n> (or
// br-<slug>), chooses each preview's unique host, enforces the cap and the
// TTL, reconciles against the open pull requests, runs the on_create and
// on_destroy hooks, reports back to GitHub and drains the persistent queue
// of webhook deliveries.
//
// Identity is (repo, pr) or (repo, branch), never the slug. Every step is
// recorded in the store before it is acted on, so a restart resumes it:
// a queued delivery is processed again, a preview left creating is
// created again at its commit when the manager starts, one left destroying
// is destroyed by the next sweep.
//
// It must not touch tasks, routes or release directories itself: deploying
// and destroying an environment go through Environments (the controller).
package preview
