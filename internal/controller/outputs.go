package controller

import (
	"context"
	"slices"
	"strings"

	"github.com/ferrycd/ferry/internal/deploy"
	"github.com/ferrycd/ferry/internal/runtime"
	"github.com/ferrycd/ferry/internal/store"
)

// outputsToRemove picks, from the task outputs the drivers keep, those to
// delete: every output of a service that no longer exists (a destroyed
// preview, a removed app), and of the others' gone tasks those of a
// revision retention no longer keeps or beyond the newest keep. A task the
// store still records is never picked; a name that is not a task id is left
// alone.
func outputsToRemove(kept []runtime.KeptOutput, recorded map[string]bool, revisions map[string]map[int]bool, keep int) []string {
	var remove []string
	gone := map[string][]runtime.KeptOutput{}
	for _, k := range kept {
		service, rev, ok := deploy.ParseTaskID(k.ID)
		switch {
		case !ok || recorded[k.ID]:
		case revisions[service] == nil || !revisions[service][rev]:
			remove = append(remove, k.ID)
		default:
			gone[service] = append(gone[service], k)
		}
	}
	for _, ks := range gone {
		slices.SortFunc(ks, func(a, b runtime.KeptOutput) int { return b.Modified.Compare(a.Modified) })
		for _, k := range ks[min(keep, len(ks)):] {
			remove = append(remove, k.ID)
		}
	}
	slices.Sort(remove)
	return slices.Compact(remove)
}

// pruneOutputs removes the task outputs outputsToRemove picks from every
// driver that keeps them. revisions are the revisions kept per task-id
// prefix. It returns how many it removed.
func (c *Controller) pruneOutputs(ctx context.Context, revisions map[string]map[int]bool) (int, error) {
	var keepers []runtime.LogKeeper
	var kept []runtime.KeptOutput
	for _, d := range c.allDrivers() {
		lk, ok := d.(runtime.LogKeeper)
		if !ok {
			continue
		}
		ks, err := lk.KeptOutputs()
		if err != nil {
			return 0, err
		}
		keepers, kept = append(keepers, lk), append(kept, ks...)
	}
	// Drivers sharing a logs directory list the same outputs.
	slices.SortFunc(kept, func(a, b runtime.KeptOutput) int { return strings.Compare(a.ID, b.ID) })
	kept = slices.CompactFunc(kept, func(a, b runtime.KeptOutput) bool { return a.ID == b.ID })
	if len(keepers) == 0 {
		return 0, nil
	}
	// Listed after the outputs: a task whose output was there had its row
	// already, so it is in this list unless it was forgotten meanwhile.
	rows, err := c.d.Store.ListTasks(ctx, store.TaskFilter{})
	if err != nil {
		return 0, err
	}
	recorded := map[string]bool{}
	for _, r := range rows {
		recorded[r.ID] = true
	}
	n := 0
	for _, id := range outputsToRemove(kept, recorded, revisions, c.d.KeepGoneOutputs) {
		for _, lk := range keepers {
			if err := lk.RemoveKept(id); err != nil {
				return n, err
			}
		}
		n++
	}
	return n, nil
}
