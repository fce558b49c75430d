package docker

import "github.com/ferrycd/ferry/internal/runtime"

// taskEnv is the container's environment: spec.Env plus PORT and FERRY_*.
// Nothing comes from the server's own environment; the image supplies PATH
// and the like.
func taskEnv(spec runtime.TaskSpec) []string { return runtime.TaskEnv(spec, nil) }
