package docker

import (
	"context"
	"fmt"

	"github.com/moby/moby/client"
)

// ensureNetwork creates the tasks' user-defined bridge network when it is
// missing. Another driver creating it at the same moment is fine.
func (d *Driver) ensureNetwork(ctx context.Context, cli *client.Client) error {
	_, err := cli.NetworkInspect(ctx, d.network(), client.NetworkInspectOptions{})
	if err == nil {
		return nil
	}
	if !isNotFound(err) {
		return fmt.Errorf("docker network %s: %w", d.network(), d.engineErr(err))
	}
	_, err = cli.NetworkCreate(ctx, d.network(), client.NetworkCreateOptions{Driver: "bridge",
		Labels: map[string]string{"ferry.network": "1"}})
	if err != nil && !isConflict(err) {
		return fmt.Errorf("creating docker network %s: %w", d.network(), d.engineErr(err))
	}
	return nil
}
