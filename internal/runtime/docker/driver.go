package docker

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"

	"github.com/ferrycd/ferry/internal/runtime"
)

// Driver runs tasks as containers of a Docker engine. The zero value works:
// the engine at $DOCKER_HOST or the default socket, installation "default",
// network "ferry".
type Driver struct {
	// Host is the engine's address (unix:///var/run/docker.sock,
	// tcp://host:2375); "" means $DOCKER_HOST, else the default socket.
	Host string
	// Instance names this ferry installation (see InstanceFor); its
	// containers and images carry it, and List reports only those.
	Instance string
	// Network is the user-defined network tasks join, created when missing.
	Network string
	// LogDir, when set, keeps the output of a removed container in
	// LogDir/<task id>/output.log, where Logs still finds it.
	LogDir string
	// ImageGrace is how old an image must be before RemoveImages may take
	// it: `ferry deploy` builds an image, then asks for the revision that
	// names it, and a retention pass between the two must not remove it.
	// 0 means DefaultImageGrace; a negative value means none.
	ImageGrace time.Duration

	eng engine
}

// DefaultImageGrace is ImageGrace's default: far longer than a build takes
// to be deployed.
const DefaultImageGrace = 15 * time.Minute

var (
	_ runtime.Driver    = (*Driver)(nil)
	_ runtime.LogKeeper = (*Driver)(nil)
)

// killWait bounds how long a SIGKILLed container may take to be seen gone.
const killWait = 10 * time.Second

// Name is "docker".
func (d *Driver) Name() string { return "docker" }

// PlannedAddr is where a task given port is reached: its port is published
// on the loopback address (runtime.AddrPlanner).
func (d *Driver) PlannedAddr(port int) string {
	if port <= 0 {
		return ""
	}
	return loopback.String() + ":" + strconv.Itoa(port)
}

func (d *Driver) instance() string {
	if d.Instance == "" {
		return defaultInstance
	}
	return d.Instance
}

func (d *Driver) network() string {
	if d.Network == "" {
		return "ferry"
	}
	return d.Network
}

// Start creates and starts the task's container and returns once the engine
// has started it. A container that fails to start is removed; a task id
// that already has a container is refused.
func (d *Driver) Start(ctx context.Context, spec runtime.TaskSpec) (runtime.Status, error) {
	if err := checkName("ferry instance", d.instance()); err != nil {
		return runtime.Status{}, err
	}
	opts, err := createOptions(d.instance(), spec)
	if err != nil {
		return runtime.Status{}, err
	}
	cli, err := d.conn(ctx)
	if err != nil {
		return runtime.Status{}, err
	}
	netID, err := d.ensureNetwork(ctx, cli)
	if err != nil {
		return runtime.Status{}, err
	}
	created, err := cli.ContainerCreate(ctx, onNetwork(opts, netID))
	switch {
	case isConflict(err):
		return runtime.Status{}, fmt.Errorf("task %s already exists (remove it before reusing its id)", spec.ID)
	case isNotFound(err):
		return runtime.Status{}, fmt.Errorf("task %s: image %s is not on the Docker engine (ferry pulls nothing: build or load it first)", spec.ID, spec.Image)
	case err != nil:
		return runtime.Status{}, fmt.Errorf("creating the container of task %s: %w", spec.ID, d.engineErr(err))
	}
	if _, err := cli.ContainerStart(ctx, created.ID, client.ContainerStartOptions{}); err != nil {
		cli.ContainerRemove(context.WithoutCancel(ctx), created.ID, client.ContainerRemoveOptions{Force: true})
		return runtime.Status{}, fmt.Errorf("starting task %s: %w", spec.ID, d.engineErr(err))
	}
	st, err := d.Inspect(ctx, created.ID)
	if err != nil {
		return runtime.Status{}, err
	}
	return st, nil
}

// inspect returns the container a handle names if it is one of this
// installation's tasks; ok is false when it is gone or not ours.
func (d *Driver) inspect(ctx context.Context, handle string) (c container.InspectResponse, ok bool, err error) {
	if handle == "" || strings.ContainsAny(handle, "/?#") {
		return c, false, fmt.Errorf("docker task handle %q: not a container id", handle)
	}
	cli, err := d.conn(ctx)
	if err != nil {
		return c, false, err
	}
	res, err := cli.ContainerInspect(ctx, handle, client.ContainerInspectOptions{})
	if isNotFound(err) {
		return c, false, nil
	}
	if err != nil {
		return c, false, d.engineErr(err)
	}
	c = res.Container
	if c.Config == nil || c.Config.Labels[LabelInstance] != d.instance() || c.Config.Labels[LabelTaskID] == "" {
		return c, false, nil
	}
	return c, true, nil
}

