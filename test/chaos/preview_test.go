package chaos

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/ferrycd/ferry/test/chaos/rig"
)

// previewSpec is the preview: mapping every revision carries: previews
// live an hour (no TTL runs out during a run), on the default domain.
const previewSpec = "{ttl: 1h}"

// previews is the preview half of the loop: at most one preview is open at
// a time; a round with a preview action opens one of a fresh branch when
// none is, else destroys the open one, while the round's deployment and
// faults run.
type previews struct {
	c    *rig.Cluster
	open string // branch of the open preview, "" when none

	creates, destroys int            // actions started
	opened, closed    int            // previews the store recorded, and removed
	final             map[string]int // state each opened preview settled in → count
}

// previewRun is one preview action under way.
type previewRun struct {
	create bool
	branch string
	sha    string // the branch head a create deploys
	env    string // the environment a destroy removes
	done   chan previewDone
}

type previewDone struct {
	r   rig.Result
	err error
}

func (a *previewRun) String() string {
	if a.create {
		return fmt.Sprintf("preview create %s (%.12s)", a.branch, a.sha)
	}
	return fmt.Sprintf("preview destroy %s (%s)", a.branch, a.env)
}

// start begins round's preview action in the background. A create first
// commits the app's files as they are (this round's revision, broken or
// not) to a fresh branch, leaving the work tree the deployment builds
// from as it is.
func (p *previews) start(round int) (*previewRun, error) {
	a := &previewRun{create: p.open == "", done: make(chan previewDone, 1)}
	var args []string
	if a.create {
		a.branch = fmt.Sprintf("pv-%d", round)
		sha, err := p.c.App.Branch(a.branch)
		if err != nil {
			return nil, err
		}
		a.sha = sha
		args = []string{"preview", "create", a.branch, "--repo", p.c.App.Dir, "-o", "json"}
	} else {
		a.branch = p.open
		s, err := rig.ReadStore(p.c.StorePath())
		if err != nil {
			return nil, err
		}
		pv, ok := s.Preview(a.branch)
		if !ok {
			return nil, fmt.Errorf("the open preview of %s is not in the store: %+v", a.branch, s.Previews)
		}
		a.env = pv.Env
		args = []string{"preview", "destroy", pv.Slug}
	}
	go func() {
		r, err := p.c.Ferry(4*time.Minute, args...)
		a.done <- previewDone{r, err}
	}()
	return a, nil
}

// finish waits for the action's command, then checks the store and /proc
// once the round is over: every preview settled (none left creating or
// destroying), a create that exited 0 ready at the branch head, a destroyed
// preview gone from the store with no task process left. serverKilled says
// whether the server was killed during the round: the command may then
// have been cut off, which is allowed; what it leaves must still settle.
func (p *previews) finish(a *previewRun, serverKilled bool, logf func(string, ...any)) error {
	d := <-a.done
	if d.err != nil {
		return fmt.Errorf("%s: %v", a, d.err)
	}
	logf("%s: exit %d", a, d.r.Code)
	if d.r.Code != 0 {
		logf("%s: %s", a, strings.TrimSpace(d.r.Stderr))
	}
	if a.create {
		p.creates++
		p.open = a.branch
		if d.r.Code == 0 {
			var doc struct {
				Branch, State, Slug string
				HeadSHA             string `json:"head_sha"`
			}
			if err := json.Unmarshal([]byte(d.r.Stdout), &doc); err != nil {
				return fmt.Errorf("%s: exit 0 but its output is no preview: %v\n%s", a, err, d.r)
			}
			if doc.Branch != a.branch || doc.State != "ready" || doc.HeadSHA != a.sha {
				return fmt.Errorf("%s: exit 0 but it printed %+v", a, doc)
			}
		}
	} else {
		p.destroys++
	}
	// A create the server died under is resumed by the restarted server
	// (preview.Manager.resumeCreates): it settles on its own.
	s, err := previewsSettled(p.c, 2*time.Minute)
	if err != nil {
		return fmt.Errorf("after %s: %v", a, err)
	}
	pv, ok := s.Preview(a.branch)
	if a.create {
		switch {
		case !ok && d.r.Code == 0:
			return fmt.Errorf("%s: exit 0 but no preview of %s in the store afterwards", a, a.branch)
		case !ok:
			// Refused before anything was recorded (a full disk): nothing
			// is open.
			p.open = ""
			p.final["not recorded"]++
			return nil
		case pv.HeadSHA != a.sha:
			return fmt.Errorf("%s: the store has it at %.12s", a, pv.HeadSHA)
		case d.r.Code == 0 && pv.State != "ready":
			return fmt.Errorf("%s: exit 0 but the store has it %s", a, pv.State)
		case !serverKilled && d.r.Code != 0 && pv.State == "ready":
			return fmt.Errorf("%s: the preview is ready but the command exited %d\n%s", a, d.r.Code, d.r)
		}
		p.opened++
		p.final[string(pv.State)]++
		return nil
	}
	switch {
	case ok && d.r.Code == 0:
		return fmt.Errorf("%s: exit 0, yet the store still has the preview %+v", a, pv)
	case ok:
		// Refused before it began (a full disk): the preview is still
		// open and settled, and the next action destroys it again.
		logf("%s: the preview is still open (%s)", a, pv.State)
		return nil
	}
	p.open = ""
	p.closed++
	return envGone(p.c, a.env, time.Minute)
}

