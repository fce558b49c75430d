package controller

import (
	"context"

	"github.com/ferrycd/ferry/internal/notify"
	"github.com/ferrycd/ferry/internal/store"
)

// Notifier sends deployment events to webhook targets without blocking;
// *notify.Notifier satisfies it.
type Notifier interface {
	Send(targets []notify.Target, ev notify.Event)
}

// notice is one deployment event to send once its transaction commits.
type notice struct {
	event string
	svc   store.Service
	dep   store.Deployment // as recorded, Reason already masked
}

// transitionEvents are the notification events of a deployment moving from
// before to after: started when it leaves pending, step when it advances a
// traffic step, paused when it pauses, and the terminal state's own name.
// rolling_back is no event: rolled_back (or failed) follows it.
func transitionEvents(before, after store.Deployment) []string {
	var out []string
	if before.State == store.DeployPending && after.State != store.DeployPending && !after.State.Terminal() {
		out = append(out, notify.EventStarted)
	}
	if before.State != store.DeployPending && after.Step > before.Step && !after.State.Terminal() &&
		after.State != store.DeployRollingBack {
		out = append(out, notify.EventStep)
	}
	if after.State == store.DeployPaused && before.State != store.DeployPaused {
		out = append(out, notify.EventPaused)
	}
	if after.State.Terminal() && before.State != after.State {
		out = append(out, string(after.State))
	}
	return out
}

// notices are before's transitions to after, as notices about svc.
func notices(svc store.Service, before, after store.Deployment) []notice {
	var out []notice
	for _, e := range transitionEvents(before, after) {
		out = append(out, notice{event: e, svc: svc, dep: after})
	}
	return out
}

// send hands each notice to the notifier, addressed to the targets of the
// revision its deployment moves to. It runs after the commit: an event is
// never sent for a transition that was not recorded.
func (c *Controller) send(ctx context.Context, ns ...notice) {
	if c.d.Notifier == nil {
		return
	}
	for _, n := range ns {
		svc := n.svc
		spec, err := c.spec(ctx, svc.ID, n.dep.ToRevision)
		if err != nil || len(spec.Notifications) == 0 {
			continue
		}
		targets := make([]notify.Target, 0, len(spec.Notifications))
		for _, t := range spec.Notifications {
			targets = append(targets, notify.Target{URL: t.URL, Secret: t.Secret, Events: t.Events})
		}
		c.d.Notifier.Send(targets, notify.Event{
			Event: n.event, App: svc.App, Environment: svc.Env, Service: svc.Name, Deployment: n.dep.ID,
			FromRevision: n.dep.FromRevision, ToRevision: n.dep.ToRevision, State: string(n.dep.State),
			Reason: newMasker(spec.secretsFor()).mask(n.dep.Reason),
		})
	}
}
