package docker

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"
)

func TestChooseNetwork(t *testing.T) {
	at := func(s int) time.Time { return time.Date(2026, 11, 22, 6, 0, s, 0, time.UTC) }
	nw := func(name, id string, created time.Time) network.Summary {
		return network.Summary{Network: network.Network{Name: name, ID: id, Created: created}}
	}
	for _, tc := range []struct {
		name   string
		listed []network.Summary
		id     string
		others []string
	}{
		{"none", nil, "", nil},
		{"only names containing it", []network.Summary{nw("ferry-old", "a", at(1)), nw("myferry", "b", at(2))}, "", nil},
		{"one", []network.Summary{nw("ferry-old", "a", at(1)), nw("ferry", "b", at(2))}, "b", nil},
		{"the oldest of two", []network.Summary{nw("ferry", "b", at(2)), nw("ferry", "c", at(1))}, "c", []string{"b"}},
		{"same instant: the smallest id", []network.Summary{nw("ferry", "d", at(1)), nw("ferry", "c", at(1)), nw("ferry", "e", at(3))},
			"c", []string{"d", "e"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id, others := chooseNetwork("ferry", tc.listed)
			if id != tc.id || !reflect.DeepEqual(others, tc.others) {
				t.Errorf("chooseNetwork = %q, %v; want %q, %v", id, others, tc.id, tc.others)
			}
		})
	}
}

// Two servers creating the network at the same moment left two of its name
// on the engine, which then refuses the name as ambiguous. A start still
// works: it joins the older one and removes the other.
func TestStartSettlesOnOneNetworkOfAName(t *testing.T) {
	d := newDriver(t)
	d.Network = "ferry-dup-" + randHex(3)
	ctx := context.Background()
	cli, err := d.conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	named := func() []network.Summary {
		res, err := cli.NetworkList(ctx, client.NetworkListOptions{Filters: client.Filters{}.Add("name", d.Network)})
		if err != nil {
			t.Fatal(err)
		}
		return res.Items
	}
	t.Cleanup(func() {
		for _, n := range named() {
			cli.NetworkRemove(ctx, n.ID, client.NetworkRemoveOptions{})
		}
	})
	var ids []string
	for range 2 {
		res, err := cli.NetworkCreate(ctx, d.Network, client.NetworkCreateOptions{Driver: "bridge"})
		if isConflict(err) && len(ids) == 1 {
			break // Docker 25 and later refuse a second network of a name: the start below must still work
		}
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, res.ID)
	}
	if n := len(named()); n != len(ids) {
		t.Fatalf("the engine holds %d networks named %s after %d creates", n, d.Network, len(ids))
	}
	want, _ := chooseNetwork(d.Network, named())

	st, err := d.Start(ctx, helloSpec(t, "dup", nil))
	if err != nil {
		t.Fatalf("Start with two networks of one name: %v", err)
	}
	t.Cleanup(func() { // before the networks' cleanup: a network in use cannot be removed
		d.Stop(ctx, st.Handle, "SIGKILL", time.Second)
		d.Remove(ctx, st.Handle)
	})
	c := engineInspect(t, d, st.Handle)
	if string(c.HostConfig.NetworkMode) != want {
		t.Errorf("the task joined network %q, want %q (the older of %v)", c.HostConfig.NetworkMode, want, ids)
	}
	if left := named(); len(left) != 1 || left[0].ID != want {
		t.Errorf("networks named %s after the start: %+v, want only %s", d.Network, left, want)
	}
}