// closeOpen destroys the open preview, with no fault about, and checks
// that nothing of it is left.
func (p *previews) closeOpen() error {
	if p.open == "" {
		return nil
	}
	a, err := p.start(0)
	if err != nil {
		return err
	}
	d := <-a.done
	if d.err == nil && d.r.Code != 0 {
		d.err = fmt.Errorf("%s", d.r)
	}
	if d.err != nil {
		return fmt.Errorf("%s: %v", a, d.err)
	}
	p.destroys++
	p.closed++
	if _, err := previewsSettled(p.c, time.Minute); err != nil {
		return err
	}
	s, err := rig.ReadStore(p.c.StorePath())
	if err != nil {
		return err
	}
	if pv, ok := s.Preview(a.branch); ok {
		return fmt.Errorf("%s exited 0 but the store still has %+v", a, pv)
	}
	p.open = ""
	return envGone(p.c, a.env, time.Minute)
}

func (p *previews) String() string {
	return fmt.Sprintf("previews: %d creates, %d destroys; opened %d (%s), closed %d",
		p.creates, p.destroys, p.opened, counts(p.final), p.closed)
}

// previewsSettled polls until no preview in the store is being created or
// destroyed and returns the snapshot; an error names the ones that are not
// settled after within.
func previewsSettled(c *rig.Cluster, within time.Duration) (rig.Snapshot, error) {
	return storeSettles(c, within, "previews not settled in the store", func(s rig.Snapshot) (open []string) {
		for _, p := range s.Previews {
			if !p.Settled() {
				open = append(open, fmt.Sprintf("%s (%s, %s)", p.Branch, p.Env, p.State))
			}
		}
		sort.Strings(open)
		return open
	})
}

// envGone polls until environment env has no task row in the store and no
// task process runs in it.
func envGone(c *rig.Cluster, env string, within time.Duration) error {
	deadline := time.Now().Add(within)
	for {
		var left []string
		s, err := rig.ReadStore(c.StorePath())
		if err != nil {
			left = append(left, err.Error())
		}
		for _, t := range s.Tasks {
			if t.Env == env {
				left = append(left, fmt.Sprintf("task %s (%s) in the store", t.ID, t.State))
			}
		}
		for _, p := range rig.TaskProcs(c.Home) {
			if p.Env == env {
				left = append(left, fmt.Sprintf("process %d of task %s", p.PID, p.Task))
			}
		}
		if len(left) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("after %s the destroyed preview environment %s is not gone: %s", within, env, strings.Join(left, "; "))
		}
		time.Sleep(100 * time.Millisecond)
	}
}
