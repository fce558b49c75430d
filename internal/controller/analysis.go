package controller

import (
	"context"
	"time"

	"github.com/ferrycd/ferry/internal/deploy"
	"github.com/ferrycd/ferry/internal/notify"
	"github.com/ferrycd/ferry/internal/store"
)

// sampleState is a service's latest analysis sample of one group.
type sampleState struct {
	group  string
	sample deploy.Sample
}

// samples is the snapshot's view of the latest samples.
func (c *Controller) samples(serviceID int64) map[string]deploy.Sample {
	c.mu.Lock()
	defer c.mu.Unlock()
	s, ok := c.sampled[serviceID]
	if !ok {
		return nil
	}
	return map[string]deploy.Sample{s.group: s.sample}
}

// analysisDue starts a sample of the group the in-flight deployment
// analyses when one interval has passed since the last, and returns how long
// until the next is due (-1: nothing to sample).
func (c *Controller) analysisDue(ctx context.Context, sn *snapshot) time.Duration {
	a := sn.state.Params.Analysis
	if a == nil || c.d.Router == nil {
		return -1
	}
	var dep *deploy.Deployment
	for i := range sn.state.Deployments {
		if d := &sn.state.Deployments[i]; !d.Status.State.Done() && d.Status.Analysis.Group != "" {
			dep = d
		}
	}
	if dep == nil {
		return -1
	}
	interval := a.Interval
	if interval <= 0 {
		interval = 30 * time.Second
	}
	group, since := dep.Status.Analysis.Group, dep.Status.Analysis.Since
	c.mu.Lock()
	last, ok := c.sampled[sn.svc.ID]
	c.mu.Unlock()
	from := since
	if ok && last.group == group && last.sample.At.After(since) {
		from = last.sample.At
	}
	if wait := from.Add(interval).Sub(sn.state.Now); wait > 0 {
		return wait
	}
	svc, d := sn.svc, *dep
	spec, err := c.spec(ctx, svc.ID, d.To)
	if err != nil {
		return -1
	}
	c.spawn(ctx, svc.ID, "sample:"+routerName(svc), func(ctx context.Context) { c.sample(ctx, svc, spec, d, group, interval) })
	return interval
}

// webhookBody is what a webhook analysis check receives.
type webhookBody struct {
	App        string  `json:"app"`
	Env        string  `json:"environment"`
	Service    string  `json:"service"`
	Deployment string  `json:"deployment_id"`
	Revision   int     `json:"revision"`
	Group      string  `json:"group"`
	Requests   int64   `json:"requests"`
	ErrorRate  float64 `json:"error_rate"`
	P99Ms      float64 `json:"p99_ms"`
}

// sample reads the group's metrics over the last interval from the router,
// runs the webhook checks, and keeps the result for the next snapshot.
func (c *Controller) sample(ctx context.Context, svc store.Service, spec RevisionSpec, d deploy.Deployment, group string, interval time.Duration) {
	m, err := c.d.Router.Metrics(ctx, routerName(svc), group, interval)
	if err != nil {
		c.log.Warn("sampling a group's metrics", "service", routerName(svc), "group", group, "err", err)
		return
	}
	s := deploy.Sample{At: c.now(), Requests: m.Requests, Errors: m.Status["5xx"], P99: m.P99}
	if a := spec.Spec.Deploy.Analysis; a != nil {
		body := webhookBody{App: svc.App, Env: svc.Env, Service: svc.Name, Deployment: d.ID, Revision: d.To, Group: group,
			Requests: m.Requests, ErrorRate: m.ErrorRate, P99Ms: float64(m.P99) / float64(time.Millisecond)}
		for _, w := range a.Webhooks {
			pass, detail, err := notify.Check(ctx, w.URL, body, w.Timeout)
			if err != nil {
				s.WebhookError = err.Error()
				continue
			}
			if !pass {
				s.WebhookFailure = detail
				break
			}
		}
	}
	c.mu.Lock()
	c.sampled[svc.ID] = sampleState{group: group, sample: s}
	c.mu.Unlock()
}