// Inspect reports the task a handle names. A container that is gone, or
// that is not one of this installation's tasks, is not running and its exit
// code is unknown.
func (d *Driver) Inspect(ctx context.Context, handle string) (runtime.Status, error) {
	c, ok, err := d.inspect(ctx, handle)
	if err != nil {
		return runtime.Status{}, err
	}
	if !ok {
		return runtime.Status{Handle: handle, ExitCode: -1}, nil
	}
	return statusOf(c), nil
}

// List reports the running containers labelled with this installation,
// whichever driver instance started them.
func (d *Driver) List(ctx context.Context) ([]runtime.Status, error) {
	cli, err := d.conn(ctx)
	if err != nil {
		return nil, err
	}
	f := client.Filters{}.Add("label", LabelInstance+"="+d.instance()).Add("label", LabelTaskID)
	res, err := cli.ContainerList(ctx, client.ContainerListOptions{Filters: f})
	if err != nil {
		return nil, d.engineErr(err)
	}
	var out []runtime.Status
	for _, c := range res.Items {
		st, err := d.Inspect(ctx, c.ID)
		if err != nil {
			return nil, err
		}
		if st.Running {
			out = append(out, st)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// Stop sends signal (default SIGTERM) to the container, waits up to timeout
// (<= 0: 10s) for it to exit, then SIGKILLs it, and returns once the engine
// has recorded the exit. Stopping a task that is gone, or a handle that is
// not this installation's, touches nothing and is not an error.
func (d *Driver) Stop(ctx context.Context, handle string, signal string, timeout time.Duration) error {
	sig, err := signalName(signal)
	if err != nil {
		return fmt.Errorf("stopping task: %w", err)
	}
	if timeout <= 0 {
		timeout = defaultStopTimeout
	}
	c, ok, err := d.inspect(ctx, handle)
	if err != nil || !ok || c.State == nil || !c.State.Running {
		return err
	}
	id := c.Config.Labels[LabelTaskID]
	cli, err := d.conn(ctx)
	if err != nil {
		return err
	}
	if err := d.kill(ctx, cli, handle, sig); err != nil {
		return fmt.Errorf("stopping task %s: %w", id, err)
	}
	exited, err := d.waitExit(ctx, cli, handle, timeout)
	if err != nil || exited {
		return err
	}
	if err := d.kill(ctx, cli, handle, "SIGKILL"); err != nil {
		return fmt.Errorf("stopping task %s: %w", id, err)
	}
	if exited, err = d.waitExit(ctx, cli, handle, killWait); err != nil {
		return err
	} else if !exited {
		return fmt.Errorf("stopping task %s: container %.12s survived SIGKILL for %s", id, handle, killWait)
	}
	return nil
}

// kill signals a container; one that is no longer running is no error.
func (d *Driver) kill(ctx context.Context, cli *client.Client, handle, sig string) error {
	_, err := cli.ContainerKill(ctx, handle, client.ContainerKillOptions{Signal: sig})
	if err == nil || isNotFound(err) {
		return nil
	}
	if isConflict(err) { // "is not running"
		return nil
	}
	return d.engineErr(err)
}

// waitExit waits up to within for the container to stop running; it
// reports whether it did. The caller's cancellation is an error.
func (d *Driver) waitExit(ctx context.Context, cli *client.Client, handle string, within time.Duration) (bool, error) {
	wctx, cancel := context.WithTimeout(ctx, within)
	defer cancel()
	res := cli.ContainerWait(wctx, handle, client.ContainerWaitOptions{Condition: container.WaitConditionNotRunning})
	select {
	case <-res.Result:
		return true, nil
	case err := <-res.Error:
		switch {
		case ctx.Err() != nil:
			return false, ctx.Err()
		case wctx.Err() != nil:
			return false, nil
		case isNotFound(err):
			return true, nil
		}
		return false, d.engineErr(err)
	}
}

// Remove deletes a stopped task's container, keeping its output under
// LogDir when that is set. Removing a task that is already gone is not an
// error.
func (d *Driver) Remove(ctx context.Context, handle string) error {
	c, ok, err := d.inspect(ctx, handle)
	if err != nil {
		return err
	}
	if !ok {
		if c.ID != "" {
			return fmt.Errorf("removing container %.12s: it is not a task of this ferry installation", handle)
		}
		return nil
	}
	id := c.Config.Labels[LabelTaskID]
	if c.State != nil && c.State.Running {
		return fmt.Errorf("removing task %s: it is running (stop it first)", id)
	}
	if err := d.keepLogs(ctx, handle, id); err != nil {
		return fmt.Errorf("removing task %s: keeping its logs: %w", id, err)
	}
	cli, err := d.conn(ctx)
	if err != nil {
		return err
	}
	if _, err := cli.ContainerRemove(ctx, handle, client.ContainerRemoveOptions{}); err != nil && !isNotFound(err) {
		return fmt.Errorf("removing task %s: %w", id, d.engineErr(err))
	}
	return nil
}
