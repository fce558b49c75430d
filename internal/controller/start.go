package controller

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"

	"github.com/ferrycd/ferry/internal/runtime"
	"github.com/ferrycd/ferry/internal/runtime/process"
	"github.com/ferrycd/ferry/internal/store"
)

// launched is a task start recorded, with what start read to do it.
type launched struct {
	svc  store.Service
	spec RevisionSpec
	row  store.Task
	// traced: the router took the task while it started, and its
	// registered line went into the launch's transaction.
	traced bool
}

// start launches a pending task: port, release directory, driver Start, then
// the handle is persisted with its trace line. A failed launch leaves the
// row failed with the reason, which the engine counts against the circuit
// breaker. ok reports whether the task was launched and recorded.
//
// With group set (the task goes into the router as soon as it runs) and a
// driver that knows the task's address before it starts, the address is
// recorded on the pending row and the task registered with the router while
// the driver starts it (registerEarly): the router finds the task the moment
// it listens, instead of after the launch's record and a round trip, which
// under a rolling batch's load was 10-30 ms of every batch.
func (c *Controller) start(ctx context.Context, serviceID int64, id, group string) (l launched, ok bool) {
	row, err := c.d.Store.GetTask(ctx, id)
	if err != nil || row.State != store.TaskPending {
		return l, false // forgotten, or launched meanwhile
	}
	svc, err := c.d.Store.GetService(ctx, serviceID)
	if err != nil {
		return l, false
	}
	spec, err := c.spec(ctx, serviceID, row.Revision)
	if err != nil {
		c.launchFailed(ctx, svc, spec, id, 0, err)
		return l, false
	}
	drv, err := c.driverNamed(spec.Runtime)
	if err != nil {
		c.launchFailed(ctx, svc, spec, id, 0, err)
		return l, false
	}
	port, err := c.taskPort(spec, row)
	if err != nil {
		c.launchFailed(ctx, svc, spec, id, 0, err)
		return l, false
	}
	var registering <-chan string
	if planner, ok := drv.(runtime.AddrPlanner); ok && group != "" && port != 0 && spec.routed() && c.d.Router != nil {
		registering = c.registerEarly(ctx, svc, spec, row, group, planner.PlannedAddr(port), port)
	}
	st, err := c.launch(ctx, drv, spec, row, port)
	early := "" // the address the router took while the task started
	if registering != nil {
		early = <-registering
	}
	if err != nil {
		c.deregisterEarly(ctx, svc, id, group, early)
		if ctx.Err() == nil {
			c.launchFailed(ctx, svc, spec, id, port, err)
		}
		return l, false
	}
	if st.Addr != "" {
		port = portOf(st.Addr) // an adopted task keeps the port it listens on
	}
	// The router took the task at the address it listens on while it
	// started: its launch records it running (what the loop's next pass
	// would otherwise observe and record on its own: one record and one
	// pass fewer for each task of a batch), and its registered line commits
	// with the launch.
	inRouter := early != "" && early == st.Addr
	var rec store.Task
	traced := false
	err = c.d.Store.Tx(ctx, func(tx *store.Tx) error {
		cur, err := tx.GetTask(ctx, id)
		if err != nil {
			return err
		}
		if cur.State == store.TaskPending {
			cur.State = store.TaskStarting
			if inRouter {
				cur.State = store.TaskRunning
			}
		}
		cur.Driver, cur.Handle, cur.Port, cur.Addr, cur.StartedAt = drv.Name(), st.Handle, port, st.Addr, st.StartedAt
		if h, err := process.ParseHandle(st.Handle); err == nil {
			cur.PID, cur.ProcessStart = h.PID, int64(h.Start)
		}
		if cur.StartedAt.IsZero() {
			cur.StartedAt = c.now()
		}
		if rec, err = tx.UpdateTask(ctx, cur); err != nil {
			return err
		}
		if err := c.eventIn(ctx, tx, svc, spec, EventTaskLaunched, id, "%s (r%d) launched at %s", id, row.Revision, orNone(st.Addr)); err != nil {
			return err
		}
		if traced = inRouter && isLaunched(rec.State); !traced {
			return nil
		}
		return c.traceRegistered(ctx, tx, svc, spec, rec, group)
	})
	if err != nil {
		// The row is gone or the store failed: nothing would ever stop
		// this process, so stop it now.
		c.log.Error("recording a started task; stopping it", "task", id, "err", err)
		c.deregisterEarly(ctx, svc, id, group, early)
		drv.Stop(context.WithoutCancel(ctx), st.Handle, spec.Spec.StopSignal, spec.stopTimeout())
		drv.Remove(context.WithoutCancel(ctx), st.Handle)
		c.ports.Release(port)
		return l, false
	}
	return launched{svc: svc, spec: spec, row: rec, traced: traced}, true
}

// taskPort is the port a pending task listens on: the one its row records
// when an earlier start recorded it and did not get further (the server
// stopped; adopt reserved it again), else a new one. 0 for a task without
// a port.
func (c *Controller) taskPort(spec RevisionSpec, row store.Task) (int, error) {
	switch {
	case spec.Spec.Port == "":
		return 0, nil
	case row.Port > 0:
		return row.Port, nil
	}
	return c.ports.Allocate()
}

