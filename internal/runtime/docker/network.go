package docker

import (
	"cmp"
	"context"
	"fmt"
	"slices"

	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"
)

// ensureNetwork returns the ID of the tasks' user-defined bridge network,
// creating it when missing. Engines before Docker 25 accept a second network
// of a name that exists, so two servers creating it at the same moment can
// make two; the engine then refuses the name as ambiguous in every later
// container create, and no docker task could start again. So tasks join the
// network by ID, every driver settles on the same one (chooseNetwork), and
// the others are removed: the engine refuses that while a container is on
// one, which then stays until its containers are gone.
func (d *Driver) ensureNetwork(ctx context.Context, cli *client.Client) (string, error) {
	id, others, err := d.findNetwork(ctx, cli)
	if err != nil {
		return "", err
	}
	if id == "" {
		_, err = cli.NetworkCreate(ctx, d.network(), client.NetworkCreateOptions{Driver: "bridge",
			Labels: map[string]string{"ferry.network": "1"}})
		if err != nil && !isConflict(err) {
			return "", fmt.Errorf("creating docker network %s: %w", d.network(), d.engineErr(err))
		}
		if id, others, err = d.findNetwork(ctx, cli); err != nil {
			return "", err
		}
		if id == "" {
			return "", fmt.Errorf("docker network %s: created, then not found (removed meanwhile?); the next start tries again", d.network())
		}
	}
	for _, o := range others {
		cli.NetworkRemove(ctx, o, client.NetworkRemoveOptions{}) // best effort: refused while in use
	}
	return id, nil
}

// findNetwork lists the networks named d.network() and chooses one.
func (d *Driver) findNetwork(ctx context.Context, cli *client.Client) (id string, others []string, err error) {
	res, err := cli.NetworkList(ctx, client.NetworkListOptions{Filters: client.Filters{}.Add("name", d.network())})
	if err != nil {
		return "", nil, fmt.Errorf("docker network %s: %w", d.network(), d.engineErr(err))
	}
	id, others = chooseNetwork(d.network(), res.Items)
	return id, others, nil
}

// chooseNetwork picks among the networks the engine listed for name (its
// filter also matches names that merely contain it) the one every driver
// picks: the oldest, then the smallest ID. others are the rest of that name.
func chooseNetwork(name string, listed []network.Summary) (id string, others []string) {
	var same []network.Summary
	for _, n := range listed {
		if n.Name == name {
			same = append(same, n)
		}
	}
	if len(same) == 0 {
		return "", nil
	}
	slices.SortFunc(same, func(a, b network.Summary) int {
		return cmp.Or(a.Created.Compare(b.Created), cmp.Compare(a.ID, b.ID))
	})
	for _, n := range same[1:] {
		others = append(others, n.ID)
	}
	return same[0].ID, others
}
