package runtime

import (
	"sort"
	"strconv"
)

// TaskEnv is a task's environment as a sorted KEY=VALUE list: base (what the
// driver lets a task inherit), then spec.Env, then PORT and FERRY_*, which
// ferry owns and spec.Env cannot override. Every driver builds it here so
// tasks see the same variables whatever runs them.
func TaskEnv(spec TaskSpec, base map[string]string) []string {
	env := make(map[string]string, len(base)+len(spec.Env)+6)
	for k, v := range base {
		env[k] = v
	}
	for k, v := range spec.Env {
		env[k] = v
	}
	env["FERRY_APP"] = spec.App
	env["FERRY_SERVICE"] = spec.Service
	env["FERRY_ENVIRONMENT"] = spec.Environment
	env["FERRY_REVISION"] = strconv.Itoa(spec.Revision)
	env["FERRY_TASK_ID"] = spec.ID
	if spec.Port > 0 {
		env["PORT"] = strconv.Itoa(spec.Port)
	} else {
		delete(env, "PORT")
	}
	out := make([]string, 0, len(env))
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}
