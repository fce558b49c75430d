package docker

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"

	"github.com/ferrycd/ferry/internal/runtime"
)

// Labels ferry puts on its containers and images.
const (
	LabelInstance    = "ferry.instance"
	LabelApp         = "ferry.app"
	LabelEnvironment = "ferry.env"
	LabelService     = "ferry.service"
	LabelRevision    = "ferry.revision"
	LabelTaskID      = "ferry.task-id"
	LabelPort        = "ferry.port"
)

// defaultInstance labels the containers of a Driver whose Instance is unset.
const defaultInstance = "default"

// InstanceFor names the ferry installation whose home is root: a short,
// stable digest, safe in container names and label filters.
func InstanceFor(root string) string {
	sum := sha256.Sum256([]byte(root))
	return hex.EncodeToString(sum[:6])
}

// taskLabels are the labels of the container running spec.
func taskLabels(instance string, spec runtime.TaskSpec) map[string]string {
	l := map[string]string{
		LabelInstance: instance, LabelApp: spec.App, LabelEnvironment: spec.Environment,
		LabelService: spec.Service, LabelRevision: strconv.Itoa(spec.Revision), LabelTaskID: spec.ID,
	}
	if spec.Port > 0 {
		l[LabelPort] = strconv.Itoa(spec.Port)
	}
	return l
}

// containerName is the container's name: unique per installation and task,
// so the engine itself refuses a second container for one task.
func containerName(instance, id string) string { return "ferry-" + instance + "-" + id }

// checkName accepts what the engine accepts in a container name
// ([a-zA-Z0-9][a-zA-Z0-9_.-]*), naming what field was wrong.
func checkName(what, s string) error {
	if s == "" {
		return fmt.Errorf("%s: empty", what)
	}
	for i, r := range s {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || i > 0 && (r == '_' || r == '.' || r == '-')
		if !ok {
			return fmt.Errorf("%s %q: character %q not allowed (letters, digits and _ . - after the first)", what, s, r)
		}
	}
	return nil
}
