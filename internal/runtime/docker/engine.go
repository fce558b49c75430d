package docker

import (
	"context"
	"fmt"
	"os"
	"sync"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/client"
)

// engine holds the client of one Driver, made on first use.
type engine struct {
	mu  sync.Mutex
	cli *client.Client
}

// conn returns the engine's client, pinging it (and negotiating the API
// version) the first time; an engine that does not answer is a clear error
// and is tried again on the next call.
func (d *Driver) conn(ctx context.Context) (*client.Client, error) {
	d.eng.mu.Lock()
	defer d.eng.mu.Unlock()
	if d.eng.cli != nil {
		return d.eng.cli, nil
	}
	opts := []client.Opt{client.FromEnv}
	if d.Host != "" {
		opts = append(opts, client.WithHost(d.Host))
	}
	cli, err := client.New(opts...)
	if err != nil {
		return nil, fmt.Errorf("docker engine address %q: %w", d.hostName(), err)
	}
	if _, err := cli.Ping(ctx, client.PingOptions{NegotiateAPIVersion: true}); err != nil {
		cli.Close()
		return nil, unreachable(d.hostName(), err)
	}
	d.eng.cli = cli
	return cli, nil
}

// hostName is where the driver looks for the engine, as the user wrote it.
func (d *Driver) hostName() string {
	switch {
	case d.Host != "":
		return d.Host
	case os.Getenv("DOCKER_HOST") != "":
		return os.Getenv("DOCKER_HOST")
	}
	return client.DefaultDockerHost
}

func unreachable(host string, err error) error {
	return fmt.Errorf("cannot reach the Docker engine at %s: is it running? (%w)", host, err)
}

// engineErr turns a lost connection into the same clear error as at first
// contact, and leaves other errors as the engine worded them.
func (d *Driver) engineErr(err error) error {
	if client.IsErrConnectionFailed(err) {
		return unreachable(d.hostName(), err)
	}
	return err
}

func isNotFound(err error) bool { return cerrdefs.IsNotFound(err) }

func isConflict(err error) bool { return cerrdefs.IsConflict(err) }

// Close releases the driver's connection to the engine.
func (d *Driver) Close() error {
	d.eng.mu.Lock()
	defer d.eng.mu.Unlock()
	if d.eng.cli == nil {
		return nil
	}
	err := d.eng.cli.Close()
	d.eng.cli = nil
	return err
}
