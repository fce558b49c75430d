package docker

import (
	"fmt"
	"math"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"
	"golang.org/x/sys/unix"

	"github.com/ferrycd/ferry/internal/runtime"
)

const defaultStopTimeout = 10 * time.Second

var loopback = netip.MustParseAddr("127.0.0.1")

// createOptions is the container that runs spec: ferry's labels and name,
// its port published on loopback at the port ferry allocated, no restart
// policy and no Docker healthcheck; onNetwork adds its network. Bad specs
// are errors naming the field, found before anything asks the engine.
func createOptions(instance string, spec runtime.TaskSpec) (client.ContainerCreateOptions, error) {
	if err := checkName("task id", spec.ID); err != nil {
		return client.ContainerCreateOptions{}, err
	}
	if spec.Image == "" {
		return client.ContainerCreateOptions{}, fmt.Errorf("task %s: no image to run (services.%s.image)", spec.ID, spec.Service)
	}
	if spec.Port < 0 || spec.Port > math.MaxUint16 {
		return client.ContainerCreateOptions{}, fmt.Errorf("task %s: port %d out of range", spec.ID, spec.Port)
	}
	sig, err := signalName(spec.StopSignal)
	if err != nil {
		return client.ContainerCreateOptions{}, fmt.Errorf("services.%s.stop_signal: %w", spec.Service, err)
	}
	if spec.Limits.CPU < 0 || spec.Limits.MemoryBytes < 0 {
		return client.ContainerCreateOptions{}, fmt.Errorf("services.%s.limits: negative limit", spec.Service)
	}
	timeout := spec.StopTimeout
	if timeout <= 0 {
		timeout = defaultStopTimeout
	}
	stopSecs := int(math.Ceil(timeout.Seconds()))
	cfg := &container.Config{
		Image:      spec.Image,
		Env:        taskEnv(spec),
		Labels:     taskLabels(instance, spec),
		StopSignal: sig,
		// The engine's own stop (docker stop by hand) honours the service's
		// timeout too.
		StopTimeout: &stopSecs,
		Healthcheck: &container.HealthConfig{Test: []string{"NONE"}},
	}
	if len(spec.Command) > 0 {
		cfg.Cmd = spec.Command
	}
	host := &container.HostConfig{
		RestartPolicy: container.RestartPolicy{Name: container.RestartPolicyDisabled},
		Resources: container.Resources{
			Memory:   spec.Limits.MemoryBytes,
			NanoCPUs: int64(spec.Limits.CPU * 1e9),
		},
	}
	if n := spec.Limits.NoFile; n > 0 {
		host.Ulimits = append(host.Ulimits, &container.Ulimit{Name: "nofile", Soft: int64(n), Hard: int64(n)})
	}
	if n := spec.Limits.Procs; n > 0 {
		host.Ulimits = append(host.Ulimits, &container.Ulimit{Name: "nproc", Soft: int64(n), Hard: int64(n)})
	}
	if spec.Port > 0 {
		p, _ := network.PortFrom(uint16(spec.Port), network.TCP)
		cfg.ExposedPorts = network.PortSet{p: {}}
		host.PortBindings = network.PortMap{p: {{HostIP: loopback, HostPort: strconv.Itoa(spec.Port)}}}
	}
	return client.ContainerCreateOptions{Name: containerName(instance, spec.ID), Config: cfg, HostConfig: host}, nil
}

// onNetwork puts the container o creates on network ref (an ID or a name).
func onNetwork(o client.ContainerCreateOptions, ref string) client.ContainerCreateOptions {
	o.HostConfig.NetworkMode = container.NetworkMode(ref)
	o.NetworkingConfig = &network.NetworkingConfig{EndpointsConfig: map[string]*network.EndpointSettings{ref: {}}}
	return o
}

// signalName is the canonical name of a stop signal: "" is SIGTERM; "term",
// "TERM" and "SIGTERM" are the same.
func signalName(name string) (string, error) {
	if name == "" {
		return "SIGTERM", nil
	}
	n := strings.ToUpper(name)
	if !strings.HasPrefix(n, "SIG") {
		n = "SIG" + n
	}
	if unix.SignalNum(n) == 0 {
		return "", fmt.Errorf("%q: not a signal name (such as SIGTERM, SIGINT, SIGQUIT)", name)
	}
	return n, nil
}

// statusOf is what the driver reports of an inspected container.
func statusOf(c container.InspectResponse) runtime.Status {
	st := runtime.Status{Handle: c.ID, ExitCode: -1}
	if c.Config != nil {
		st.ID = c.Config.Labels[LabelTaskID]
		if p := c.Config.Labels[LabelPort]; p != "" {
			st.Addr = "127.0.0.1:" + p
		}
	}
	if s := c.State; s != nil {
		st.Running = s.Running
		st.StartedAt = engineTime(s.StartedAt)
		if s.Status == container.StateExited || s.Status == container.StateDead {
			st.ExitCode = s.ExitCode
			st.ExitedAt = engineTime(s.FinishedAt)
		}
	}
	return st
}

// engineTime parses the engine's timestamps; its "never" is the zero time
// "0001-01-01T00:00:00Z", which parses to the zero time.Time as wanted.
func engineTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}
	}
	return t
}
