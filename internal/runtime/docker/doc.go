// Package docker is ferry's runtime driver for a Docker engine: a task is a
// container, started from an image ferry built from the service's
// Dockerfile (or an image the service references), through the engine's API.
//
// Containers carry ferry's labels (app, environment, service, revision,
// task id, and the installation they belong to); the labels are how a
// restarted server finds its tasks again, and how two ferry installations
// sharing one engine keep out of each other's containers. Tasks join a
// user-defined network and publish their port on 127.0.0.1 only, at the port
// ferry allocated, so the router reaches them as it reaches processes. Docker
// restarts nothing and judges no health: ferry supervises, its router checks.
//
// The package owns the containers and images it labels and nothing else: it
// must not touch the store, the router or deployments.
package docker
