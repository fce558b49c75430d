package api

import (
	"fmt"
	"net/url"
	"strconv"
)

// The endpoints' paths, for the CLI; every name is escaped.

// DeployPath is where a deploy of app/env is posted.
func DeployPath(app, env string) string { return envPath(app, env) + "/deploy" }

// StatusPath is the status of app/env.
func StatusPath(app, env string) string { return envPath(app, env) + "/status" }

// ServicePath is the base of one service's endpoints: add "/revisions",
// "/rollback", "/scale", "/restart", "/logs" or "/exec".
func ServicePath(app, env, service string) string {
	return envPath(app, env) + "/services/" + url.PathEscape(service)
}

// DeploymentPath is one deployment; add "/watch" to follow it.
func DeploymentPath(id int64) string { return "/v1/deployments/" + strconv.FormatInt(id, 10) }

// EventsPath is the event trace.
const EventsPath = "/v1/events"

// TasksPath is every task (DELETE stops them all).
const TasksPath = "/v1/tasks"

func envPath(app, env string) string {
	return fmt.Sprintf("/v1/apps/%s/envs/%s", url.PathEscape(app), url.PathEscape(env))
}
