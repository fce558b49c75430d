// Package process is ferry's default runtime driver: a task is an OS process
// started in the read-only release directory of its revision.
//
// Each task runs under a small supervisor, the shim: the ferry binary
// re-executed as the hidden `ferry shim` command, in its own session, so it
// and its task outlive the server that started them. The shim applies
// rlimits (and cgroup v2 limits where the machine allows), starts the task as
// its child in the task's own process group, writes and rotates its output,
// and records its exit status in the task's state directory
// (<root>/<id>/, the root on a tmpfs when it can be: stateroot.go). A later driver instance, in a restarted server,
// finds everything again from those files and from /proc, matching pid AND
// process start time so that a reused pid is never mistaken for a task.
//
// The package owns the state and log files of process tasks and nothing
// else: it must not touch the store, the router or deployments.
package process
