package process

import (
	"strings"

	"github.com/ferrycd/ferry/internal/runtime"
)

// inherited are the only variables a task takes from the server's own
// environment: what any program needs to run, nothing that could carry the
// server's secrets or configuration.
var inherited = []string{"PATH", "HOME", "USER", "LOGNAME", "SHELL", "TZ", "LANG", "LC_ALL", "TMPDIR"}

// defaultPath is the task's PATH when the server has none.
const defaultPath = "/usr/local/bin:/usr/bin:/bin"

// taskEnv is the task's environment, sorted: the inherited basics from base
// (as os.Environ), then spec.Env, then PORT and FERRY_*, which ferry owns and
// spec.Env cannot override.
func taskEnv(spec runtime.TaskSpec, base []string) []string {
	env := map[string]string{"PATH": defaultPath}
	for _, kv := range base {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			continue
		}
		for _, name := range inherited {
			if k == name {
				env[k] = v
			}
		}
	}
	return runtime.TaskEnv(spec, env)
}

// lookupEnv finds name in an environment list.
func lookupEnv(env []string, name string) string {
	for _, kv := range env {
		if k, v, ok := strings.Cut(kv, "="); ok && k == name {
			return v
		}
	}
	return ""
}