// registerEarly records addr on a pending task's row, then registers it
// with the router, in the background while the driver starts the task: the
// record waits its turn at the store's writer, and a batch's starts must
// not queue behind it. The router gets the address only once the row holds
// it. The channel gives the address registered, "" when it was not: the
// task is no longer pending (a stop was decided; the launch's record and
// the stop deal with the process), the store failed, or the router refused
// (registerLaunched tries again).
func (c *Controller) registerEarly(ctx context.Context, svc store.Service, spec RevisionSpec, row store.Task, group, addr string, port int) <-chan string {
	done := make(chan string, 1)
	go func() {
		err := c.d.Store.Tx(ctx, func(tx *store.Tx) error {
			cur, err := tx.GetTask(ctx, row.ID)
			if err != nil {
				return err
			}
			if cur.State != store.TaskPending {
				return errStale
			}
			cur.Port, cur.Addr = port, addr
			_, err = tx.UpdateTask(ctx, cur)
			return err
		})
		if err == nil && c.addTarget(ctx, svc, spec, row, group, addr) {
			done <- addr
		} else {
			done <- ""
		}
	}()
	return done
}

// deregisterEarly takes out of the router a task registered while it
// started that did not start after all: at once, rather than at the loop's
// next sweep of strays, which remains the fallback when the router cannot
// be told now.
func (c *Controller) deregisterEarly(ctx context.Context, svc store.Service, id, group, early string) {
	if early == "" {
		return
	}
	c.unregistered(id)
	c.removeStray(context.WithoutCancel(ctx), svc, id, group)
}

// launch unpacks the artifact and starts the task on port. A task a crashed
// server had started without recording it is found and adopted.
func (c *Controller) launch(ctx context.Context, drv runtime.Driver, spec RevisionSpec, row store.Task, port int) (runtime.Status, error) {
	c.retainMu.RLock()
	dir, err := c.release(ctx, spec.Artifact)
	c.retainMu.RUnlock()
	if err != nil {
		return runtime.Status{}, err
	}
	st, err := drv.Start(ctx, spec.taskSpec(row.ID, row.Revision, dir, port))
	if err == nil {
		return st, nil
	}
	if strings.Contains(err.Error(), "already exists") {
		if running, lerr := drv.List(ctx); lerr == nil {
			for _, r := range running {
				if r.ID == row.ID {
					if p := portOf(r.Addr); p != port {
						c.ports.Release(port)
						if p > 0 {
							c.ports.Reserve(p)
						}
					}
					return r, nil
				}
			}
		}
	}
	return runtime.Status{}, err
}

// release is an artifact's release directory as this controller unpacked
// it; its lock makes the tasks of a batch wait for one unpack instead of
// each unpacking the same archive.
type release struct {
	sync.Mutex
	dir string // "" until unpacked
}

// release returns the release directory of an artifact, unpacking it the
// first time. Unpack hashes the whole artifact on every call, a cost each
// task of a batch would pay again; a release directory is read-only and
// stays until Retain removes it, so it is reused while it exists. Callers
// hold retainMu shared, which keeps Retain out.
func (c *Controller) release(ctx context.Context, digest string) (string, error) {
	c.mu.Lock()
	r, ok := c.releases[digest]
	if !ok {
		r = &release{}
		c.releases[digest] = r
	}
	c.mu.Unlock()
	r.Lock()
	defer r.Unlock()
	if r.dir != "" {
		if fi, err := os.Stat(r.dir); err == nil && fi.IsDir() {
			return r.dir, nil
		}
	}
	dir, err := c.d.Artifacts.Unpack(ctx, digest)
	if err != nil {
		return "", err
	}
	r.dir = dir
	return dir, nil
}

func (c *Controller) launchFailed(ctx context.Context, svc store.Service, spec RevisionSpec, id string, port int, cause error) {
	c.ports.Release(port)
	reason := newMasker(spec.secretsFor()).mask(cause.Error())
	err := c.d.Store.Tx(ctx, func(tx *store.Tx) error {
		cur, err := tx.GetTask(ctx, id)
		if err != nil {
			return err
		}
		code := -1
		state := store.TaskFailed
		if cur.State != store.TaskPending {
			state = store.TaskStopped // a stop was decided before it could start
		}
		cur.State, cur.ExitCode, cur.LastError, cur.StoppedAt = state, &code, reason, c.now()
		_, err = tx.UpdateTask(ctx, cur)
		return err
	})
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		c.log.Error("recording a failed launch", "task", id, "err", err)
	}
	c.event(ctx, svc, spec, EventTaskLaunchFailed, id, "%s failed to launch: %s", id, reason)
}

func portOf(addr string) int {
	i := strings.LastIndexByte(addr, ':')
	if i < 0 {
		return 0
	}
	n := 0
	fmt.Sscanf(addr[i+1:], "%d", &n)
	return n
}

func orNone(s string) string {
	if s == "" {
		return "(no port)"
	}
	return s
}
