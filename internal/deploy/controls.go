package deploy

import "fmt"

// controls applies the operator's requests (Deployment.Controls) and the
// engine's own hold, and reports a promote request not yet acted on. Each
// promote and resume is acted on once: Status counts those consumed.
func (p *planner) controls(d *Deployment) (promote, full bool) {
	c := d.Controls
	if c.Abort && !d.Status.Aborted {
		p.abort(d)
		return false, false
	}
	if c.Resume > d.Status.Resumed {
		d.Status.Resumed = c.Resume
		p.depDirty = true
		if d.Status.Hold != "" {
			d.Status.Hold = ""
		}
	}
	if c.Promote > d.Status.Promoted {
		d.Status.Promoted = c.Promote
		d.Status.Hold = ""
		p.depDirty = true
		promote, full = true, c.PromoteFull
	}
	paused := c.Pause || d.Status.Hold != ""
	switch {
	case d.Status.State == DeployInProgress && paused:
		d.Status.State = DeployPaused
		p.depDirty = true
		why := d.Status.Hold
		if why == "" {
			why = "paused by an operator"
		}
		p.event(EventDeploymentPaused, d.ID, "", "paused: %s", why)
	case d.Status.State == DeployPaused && !paused:
		d.Status.State = DeployInProgress
		d.Status.ProgressAt = p.s.Now
		p.depDirty = true
		p.event(EventDeploymentResumed, d.ID, "", "resumed")
	}
	return promote, full
}

// hold pauses the deployment for a human (who resumes or promotes it).
func (p *planner) hold(d *Deployment, why string) {
	d.Status.Hold = why
	p.depDirty = true
	if d.Status.State == DeployInProgress {
		d.Status.State = DeployPaused
		p.event(EventDeploymentPaused, d.ID, "", "paused: %s", why)
	}
}

// abort sends traffic back to the stable revision at once: under a traffic
// strategy a weight swap, under rolling a movement back; either way the
// deployment ends aborted.
func (p *planner) abort(d *Deployment) {
	d.Status.Aborted = true
	p.depDirty = true
	if d.Status.State == DeployRollingBack {
		return
	}
	p.rollBack(d, fmt.Sprintf("aborted by an operator (r%d stays live)", d.Status.From))
}
