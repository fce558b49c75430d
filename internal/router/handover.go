package router

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/ferrycd/ferry/internal/router/api"
)

// handover is what a router process gives its successor besides the
// listening sockets: the table and each target's health. Health is carried
// over (rather than checked afresh from "initial", as after a crash) so the
// successor serves every request from its first accept: a target the old
// process saw healthy keeps taking traffic, and the successor's own checks
// go on from there. Metric windows are not carried: they start afresh.
type handover struct {
	State  state                       `json:"state"`
	Health map[string]api.TargetHealth `json:"health"` // by healthKey
}

func healthKey(service, group, target string) string {
	return service + "\x00" + group + "\x00" + target
}

// freeze captures the hand-over and refuses every change from then on, so
// that nothing the old process accepts is missing from its successor. thaw
// undoes it when the successor failed.
func (rt *Router) freeze() handover {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	rt.frozen = true // no new change is accepted from here on
	// Changes accepted before are written (or undone) first: the
	// successor gets exactly what this process acknowledged.
	rt.awaitFlushed()
	rt.file.freeze() // after a health write under way: the file is the successor's
	h := handover{State: rt.snapshotState(), Health: map[string]api.TargetHealth{}}
	for _, s := range rt.services {
		for _, g := range s.groups {
			for _, t := range g.targets {
				h.Health[healthKey(s.cfg.Name, g.name, t.id)] = stateName(t.state.Load())
			}
		}
	}
	return h
}

func (rt *Router) thaw() {
	rt.mu.Lock()
	rt.frozen = false
	rt.file.thaw()
	rt.mu.Unlock()
}

// newFromHandover builds the successor's router from what its predecessor
// wrote to r.
func newFromHandover(opts Options, r io.Reader) (*Router, error) {
	var h handover
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&h); err != nil {
		return nil, fmt.Errorf("router: reading the hand-over from the old process: %w", err)
	}
	if h.State.Version != stateVersion {
		return nil, fmt.Errorf("router: hand-over state version %d, want %d", h.State.Version, stateVersion)
	}
	return build(opts.withDefaults(), h.State, h.Health, "handed over")
}
